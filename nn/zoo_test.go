package nn_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/internal/golden"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// stateLayout writes a model's state_dict as torchvision's does when
// printed as "name [d0, d1, ...]" lines, in order.
func stateLayout(m any) string {
	var lines []string
	for _, s := range nn.NamedState(m) {
		dims := make([]string, len(s.Tensor.Shape()))
		for i, d := range s.Tensor.Shape() {
			dims[i] = fmt.Sprint(d)
		}
		lines = append(lines, s.Name+" ["+strings.Join(dims, ", ")+"]")
	}
	return strings.Join(lines, "\n")
}

// TestZooStateDictIsTorchvisions compares each architecture's state_dict
// (names, order and shapes, num_batches_tracked included) with
// torchvision 0.14's, through the number of entries, the parameter count
// and a hash of the "name [shape]" lines computed from
// torchvision.models.NAME().state_dict(), with a few entries spelt out.
func TestZooStateDictIsTorchvisions(t *testing.T) {
	cases := []struct {
		name    string
		entries int
		params  int
		hash    string
		has     map[string][]int
	}{
		{"resnet18", 122, 11689512, "66b04efc1dfd4b80", map[string][]int{
			"conv1.weight": {64, 3, 7, 7}, "bn1.running_var": {64}, "layer1.0.conv1.weight": {64, 64, 3, 3},
			"layer2.0.downsample.0.weight": {128, 64, 1, 1}, "layer2.0.downsample.1.num_batches_tracked": {},
			"fc.weight": {1000, 512}, "fc.bias": {1000}}},
		{"resnet34", 218, 21797672, "4aa3e2bbbdc5e2fd", map[string][]int{"layer3.5.bn2.weight": {256}}},
		{"resnet50", 320, 25557032, "614cd53ddf849669", map[string][]int{
			"layer1.0.conv3.weight": {256, 64, 1, 1}, "layer1.0.downsample.0.weight": {256, 64, 1, 1},
			"layer4.2.conv2.weight": {512, 512, 3, 3}, "fc.weight": {1000, 2048}}},
		{"mobilenet_v2", 314, 3504872, "a18c560d82f6d01d", map[string][]int{
			"features.0.0.weight": {32, 3, 3, 3}, "features.1.conv.0.0.weight": {32, 1, 3, 3},
			"features.1.conv.1.weight": {16, 32, 1, 1}, "features.1.conv.2.running_mean": {16},
			"features.2.conv.1.0.weight": {96, 1, 3, 3}, "features.18.0.weight": {1280, 320, 1, 1},
			"classifier.1.weight": {1000, 1280}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := nn.Zoo(c.name, 1000, nn.Seed(1))
			if err != nil {
				t.Fatal(err)
			}
			layout := stateLayout(m)
			sum := sha256.Sum256([]byte(layout))
			if n := len(nn.NamedState(m)); n != c.entries {
				t.Errorf("%d state_dict entries, torchvision has %d", n, c.entries)
			}
			if n := nn.NumParameters(m); n != c.params {
				t.Errorf("%d parameters, torchvision has %d", n, c.params)
			}
			if h := hex.EncodeToString(sum[:])[:16]; h != c.hash {
				t.Errorf("state_dict layout hash %s, torchvision's %s; layout:\n%s", h, c.hash, layout)
			}
			sd := nn.StateDict(m)
			for k, shape := range c.has {
				if got, ok := sd[k]; !ok || !tensor.EqualShapes(got.Shape(), shape) {
					t.Errorf("entry %s: got %v, want shape %v", k, got, shape)
				}
			}
		})
	}
}

// TestZooClasses checks num_classes, the spec token and the output shape.
func TestZooClasses(t *testing.T) {
	for _, name := range nn.ZooNames() {
		t.Run(name, func(t *testing.T) {
			model, err := nn.Build(name+"(classes=7)", []int{3, 32, 32}, nn.Seed(2))
			if err != nil {
				t.Fatal(err)
			}
			m := model.Layers[0]
			if s, _ := nn.SpecOf(model); s != name+"(classes=7)" {
				t.Errorf("spec %q", s)
			}
			if got, err := m.(nn.ShapeInferrer).OutputShape([]int{3, 32, 32}); err != nil || !tensor.EqualShapes(got, []int{7}) {
				t.Errorf("output shape %v, %v; want [7]", got, err)
			}
			nn.Eval(model)
			y := m.Forward(ag.Const(tensor.Ones(2, 3, 32, 32)))
			if !tensor.EqualShapes(y.Shape(), []int{2, 7}) {
				t.Errorf("logits of shape %v, want [2 7]", y.Shape())
			}
		})
	}
	if _, err := nn.Build("resnet18", []int{1, 32, 32}); err == nil || !strings.Contains(err.Error(), "[3, H, W]") {
		t.Errorf("a grey-scale input: error %v, want one asking for [3, H, W]", err)
	}
	if _, err := nn.Zoo("resnet101", 10); err == nil {
		t.Error("an unknown architecture gives no error")
	}
}

