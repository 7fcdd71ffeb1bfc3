package nn_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/safetensors"
	"github.com/backprop-go/backprop/tensor"
)

// TestInferShapesMatchesBuild: for every kind of layer, InferShapes gives
// the state_dict names and shapes, in order, and the layer output shapes
// that Build's model has.
func TestInferShapesMatchesBuild(t *testing.T) {
	cases := []struct {
		spec  string
		shape []int
	}{
		{"mlp", []int{1, 28, 28}},
		{"cnn", []int{1, 28, 28}},
		{"conv(4,3,pad=1) batchnorm relu maxpool(2) dropout(0.3) flatten linear(16) layernorm gelu linear(3)", []int{1, 8, 8}},
		{"conv(6,3,stride=2,pad=1,dilation=2,groups=3,bias=0) batchnorm(affine=0) avgpool(2,ceil=1) globalavgpool flatten linear(5,bias=0)", []int{3, 11, 9}},
		{"layernorm(dims=2,affine=0) flatten batchnorm linear(4) silu sigmoid tanh elu(0.5) softplus leakyrelu softmax", []int{2, 3, 4}},
		{"batchnorm flatten linear(2) logsoftmax", []int{3, 5}},
		{"linear(7) layernorm batchnorm", []int{9}},
		{"maxpool(3,stride=2,pad=1,dilation=2,ceil=1) flatten", []int{2, 10, 10}},
	}
	for _, c := range cases {
		got, err := nn.InferShapes(c.spec, c.shape)
		if err != nil {
			t.Errorf("%s: InferShapes: %v", c.spec, err)
			continue
		}
		m, err := nn.Build(c.spec, c.shape)
		if err != nil {
			t.Fatalf("%s: Build: %v", c.spec, err)
		}
		var want []nn.StateShape
		for _, p := range nn.NamedParameters(m) {
			want = append(want, nn.StateShape{Name: p.Name, Shape: p.Value.Data.Shape()})
		}
		for _, b := range nn.NamedBuffers(m) {
			want = append(want, nn.StateShape{Name: b.Name, Shape: b.Tensor.Shape(), Buffer: true,
				Optional: strings.HasSuffix(b.Name, "num_batches_tracked")})
		}
		var order []string
		for _, s := range nn.NamedState(m) {
			order = append(order, s.Name)
		}
		var gotOrder []string
		for _, s := range got.State {
			gotOrder = append(gotOrder, s.Name)
		}
		if !slices.Equal(gotOrder, order) {
			t.Errorf("%s: inferred state order %v, Build's %v", c.spec, gotOrder, order)
		}
		for _, w := range want {
			i := slices.IndexFunc(got.State, func(s nn.StateShape) bool { return s.Name == w.Name })
			if i < 0 || !slices.Equal(got.State[i].Shape, w.Shape) || got.State[i].Buffer != w.Buffer || got.State[i].Optional != w.Optional {
				t.Errorf("%s: entry %+v, inferred %+v", c.spec, w, got.State[min(max(i, 0), len(got.State)-1)])
			}
		}
		if got.NumElements() != nn.NumParameters(m)+numBuffers(m) {
			t.Errorf("%s: NumElements %d, model has %d", c.spec, got.NumElements(), nn.NumParameters(m)+numBuffers(m))
		}
		shape := c.shape
		for i, l := range m.Layers {
			shape, err = l.(nn.ShapeInferrer).OutputShape(shape)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Outputs[i], shape) {
				t.Errorf("%s: layer %d output %v, inferred %v", c.spec, i, shape, got.Outputs[i])
			}
		}
	}
}

func numBuffers(m nn.Module) int {
	n := 0
	for _, b := range nn.NamedBuffers(m) {
		n += b.Tensor.Size()
	}
	return n
}

