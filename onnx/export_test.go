package onnx_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/onnx"
	pb "github.com/backprop-go/backprop/onnx/onnxpb"
	"github.com/backprop-go/backprop/tensor"
	"google.golang.org/protobuf/proto"
)

// forward runs m on x without building a graph.
func forward(m nn.Module, x *tensor.Tensor) *tensor.Tensor {
	return m.Forward(ag.NoGraph(x)).Data
}

// exportCase is a model to export and compare with ONNX Runtime.
type exportCase struct {
	name  string
	shape []int // one sample's shape
	model func() nn.Module
	// tokens > 0 makes the inputs token indices in [0, tokens): int64,
	// or float32 with floatTokens (an Embedding after another layer).
	tokens      int
	floatTokens bool
	// scale spreads the random inputs (normal with this std; default 1).
	scale float64
	opts  []onnx.Option
	// pre and post map backprop's input and output as the options do in
	// the exported model (a batch at a time).
	pre, post func(x []float32)
}

func build(spec string, shape []int) func() nn.Module {
	return func() nn.Module {
		m, err := nn.Build(spec, shape, nn.Seed(7))
		if err != nil {
			panic(err)
		}
		return m
	}
}

func preset(name string, shape []int, outputs int) func() nn.Module {
	spec, err := nn.Preset(name, shape, outputs)
	if err != nil {
		panic(err)
	}
	return build(spec, shape)
}

func zoo(name string, classes int) func() nn.Module {
	return func() nn.Module {
		m, err := nn.Zoo(name, classes, nn.Seed(7))
		if err != nil {
			panic(err)
		}
		return m
	}
}

// withStats gives every BatchNorm of the model non-trivial running
// statistics and affine weights, as after training.
func withStats(f func() nn.Module) func() nn.Module {
	return func() nn.Module {
		m := f()
		r := rand.New(rand.NewPCG(3, 4))
		nn.Walk(m, func(_ string, sub any) bool {
			if bn, ok := sub.(*nn.BatchNormModule); ok {
				for i := range bn.NumFeatures {
					bn.RunningMean.Data()[i] = float32(r.NormFloat64() * 0.5)
					bn.RunningVar.Data()[i] = float32(0.2 + 2*r.Float64())
					if bn.Weight != nil {
						bn.Weight.Data.Data()[i] = float32(0.5 + r.Float64())
						bn.Bias.Data.Data()[i] = float32(r.NormFloat64() * 0.3)
					}
				}
			}
			return true
		})
		return m
	}
}

var imageNorm = data.Normalization{Mean: []float32{0.5, 0.4, 0.3}, Std: []float32{0.25, 0.2, 0.3}}

func perSample(n *data.Normalization, size int) func(x []float32) {
	return func(x []float32) {
		for i := 0; i < len(x); i += size {
			n.Apply(x[i : i+size])
		}
	}
}