// torchvisionScript writes, for each architecture named in argv[2:],
// NAME.safetensors (torchvision's model with random weights and random
// batch-norm statistics, the whole state_dict with num_batches_tracked)
// and NAME.io.safetensors (a batch of images and the model's logits in
// evaluation mode), into the directory argv[1]. It writes safetensors by
// hand: an 8-byte little-endian header length, a JSON header, the data.
const torchvisionScript = `
import json, struct, sys, torch, torchvision
def save(path, tensors):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        v = v.detach().contiguous()
        dt = {torch.float32: "F32", torch.int64: "I64"}[v.dtype]
        b = v.numpy().tobytes()
        header[k] = {"dtype": dt, "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)
torch.manual_seed(0)
out = sys.argv[1]
for name in sys.argv[2:]:
    m = getattr(torchvision.models, name)(num_classes=10)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5); mod.bias.normal_(0, 0.1)
                mod.running_mean.normal_(0, 0.1); mod.running_var.uniform_(0.5, 1.5)
                mod.num_batches_tracked.fill_(7)
            if isinstance(mod, torch.nn.Linear):
                mod.weight.normal_(0, 0.05); mod.bias.normal_(0, 0.1)
    m.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = m(x)
    save(f"{out}/{name}.safetensors", m.state_dict())
    save(f"{out}/{name}.io.safetensors", {"input": x, "logits": y})
`

// python returns a Python that imports torchvision, or skips t saying why.
func python(t *testing.T) string {
	t.Helper()
	py := os.Getenv("BACKPROP_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if out, err := exec.Command(py, "-c", "import torch, torchvision").CombinedOutput(); err != nil {
		t.Skipf("torchvision is not installed for %s (apt-get install python3-torchvision, or set BACKPROP_PYTHON): %v %s",
			py, err, strings.TrimSpace(lastLine(string(out))))
	}
	return py
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestZooMatchesTorchvision has PyTorch save torchvision models with random
// weights and batch-norm statistics, loads each file strictly (with its
// num_batches_tracked) and compares the logits on a batch of images with
// torchvision's, to the golden tolerance. It skips without torchvision.
func TestZooMatchesTorchvision(t *testing.T) {
	py := python(t)
	names := nn.ZooNames()
	if testing.Short() {
		names = []string{"resnet18", "mobilenet_v2"}
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "write.py")
	if err := os.WriteFile(script, []byte(torchvisionScript), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, append([]string{script, dir}, names...)...).CombinedOutput(); err != nil {
		t.Fatalf("writing the models with PyTorch: %v\n%s", err, out)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			m, err := nn.Zoo(name, 10)
			if err != nil {
				t.Fatal(err)
			}
			sd, _, err := nn.LoadFile(filepath.Join(dir, name+".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if err := nn.LoadStateDict(m, sd, true); err != nil {
				t.Fatalf("strict load of torchvision's state_dict: %v", err)
			}
			io, _, err := nn.LoadFile(filepath.Join(dir, name+".io.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			nn.Eval(m)
			y := m.Forward(ag.NoGraph(io["input"]))
			want := io["logits"]
			if !tensor.EqualShapes(y.Shape(), want.Shape()) {
				t.Fatalf("logits %v, torchvision's %v", y.Shape(), want.Shape())
			}
			bad := 0
			var worst, scale float64
			for i, w := range want.Data() {
				g := y.Data.Data()[i]
				worst, scale = max(worst, math.Abs(float64(g-w))), max(scale, math.Abs(float64(w)))
				if !golden.Close(g, float64(w)) {
					if bad++; bad <= 5 {
						t.Errorf("logit %d: %v, torchvision %v", i, g, w)
					}
				}
			}
			if scale < 1e-2 {
				t.Errorf("torchvision's logits are all below %v: the comparison would prove little", scale)
			}
			t.Logf("largest difference %.3g on logits up to %.3g", worst, scale)
		})
	}
}