// TestInferShapesRefusesWhatBuildRefuses: the same error, word for word.
func TestInferShapesRefusesWhatBuildRefuses(t *testing.T) {
	cases := []struct {
		spec  string
		shape []int
	}{
		{"linear(10)", []int{1, 28, 28}},
		{"conv(8,3)", []int{8}},
		{"conv(8,5)", []int{1, 3, 3}},
		{"conv(8,3,groups=3)", []int{2, 8, 8}},
		{"flatten linear(16777216) linear(16777216)", []int{4}},
		{"maxpool(2,pad=2)", []int{1, 8, 8}},
		{"layernorm(dims=3)", []int{4, 4}},
		{"batchnorm", []int{1, 2, 3, 4}},
		{"flatten", []int{0, 3}},
		{"flatten", nil},
		{"nosuch", []int{3}},
	}
	for _, c := range cases {
		_, ierr := nn.InferShapes(c.spec, c.shape)
		_, berr := nn.Build(c.spec, c.shape)
		if ierr == nil || berr == nil {
			t.Errorf("%s on %v: InferShapes error %v, Build error %v; want both to fail", c.spec, c.shape, ierr, berr)
			continue
		}
		if strings.Replace(ierr.Error(), "nn.InferShapes", "nn.Build", 1) != berr.Error() {
			t.Errorf("%s on %v: InferShapes says %q, Build %q", c.spec, c.shape, ierr, berr)
		}
	}
}

// TestInferShapesAllocatesNothing: a spec of three 16384-wide layers (3 GB
// of weights) is worked out in a few kilobytes.
func TestInferShapesAllocatesNothing(t *testing.T) {
	spec := "flatten linear(16384) relu linear(16384) relu linear(16384) relu linear(16384)"
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, err := nn.InferShapes(spec, []int{16384})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("InferShapes allocated %d bytes, want under 1 MiB", got)
	}
	if n := s.NumElements(); n != 4*(16384*16384+16384) {
		t.Errorf("NumElements %d", n)
	}
	if got := s.Output(); !slices.Equal(got, []int{16384}) {
		t.Errorf("Output %v", got)
	}
}

// TestModelShapesCheck: what a strict load would refuse, named, before
// anything is allocated; a missing num_batches_tracked is accepted.
func TestModelShapesCheck(t *testing.T) {
	s, err := nn.InferShapes("conv(2,3) batchnorm flatten linear(3)", []int{1, 4, 4})
	if err != nil {
		t.Fatal(err)
	}
	full := map[string][]int{"0.weight": {2, 1, 3, 3}, "0.bias": {2}, "1.weight": {2}, "1.bias": {2},
		"1.running_mean": {2}, "1.running_var": {2}, "1.num_batches_tracked": {}, "3.weight": {3, 8}, "3.bias": {3}}
	with := func(edit func(m map[string][]int)) map[string][]int {
		m := map[string][]int{}
		for k, v := range full {
			m[k] = v
		}
		edit(m)
		return m
	}
	cases := []struct {
		name string
		have map[string][]int
		want string // "" for success
	}{
		{"exact", full, ""},
		{"num_batches_tracked as [1]", with(func(m map[string][]int) { m["1.num_batches_tracked"] = []int{1} }), ""},
		{"no num_batches_tracked", with(func(m map[string][]int) { delete(m, "1.num_batches_tracked") }), ""},
		{"no running_mean", with(func(m map[string][]int) { delete(m, "1.running_mean") }), `missing key "1.running_mean" (model shape [2])`},
		{"extra", with(func(m map[string][]int) { m["4.weight"] = []int{3} }), `unexpected key "4.weight" (shape [3])`},
		{"mis-shaped", with(func(m map[string][]int) { m["3.weight"] = []int{16384, 8} }), `key "3.weight" has shape [16384 8], but the model's is [3 8]`},
	}
	for _, c := range cases {
		err := s.Check(c.have)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		case c.want != "":
			var se *nn.StateDictError
			if !errors.As(err, &se) {
				t.Errorf("%s: error %T, want *nn.StateDictError", c.name, err)
			}
		}
	}
}