func exportCases() []exportCase {
	img := []int{3, 11, 10} // odd sides exercise padding and ceil mode
	cases := []exportCase{
		{name: "mlp preset", shape: []int{1, 28, 28}, model: preset("mlp", []int{1, 28, 28}, 10)},
		{name: "cnn preset", shape: []int{1, 28, 28}, model: withStats(preset("cnn", []int{1, 28, 28}, 10))},
		{name: "cnn preset 3x40x40", shape: []int{3, 40, 40}, model: withStats(preset("cnn", []int{3, 40, 40}, 4))},
		{name: "batchnorm1d dropout", shape: []int{12}, model: withStats(build("linear(32) batchnorm relu dropout(0.5) linear(5)", []int{12}))},
		{name: "batchnorm1d over length", shape: []int{4, 6}, model: withStats(build("batchnorm(eps=0.001) flatten linear(3)", []int{4, 6}))},
		{name: "batchnorm no affine", shape: img, model: withStats(build("conv(4,3,pad=1,bias=0) batchnorm(affine=0) relu", img))},
		{name: "layernorm", shape: []int{8}, model: build("linear(16) layernorm gelu linear(3)", []int{8})},
		{name: "residual", shape: []int{8}, model: build("linear(16) residual(layernorm linear(32) gelu linear(16)) residual(relu linear(16)) linear(3)", []int{8})},
		{name: "residual conv", shape: img, model: withStats(build("conv(4,3,pad=1) residual(batchnorm relu conv(4,3,pad=1)) globalavgpool linear(2)", img))},
		{name: "residual shortcut", shape: img, model: withStats(build("conv(4,3,pad=1) residual(conv(8,3,stride=2,pad=1) batchnorm relu) globalavgpool linear(2)", img))},
		{name: "layernorm two dims", shape: []int{3, 4, 5}, model: build("layernorm(dims=2,eps=0.0001) flatten linear(2)", []int{3, 4, 5})},
		{name: "layernorm no affine", shape: []int{6}, model: build("layernorm(affine=0)", []int{6})},
		{name: "conv stride dilation groups", shape: []int{3, 12, 12}, model: build("conv(6,3,stride=2,pad=2,dilation=2,groups=3,bias=0) relu conv(4,2)", []int{3, 12, 12})},
		{name: "global avg pool", shape: img, model: build("conv(8,3) globalavgpool linear(4)", img)},
		{name: "softmax", shape: []int{10}, model: build("linear(6) softmax", []int{10})},
		{name: "logsoftmax", shape: []int{10}, model: build("linear(6) logsoftmax(dim=-1)", []int{10})},
		{name: "softmax over channels", shape: []int{3, 4, 5}, model: build("softmax(dim=1)", []int{3, 4, 5})},
		{name: "softmax over width", shape: []int{3, 4, 5}, model: build("logsoftmax(dim=3)", []int{3, 4, 5})},
		{name: "linear on rank 3", shape: []int{4, 5}, model: func() nn.Module {
			return nn.Sequential(nn.Linear(5, 3, nn.Seed(2)), nn.Tanh(), nn.Linear(3, 2, nn.NoBias(), nn.Seed(3)))
		}},
		{name: "embedding", shape: []int{5}, tokens: 20, model: func() nn.Module {
			return nn.Sequential(nn.Embedding(20, 6, nn.Seed(4)), nn.Flatten(), nn.Linear(30, 4, nn.Seed(5)))
		}},
		{name: "embedding after cast", shape: []int{5}, tokens: 7, floatTokens: true, model: func() nn.Module {
			return nn.Sequential(nn.Dropout(0.1), nn.Embedding(7, 3, nn.Seed(4), nn.PaddingIdx(0)), nn.LayerNorm([]int{3}))
		}},
		{name: "dropout only", shape: []int{4}, model: build("dropout(0.3)", []int{4})},
		{name: "normalize", shape: img, model: build("conv(4,3) relu flatten linear(3)", img),
			opts: []onnx.Option{onnx.Normalize(imageNorm.Mean, imageNorm.Std)}, pre: perSample(&imageNorm, 3*11*10), scale: 0.3},
		{name: "denormalize", shape: []int{5}, model: build("linear(8) relu linear(1)", []int{5}),
			opts: []onnx.Option{onnx.Denormalize([]float32{250}, []float32{40})},
			post: func(y []float32) {
				for i := range y {
					y[i] = y[i]*40 + 250
				}
			}},
	}
	// The vision layers and the zoo (at a small image to keep them fast).
	small := []int{3, 32, 32}
	cases = append(cases,
		exportCase{name: "resnet18", shape: small, model: withStats(zoo("resnet18", 5))},
		exportCase{name: "resnet50", shape: small, model: withStats(zoo("resnet50", 3))},
		exportCase{name: "mobilenet_v2", shape: small, model: withStats(zoo("mobilenet_v2", 4))},
		exportCase{name: "groupnorm", shape: []int{6, 5, 4}, model: build("conv(8,3,pad=1) groupnorm(4) relu6 conv(6,3) groupnorm(3,affine=0,eps=0.001)", []int{6, 5, 4})},
		exportCase{name: "groupnorm trained affine", shape: []int{4, 3, 3}, model: func() nn.Module {
			gn := nn.GroupNorm(2, 4)
			r := rand.New(rand.NewPCG(5, 6))
			for i := range 4 {
				gn.Weight.Data.Data()[i] = float32(0.5 + r.Float64())
				gn.Bias.Data.Data()[i] = float32(r.NormFloat64())
			}
			return nn.Sequential(gn)
		}},
		exportCase{name: "rmsnorm", shape: []int{3, 8}, model: build("rmsnorm rmsnorm(dims=1,eps=0.01,affine=0)", []int{3, 8})},
		exportCase{name: "rmsnorm trained", shape: []int{6}, model: func() nn.Module {
			l := nn.RMSNorm([]int{6})
			for i := range 6 {
				l.Weight.Data.Data()[i] = float32(i) - 2.5
			}
			return nn.Sequential(l)
		}},
		exportCase{name: "adaptiveavgpool", shape: []int{3, 12, 8}, model: build("adaptiveavgpool(3,2) conv(2,1) adaptiveavgpool(1) flatten", []int{3, 12, 8})},
		exportCase{name: "convtranspose", shape: []int{3, 5, 6}, model: build("convtranspose(4,3) relu convtranspose(4,3,stride=2,pad=1,outpad=1) convtranspose(6,2,stride=3,dilation=2,groups=2,bias=0)", []int{3, 5, 6})},
	)
	for _, rnn := range []string{"lstm(6)", "gru(6)", "rnn(5)", "rnn(5,nonlinearity=relu,bias=0)", "lstm(4,layers=2,bidirectional=1)",
		"gru(4,layers=3,bidirectional=1,bias=0)", "lstm(3,layers=2)", "gru(5,bidirectional=1)", "rnn(4,layers=2,bidirectional=1)"} {
		cases = append(cases, exportCase{name: rnn, shape: []int{6, 3}, model: build(rnn+" flatten linear(2)", []int{6, 3})})
	}
	cases = append(cases, exportCase{name: "embedding lstm", shape: []int{5}, tokens: 9, model: func() nn.Module {
		return nn.Sequential(nn.Embedding(9, 4, nn.Seed(3)), nn.LSTM(4, 3, nn.RNNOptions{Bidirectional: true}, nn.Seed(4)), nn.LayerNorm([]int{6}))
	}})
	for _, att := range []string{"attention(2)", "attention(4,causal=1)", "attention(1,bias=0)", "transformer(2,ff=16)",
		"transformer(2,ff=12,causal=1,norm_first=1,activation=gelu,eps=0.001)", "transformer(4,ff=8) transformer(2,ff=8,causal=1)"} {
		cases = append(cases, exportCase{name: att, shape: []int{5, 8}, model: build(att+" flatten linear(3)", []int{5, 8})})
	}
	for _, up := range []string{"upsample", "upsample(3)", "upsample(1.5)", "upsample(h=7,w=13)", "upsample(mode=nearest_exact)", "upsample(1.5,mode=nearest_exact)",
		"upsample(h=9,w=5,mode=nearest_exact)", "upsample(mode=bilinear)", "upsample(1.5,mode=bilinear)", "upsample(h=7,w=13,mode=bilinear)",
		"upsample(mode=bilinear,align_corners=1)", "upsample(h=7,w=3,mode=bilinear,align_corners=1)"} {
		cases = append(cases, exportCase{name: up, shape: []int{2, 4, 5}, model: build(up, []int{2, 4, 5})})
	}
	// Every activation, on inputs spread wide enough to reach both sides
	// of each one's kinks and thresholds.
	for _, act := range []string{"relu", "leakyrelu", "leakyrelu(0.2)", "tanh", "sigmoid", "gelu", "gelu(tanh=1)",
		"silu", "elu", "elu(0.5)", "relu6", "hardtanh", "hardtanh(min=-2,max=3)", "hardswish", "hardsigmoid", "mish", "softplus", "softplus(beta=2,threshold=3)", "softplus(threshold=-1)"} {
		cases = append(cases, exportCase{name: act, shape: []int{3, 8}, model: build(act, []int{3, 8}), scale: 4})
	}
	for _, pool := range []string{"maxpool(2)", "maxpool(3,stride=2,pad=1)", "maxpool(3,stride=2,ceil=1)", "maxpool(3,stride=2,pad=1,ceil=1)",
		"maxpool(2,dilation=2)", "maxpool(2,stride=2,dilation=3,ceil=1)", "maxpool(3,stride=4,pad=1,dilation=2,ceil=1)", "maxpool(3,stride=1,pad=1,dilation=2)", "maxpool(2,stride=3,ceil=1)",
		"avgpool(2)", "avgpool(3,stride=2,pad=1)", "avgpool(3,stride=2,pad=1,include_pad=0)", "avgpool(3,stride=2,ceil=1)",
		"avgpool(3,stride=2,pad=1,ceil=1)", "avgpool(3,stride=2,pad=1,ceil=1,include_pad=0)", "avgpool(2,ceil=1)", "avgpool(2,stride=3,ceil=1)"} {
		cases = append(cases, exportCase{name: pool, shape: img, model: build(pool, img)})
	}
	return cases
}

// batch is one run of an exported model: its input and backprop's output.
type batch struct {
	n             int
	input, output string // files for ONNX Runtime
	dtype         string
	shape         []int
	want          []float32
	wantShape     []int
}

type exported struct {
	exportCase
	path    string
	batches []batch
}

// exportAll exports every case into dir and writes inputs of batch sizes
// 1 and 7 with backprop's outputs for them.
func exportAll(t *testing.T, dir string) []exported {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var out []exported
	for i, c := range exportCases() {
		m := c.model()
		nn.Eval(m)
		e := exported{exportCase: c, path: filepath.Join(dir, fmt.Sprintf("model%d.onnx", i))}
		var buf bytes.Buffer
		if err := onnx.Export(&buf, m, c.shape, c.opts...); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := os.WriteFile(e.path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		size := 1
		for _, d := range c.shape {
			size *= d
		}
		for _, n := range []int{1, 7} {
			b := batch{n: n, shape: append([]int{n}, c.shape...), dtype: "float32",
				input:  filepath.Join(dir, fmt.Sprintf("model%d.in%d", i, n)),
				output: filepath.Join(dir, fmt.Sprintf("model%d.out%d", i, n))}
			x := make([]float32, n*size)
			var raw []byte
			int64s := c.tokens > 0 && !c.floatTokens
			if int64s {
				b.dtype = "int64"
			}
			for j := range x {
				switch {
				case c.tokens > 0:
					x[j] = float32(r.IntN(c.tokens))
				case c.scale != 0:
					x[j] = float32(r.NormFloat64() * c.scale)
				default:
					x[j] = float32(r.NormFloat64())
				}
				if int64s {
					raw = binary.LittleEndian.AppendUint64(raw, uint64(x[j]))
				} else {
					raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x[j]))
				}
			}
			if err := os.WriteFile(b.input, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			if c.pre != nil {
				c.pre(x)
			}
			y := forward(m, tensor.New(x, b.shape...))
			b.want, b.wantShape = slices.Clone(y.Data()), y.Shape()
			if c.post != nil {
				c.post(b.want)
			}
			e.batches = append(e.batches, b)
		}
		out = append(out, e)
	}
	return out
}