// TestStateDictErrorStaysShort: a file with thousands of long keys gives a
// message of bounded length.
func TestStateDictErrorStaysShort(t *testing.T) {
	s, err := nn.InferShapes("linear(2)", []int{2})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string][]int{"0.weight": {2, 2}, "0.bias": {2}}
	for i := range 5000 {
		have[strings.Repeat("k", 1000)+string(rune('a'+i%26))+strings.Repeat("x", i)] = []int{1}
	}
	err = s.Check(have)
	if err == nil || len(err.Error()) > 2000 || !strings.Contains(err.Error(), "more") {
		t.Errorf("error of %d bytes: %.300v", len(fmtErr(err)), err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestParseSpecRefusesHugeSpec: a spec over MaxSpecLen is refused before
// it is parsed.
func TestParseSpecRefusesHugeSpec(t *testing.T) {
	huge := strings.Repeat("relu ", nn.MaxSpecLen/5+1)
	if _, err := nn.ParseSpec(huge); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("ParseSpec of %d bytes: %v, want an error naming the limit", len(huge), err)
	}
	if _, err := nn.ParseSpec(huge[:nn.MaxSpecLen-1]); err != nil {
		t.Errorf("ParseSpec of %d bytes: %v", nn.MaxSpecLen-1, err)
	}
}

// writeWeights saves tensors with metadata in a temporary file.
func writeWeights(t *testing.T, sd map[string]*tensor.Tensor, meta map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := safetensors.Save(path, sd, meta); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadModelChecksBeforeBuilding: a small file whose architecture
// names huge layers is refused, naming the tensor, with a few kilobytes
// allocated, where building it would take gigabytes.
func TestLoadModelChecksBeforeBuilding(t *testing.T) {
	small := map[string]*tensor.Tensor{"1.weight": tensor.Zeros(4, 8), "1.bias": tensor.Zeros(4)}
	cases := []struct {
		name, arch, shape, want string
	}{
		{"huge layers", "flatten linear(16384) relu linear(16384) relu linear(16384)", "[8]",
			`key "1.weight" has shape [4 8], but the model's is [16384 8]`},
		{"huge input", "flatten linear(4)", "[16384,16384]", `the model's is [4 268435456]`},
		{"other layer", "flatten linear(4) relu linear(3)", "[8]", `missing key "3.weight"`},
		{"non-positive input", "flatten linear(4)", "[0,8]", "non-positive"},
		{"matching", "flatten linear(4)", "[8]", ""},
	}
	for _, c := range cases {
		path := writeWeights(t, small, map[string]string{nn.ArchitectureKey: c.arch, nn.InputShapeKey: c.shape})
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := nn.LoadModel(path, nil)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("%s: LoadModel allocated %d bytes, want under 4 MiB", c.name, alloc)
		}
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming %s and containing %q", c.name, err, path, c.want)
		}
	}
}

// withoutNumBatchesTracked rewrites a file with only its floating-point
// tensors, as {k: v for k, v in sd.items() if v.dtype.is_floating_point}
// does in PyTorch.
func withoutNumBatchesTracked(t *testing.T, src string) string {
	t.Helper()
	f, err := safetensors.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Ints) == 0 {
		t.Fatalf("%s has no integer tensors to drop", src)
	}
	return writeWeights(t, f.Tensors, f.Metadata)
}

// TestLoadWithoutNumBatchesTracked: PyTorch's CNN without its
// num_batches_tracked entries loads strictly and gives PyTorch's logits,
// the counters at 0; a missing running_var is still refused.
func TestLoadWithoutNumBatchesTracked(t *testing.T) {
	path := withoutNumBatchesTracked(t, interopDir+"cnn_bn.safetensors")
	m, _, err := nn.LoadModel(path, nil)
	if err != nil {
		t.Fatalf("strict load without num_batches_tracked: %v", err)
	}
	for _, name := range []string{"1.num_batches_tracked", "5.num_batches_tracked"} {
		if v := nn.StateDict(m)[name].Data()[0]; v != 0 {
			t.Errorf("%s = %v, want 0", name, v)
		}
	}
	checkInteropLogits(t, m)

	sd, meta, err := nn.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	delete(sd, "5.running_var")
	if _, _, err := nn.LoadModel(writeWeights(t, sd, meta), nil); err == nil || !strings.Contains(err.Error(), `missing key "5.running_var"`) {
		t.Errorf("load without running_var: %v, want a missing-key error", err)
	}
	fresh, err := nn.Build(meta[nn.ArchitectureKey], []int{1, 28, 28})
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.LoadStateDict(fresh, sd, true); err == nil {
		t.Error("LoadStateDict without running_var succeeded")
	}
}

// checkInteropLogits compares m's logits on cnn_bn's inputs with PyTorch's.
func checkInteropLogits(t *testing.T, m *nn.SequentialModule) {
	t.Helper()
	b, err := os.ReadFile(interopDir + "cnn_bn.expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		InputShape []int     `json:"input_shape"`
		Input      []float32 `json:"input"`
		Logits     []float64 `json:"logits"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	nn.Eval(m)
	out := m.Forward(ag.NoGraph(tensor.New(want.Input, want.InputShape...)))
	for i, w := range want.Logits {
		if d := math.Abs(float64(out.Data.Data()[i]) - w); d > 1e-4+1e-3*math.Abs(w) {
			t.Fatalf("logit %d = %v, PyTorch %v", i, out.Data.Data()[i], w)
		}
	}
}

// pytorchScript writes a BatchNorm model's state_dict without its integer
// entries, by hand in the safetensors layout (no safetensors package).
const pytorchScript = `
import json, struct, sys
import torch, torch.nn as nn
torch.manual_seed(1)
m = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
m.train()
with torch.no_grad():
    m(torch.randn(8, 4))
sd = {k: v for k, v in m.state_dict().items() if v.dtype.is_floating_point}
m.eval()
x = torch.ones(1, 4)
with torch.no_grad():
    y = m(x)
header, blobs, off = {}, [], 0
for name in sorted(sd):
    t = sd[name].contiguous()
    raw = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
header["__metadata__"] = {"architecture": "linear(3) batchnorm relu linear(2)", "input_shape": "[4]",
                          "logits": json.dumps(y.flatten().tolist())}
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
`

// TestLoadPyTorchFloatOnlyStateDict runs PyTorch, when /usr/bin/python3
// has it, to write a state_dict filtered to its floating-point entries,
// and loads it strictly.
func TestLoadPyTorchFloatOnlyStateDict(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch: skipped with -short")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Skipf("no PyTorch in /usr/bin/python3 (%v): the committed cnn_bn file covers the same case", err)
	}
	path := filepath.Join(t.TempDir(), "float_only.safetensors")
	if out, err := exec.Command("/usr/bin/python3", "-c", pytorchScript, path).CombinedOutput(); err != nil {
		t.Fatalf("PyTorch: %v\n%s", err, out)
	}
	m, meta, err := nn.LoadModel(path, nil)
	if err != nil {
		t.Fatalf("strict load of PyTorch's float-only state_dict: %v", err)
	}
	if _, ok := nn.StateDict(m)["1.num_batches_tracked"]; !ok {
		t.Fatal("model has no num_batches_tracked")
	}
	nn.Eval(m)
	got := m.Forward(ag.NoGraph(tensor.Ones(1, 4))).Data.Data()
	var want []float32
	if err := json.Unmarshal([]byte(meta["logits"]), &want); err != nil || len(want) != 2 {
		t.Fatalf("logits metadata %q: %v", meta["logits"], err)
	}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-5 || d < -1e-5 {
			t.Errorf("logit %d = %v, PyTorch %v", i, got[i], want[i])
		}
	}
}