// python is Debian's python3, which has python3-onnx.
const python = "/usr/bin/python3"

func TestCheckerAcceptsExports(t *testing.T) {
	if out, err := exec.Command(python, "-c", "import onnx").CombinedOutput(); err != nil {
		t.Skipf("skipped: %s cannot import onnx (install Debian's python3-onnx): %v %s", python, err, bytes.TrimSpace(out))
	}
	models := exportAll(t, t.TempDir())
	args := []string{filepath.Join("testdata", "check_models.py")}
	for _, m := range models {
		args = append(args, m.path)
	}
	out, err := exec.Command(python, args...).Output()
	if err != nil {
		t.Fatalf("check_models.py: %v", err)
	}
	var res map[string]string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("check_models.py printed %q: %v", out, err)
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			msg, ok := res[m.path]
			if !ok || msg != "" {
				t.Errorf("onnx.checker.check_model(full_check=True) fails: %s (reported: %t)", msg, ok)
			}
		})
	}
}

// ortModules is the node_modules folder .ci/run installs onnxruntime-node
// into (npm install --ignore-scripts --prefix .ort onnxruntime-node).
var ortModules = filepath.Join("..", ".ort", "node_modules")

func TestOnnxRuntimeMatchesBackprop(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipped: no node on PATH to run onnxruntime-node")
	}
	if _, err := os.Stat(filepath.Join(ortModules, "onnxruntime-node", "package.json")); err != nil {
		t.Skipf("skipped: onnxruntime-node is not installed in %s (npm install --ignore-scripts --prefix .ort onnxruntime-node@1.30.0 at the repository root)", ortModules)
	}
	modules, err := filepath.Abs(ortModules)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	models := exportAll(t, dir)
	type run struct {
		Model  string `json:"model"`
		Input  string `json:"input"`
		Dtype  string `json:"dtype"`
		Shape  []int  `json:"shape"`
		Output string `json:"output"`
	}
	var manifest []run
	for _, m := range models {
		for _, b := range m.batches {
			manifest = append(manifest, run{m.path, b.input, b.dtype, b.shape, b.output})
		}
	}
	mf := filepath.Join(dir, "manifest.json")
	js, _ := json.Marshal(manifest)
	if err := os.WriteFile(mf, js, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "run_ort.js"), modules, mf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run_ort.js: %v: %s", err, stderr.Bytes())
	}
	var res map[string]struct {
		Dims  []int  `json:"dims"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("run_ort.js printed %q: %v", out, err)
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			for _, b := range m.batches {
				r := res[b.output]
				if r.Error != "" || r.Dims == nil {
					t.Fatalf("batch %d: ONNX Runtime: %q", b.n, r.Error)
				}
				if !slices.Equal(r.Dims, b.wantShape) {
					t.Fatalf("batch %d: ONNX Runtime's output is %v, backprop's %v", b.n, r.Dims, b.wantShape)
				}
				raw, err := os.ReadFile(b.output)
				if err != nil {
					t.Fatal(err)
				}
				bad := 0
				for i, w := range b.want {
					got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
					if d := math.Abs(float64(got - w)); !(d <= 1e-4+1e-4*math.Abs(float64(w))) {
						if bad++; bad <= 3 {
							t.Errorf("batch %d: output %d: ONNX Runtime %g, backprop %g (difference %g)", b.n, i, got, w, d)
						}
					}
				}
				if bad > 3 {
					t.Errorf("batch %d: %d of %d outputs differ", b.n, bad, len(b.want))
				}
			}
		})
	}
}

func TestExportParsesBack(t *testing.T) {
	m := withStats(preset("cnn", []int{1, 28, 28}, 3))()
	classes := `["cat","dog","fish"]`
	var buf bytes.Buffer
	if err := onnx.Export(&buf, m, []int{1, 28, 28}, onnx.Metadata(map[string]string{"classes": classes})); err != nil {
		t.Fatal(err)
	}
	var got pb.ModelProto
	if err := proto.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("proto.Unmarshal: %v", err)
	}
	if got.GetIrVersion() != 8 || len(got.GetOpsetImport()) != 1 || got.GetOpsetImport()[0].GetVersion() != 17 ||
		got.GetOpsetImport()[0].GetDomain() != "" || got.GetProducerName() != "backprop" {
		t.Errorf("IR %d, opsets %v, producer %q; want IR 8, opset 17 of the default domain, backprop",
			got.GetIrVersion(), got.GetOpsetImport(), got.GetProducerName())
	}
	meta := map[string]string{}
	for _, p := range got.GetMetadataProps() {
		meta[p.GetKey()] = p.GetValue()
	}
	spec, _ := nn.SpecOf(m)
	if meta["classes"] != classes || meta[onnx.MetaArchitecture] != spec || spec == "" {
		t.Errorf("metadata %v; want classes %s and architecture %q", meta, classes, spec)
	}
	g := got.GetGraph()
	shapeOf := func(v *pb.ValueInfoProto) []string {
		var s []string
		for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
			if d.GetDimParam() != "" {
				s = append(s, d.GetDimParam())
			} else {
				s = append(s, fmt.Sprint(d.GetDimValue()))
			}
		}
		return s
	}
	if len(g.GetInput()) != 1 || len(g.GetOutput()) != 1 {
		t.Fatalf("graph has %d inputs and %d outputs, want 1 and 1", len(g.GetInput()), len(g.GetOutput()))
	}
	in, out := g.GetInput()[0], g.GetOutput()[0]
	if in.GetName() != "input" || !slices.Equal(shapeOf(in), []string{"N", "1", "28", "28"}) ||
		in.GetType().GetTensorType().GetElemType() != int32(pb.TensorProto_FLOAT) {
		t.Errorf("input %q %v type %d; want \"input\" [N 1 28 28] float", in.GetName(), shapeOf(in), in.GetType().GetTensorType().GetElemType())
	}
	if out.GetName() != "output" || !slices.Equal(shapeOf(out), []string{"N", "3"}) {
		t.Errorf("output %q %v; want \"output\" [N 3]", out.GetName(), shapeOf(out))
	}
	// Dropout is gone and BatchNorm carries the running statistics under
	// their state_dict names.
	ops := map[string]int{}
	for _, n := range g.GetNode() {
		ops[n.GetOpType()]++
	}
	if ops["Dropout"] != 0 || ops["BatchNormalization"] != 2 || ops["Conv"] != 2 || ops["Gemm"] != 2 {
		t.Errorf("ops %v; want 2 Conv, 2 BatchNormalization, 2 Gemm, no Dropout", ops)
	}
	bn := m.(*nn.SequentialModule).Layers[1].(*nn.BatchNormModule)
	found := false
	for _, init := range g.GetInitializer() {
		if init.GetName() == "1.running_var" {
			found = slices.Equal(init.GetFloatData(), bn.RunningVar.Data())
		}
	}
	if !found {
		t.Error("no initializer 1.running_var with the first BatchNorm's running variance")
	}
	// The same model gives the same bytes, and Build's input shape is the
	// default.
	var again bytes.Buffer
	if err := onnx.Export(&again, m, nil, onnx.Metadata(map[string]string{"classes": classes})); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("a second export differs (err %v)", err)
	}
}

type custom struct{}

func (custom) Forward(x *ag.Value) *ag.Value { return x }

func TestExportRefuses(t *testing.T) {
	mlp := preset("mlp", []int{1, 28, 28}, 10)
	tests := []struct {
		name  string
		model nn.Module
		shape []int
		opts  []onnx.Option
		want  []string // substrings of the error
	}{
		{"func layer", nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.Func("double", func(x *ag.Value) *ag.Value { return x })),
			[]int{4}, nil, []string{"layer 2", "*nn.FuncModule", `"double"`, "no ONNX form"}},
		{"user type nested", nn.Sequential(nn.ReLU(), nn.Sequential(custom{})), []int{4}, nil, []string{"layer 1.0", "onnx_test.custom"}},
		{"user model", custom{}, []int{4}, nil, []string{"the model", "onnx_test.custom"}},
		{"batchnorm without running stats", nn.Sequential(nn.BatchNorm1d(4, nn.NoRunningStats())), []int{4}, nil,
			[]string{"layer 0", "*nn.BatchNormModule", "running statistics"}},
		{"wrong input shape", mlp(), []int{1, 28, 27}, nil, []string{"layer 1", "linear(256)", "cannot take its input"}},
		{"adaptive pool uneven", nn.Sequential(nn.AdaptiveAvgPool2d(2, 2)), []int{1, 5, 4}, nil,
			[]string{"layer 0", "*nn.AdaptiveAvgPool2dModule", "5x4", "2x2"}},
		{"time-major lstm", nn.Sequential(nn.LSTM(3, 4, nn.RNNOptions{TimeMajor: true})), []int{5, 3}, nil,
			[]string{"layer 0", "*nn.RNNModule", "time-major"}},
		{"bilinear to one row", nn.Sequential(nn.Upsample(ag.InterpParams{Mode: tensor.Bilinear, Size: [2]int{1, 4}})), []int{1, 3, 3}, nil,
			[]string{"layer 0", "*nn.UpsampleModule", "single row"}},
		{"zoo block inside", nn.Sequential(nn.Sequential(nn.ReLU(), nn.Func("odd", func(x *ag.Value) *ag.Value { return x }))), []int{4}, nil,
			[]string{"layer 0.1", `"odd"`}},
		{"empty input shape", nn.Sequential(nn.ReLU()), nil, nil, []string{"empty input shape"}},
		{"normalize channels", mlp(), []int{1, 28, 28}, []onnx.Option{onnx.Normalize([]float32{0, 0}, []float32{1, 1})},
			[]string{"2 means", "1 input channels"}},
		{"normalize zero std", mlp(), []int{1, 28, 28}, []onnx.Option{onnx.Normalize([]float32{0}, []float32{0})}, []string{"positive"}},
		{"normalize tokens", nn.Sequential(nn.Embedding(3, 2)), []int{4}, []onnx.Option{onnx.Normalize([]float32{0}, []float32{1})},
			[]string{"token indices"}},
		{"denormalize width", mlp(), []int{1, 28, 28}, []onnx.Option{onnx.Denormalize([]float32{0, 0}, []float32{1, 1})},
			[]string{"10 features"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := onnx.Export(&buf, tt.model, tt.shape, tt.opts...)
			if err == nil {
				t.Fatal("Export succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") || buf.Len() != 0 {
				t.Errorf("error %q spans lines, or %d bytes were written", err, buf.Len())
			}
		})
	}
}

func TestExportKeepsTrainingMode(t *testing.T) {
	m := withStats(build("linear(4) batchnorm dropout(0.5)", []int{3}))()
	before := nn.StateDict(m)["1.running_mean"].Data()
	before = slices.Clone(before)
	if err := onnx.Export(&bytes.Buffer{}, m, []int{3}); err != nil {
		t.Fatal(err)
	}
	bn := m.(*nn.SequentialModule).Layers[1].(*nn.BatchNormModule)
	if !bn.Training() || !slices.Equal(bn.RunningMean.Data(), before) {
		t.Errorf("Export changed the model: training %t, running mean %v (was %v)", bn.Training(), bn.RunningMean.Data(), before)
	}
}

// The zoo's weights keep their state_dict names (layer1.0.conv1.weight,
// features.1.conv.0.0.weight, ...) in the exported file.
func TestExportZooNames(t *testing.T) {
	for _, name := range []string{"resnet18", "mobilenet_v2"} {
		m := withStats(zoo(name, 3))()
		mp, err := onnx.Convert(m, []int{3, 32, 32})
		if err != nil {
			t.Fatal(err)
		}
		inits := map[string][]float32{}
		for _, in := range mp.GetGraph().GetInitializer() {
			inits[in.GetName()] = in.GetFloatData()
		}
		n := 0
		for k, v := range nn.StateDict(m) {
			if strings.HasSuffix(k, "num_batches_tracked") {
				continue
			}
			if got, ok := inits[k]; !ok || !slices.Equal(got, v.Data()) {
				t.Errorf("%s: state %s is not an initializer of that name and value (present %t)", name, k, ok)
			}
			n++
		}
		if n < 50 {
			t.Errorf("%s: only %d state entries checked", name, n)
		}
	}
}
