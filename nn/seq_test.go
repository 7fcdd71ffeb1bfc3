package nn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/safetensors"
	"github.com/backprop-go/backprop/tensor"
)

type nameShape struct {
	name  string
	shape []int
}

// PyTorch's state_dict of nn.LSTM(64, 256, batch_first=True) and of
// nn.TransformerEncoderLayer(128, 4, 512, batch_first=True), in order, as
// torch documents them (the W-LM models' layers).
var (
	torchLSTM = []nameShape{
		{"weight_ih_l0", []int{1024, 64}}, {"weight_hh_l0", []int{1024, 256}},
		{"bias_ih_l0", []int{1024}}, {"bias_hh_l0", []int{1024}},
	}
	torchTransformer = []nameShape{
		{"self_attn.in_proj_weight", []int{384, 128}}, {"self_attn.in_proj_bias", []int{384}},
		{"self_attn.out_proj.weight", []int{128, 128}}, {"self_attn.out_proj.bias", []int{128}},
		{"linear1.weight", []int{512, 128}}, {"linear1.bias", []int{512}},
		{"linear2.weight", []int{128, 512}}, {"linear2.bias", []int{128}},
		{"norm1.weight", []int{128}}, {"norm1.bias", []int{128}},
		{"norm2.weight", []int{128}}, {"norm2.bias", []int{128}},
	}
)

// TestSeqLayersSaveWithPyTorchNames saves an LSTM and a transformer layer
// and checks the file's names and shapes, and the state_dict order, against
// PyTorch's.
func TestSeqLayersSaveWithPyTorchNames(t *testing.T) {
	cases := []struct {
		name string
		m    nn.Module
		want []nameShape
	}{
		{"LSTM", nn.LSTM(64, 256, nn.RNNOptions{}, nn.Seed(1)), torchLSTM},
		{"TransformerEncoderLayer", nn.TransformerEncoderLayer(128, 4, 512, nn.TransformerOptions{NormFirst: true, Activation: "gelu"}, nn.Seed(2)), torchTransformer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []nameShape
			for _, p := range nn.NamedParameters(c.m) {
				got = append(got, nameShape{p.Name, p.Value.Shape()})
			}
			if !slices.EqualFunc(got, c.want, func(a, b nameShape) bool { return a.name == b.name && slices.Equal(a.shape, b.shape) }) {
				t.Errorf("state_dict\n got %v\nwant %v", got, c.want)
			}
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if err := nn.Save(path, c.m, nil); err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Tensors) != len(c.want) {
				t.Errorf("file holds %d tensors, want %d", len(f.Tensors), len(c.want))
			}
			for _, w := range c.want {
				if tt := f.Tensors[w.name]; tt == nil || !slices.Equal(tt.Shape(), w.shape) {
					t.Errorf("file entry %q: %v, want shape %v", w.name, tt, w.shape)
				}
			}
		})
	}
}

// TestLSTMInit checks PyTorch's initialisation: every weight within
// ±1/√H, spread over the range, and the same seed the same weights.
func TestLSTMInit(t *testing.T) {
	a, b := nn.LSTM(8, 16, nn.RNNOptions{}, nn.Seed(3)), nn.LSTM(8, 16, nn.RNNOptions{}, nn.Seed(3))
	k := 1 / math.Sqrt(16)
	for i, p := range nn.Parameters(a) {
		lo, hi := slices.Min(p.Data.Data()), slices.Max(p.Data.Data())
		if float64(lo) < -k || float64(hi) > k || float64(hi-lo) < k {
			t.Errorf("parameter %d spans [%v, %v], want most of ±%v", i, lo, hi, k)
		}
		if !slices.Equal(p.Data.Data(), nn.Parameters(b)[i].Data.Data()) {
			t.Errorf("parameter %d differs for the same seed", i)
		}
	}
}

// TestSeqSpecs builds each token, checks its canonical form, and that
// InferShapes gives the built model's state and output shapes.
func TestSeqSpecs(t *testing.T) {
	cases := []struct {
		spec, canonical string
		out             []int
	}{
		{"lstm(8,layers=2,bidirectional=1)", "lstm(8,layers=2,bidirectional=1)", []int{5, 16}},
		{"gru(4) lstm(3)", "gru(4) lstm(3)", []int{5, 3}},
		{"rnn(3,nonlinearity=relu,bias=0)", "rnn(3,bias=0,nonlinearity=relu)", []int{5, 3}},
		{"attention(2,causal=1)", "attention(2,causal=1)", []int{5, 4}},
		{"transformer(2,ff=16,norm_first=1,activation=gelu)", "transformer(2,norm_first=1,activation=gelu)", []int{5, 4}},
		{"transformer(4,ff=8,causal=1) transformer(1)", "transformer(4,ff=8,causal=1) transformer(1)", []int{5, 4}},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			m, err := nn.Build(c.spec, []int{5, 4}, nn.Seed(1))
			if err != nil {
				t.Fatal(err)
			}
			if s, err := nn.SpecOf(m); err != nil || s != c.canonical {
				t.Errorf("SpecOf = %q, %v; want %q", s, err, c.canonical)
			}
			shapes, err := nn.InferShapes(c.spec, []int{5, 4})
			if err != nil {
				t.Fatal(err)
			}
			if got := shapes.Output(); !slices.Equal(got, c.out) {
				t.Errorf("output shape %v, want %v", got, c.out)
			}
			params := nn.NamedParameters(m)
			if len(shapes.State) != len(params) {
				t.Fatalf("InferShapes lists %d entries, the model has %d", len(shapes.State), len(params))
			}
			for i, p := range params {
				if e := shapes.State[i]; e.Name != p.Name || !slices.Equal(e.Shape, p.Value.Shape()) {
					t.Errorf("entry %d: inferred %s %v, built %s %v", i, e.Name, e.Shape, p.Name, p.Value.Shape())
				}
			}
			y := m.Forward(ag.Const(tensor.FromFunc(func(i int) float32 { return float32(i%7) - 3 }, 2, 5, 4)))
			if !slices.Equal(y.Shape(), append([]int{2}, c.out...)) {
				t.Errorf("forward gives %v, want [2 %v]", y.Shape(), c.out)
			}
		})
	}
	for _, bad := range []struct{ spec, msg string }{
		{"lstm(8)", "sequence [T, F]"},
		{"attention(3)", "do not split into 3 heads"},
		{"transformer(2,activation=tanh)", "activation"},
	} {
		in := []int{5, 4}
		if bad.spec == "lstm(8)" {
			in = []int{4}
		}
		if _, err := nn.Build(bad.spec, in); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("Build(%q): %v, want an error containing %q", bad.spec, err, bad.msg)
		}
	}
}

// TestLSTMForwardState: the final states have PyTorch's shapes, h_n is
// the output's last step (forward direction) and first step (reverse),
// and a NoGraph forward records nothing.
func TestLSTMForwardState(t *testing.T) {
	m := nn.LSTM(3, 2, nn.RNNOptions{NumLayers: 2, Bidirectional: true}, nn.Seed(4))
	x := ag.Const(tensor.FromFunc(func(i int) float32 { return float32(math.Sin(float64(i))) }, 2, 4, 3))
	out, hn, cn := m.ForwardState(x, nil, nil)
	if !slices.Equal(out.Shape(), []int{2, 4, 4}) || !slices.Equal(hn.Shape(), []int{4, 2, 2}) || !slices.Equal(cn.Shape(), []int{4, 2, 2}) {
		t.Fatalf("shapes %v %v %v", out.Shape(), hn.Shape(), cn.Shape())
	}
	o, h := out.Data.Data(), hn.Data.Data()
	for n := range 2 {
		for j := range 2 {
			fwd, rev := o[(n*4+3)*4+j], o[(n*4+0)*4+2+j] // last layer: h_n rows 2 (forward) and 3 (reverse)
			if fwd != h[(2*2+n)*2+j] || rev != h[(3*2+n)*2+j] {
				t.Errorf("sample %d unit %d: h_n does not match the output's end steps", n, j)
			}
		}
	}
	y := m.Forward(ag.NoGraph(x.Data))
	if y.RequiresGrad() || !y.NoGraph() || !slices.Equal(y.Data.Data(), o) {
		t.Error("a NoGraph forward records a graph or computes something else")
	}
}

// TestSeqLayersMatchPyTorch compares LSTM, GRU and transformer layers with
// PyTorch's on the same weights, when /usr/bin/python3 imports torch.
func TestSeqLayersMatchPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python")
	}
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("no PyTorch to compare with: %s -c 'import torch': %v", py, err)
	}
	cases := []struct {
		name, ctor string
		m          nn.Module
	}{
		{"lstm", "torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)",
			nn.LSTM(3, 4, nn.RNNOptions{NumLayers: 2, Bidirectional: true}, nn.Seed(5))},
		{"gru", "torch.nn.GRU(3, 4, batch_first=True)", nn.GRU(3, 4, nn.RNNOptions{}, nn.Seed(6))},
		{"rnn", "torch.nn.RNN(3, 4, nonlinearity='relu', bias=False, batch_first=True)",
			nn.RNN(3, 4, nn.RNNOptions{ReLU: true, NoBias: true}, nn.Seed(7))},
		{"prenorm", "torch.nn.TransformerEncoderLayer(6, 2, 10, dropout=0.0, activation='gelu', batch_first=True, norm_first=True)",
			randomBiases(nn.TransformerEncoderLayer(6, 2, 10, nn.TransformerOptions{NormFirst: true, Activation: "gelu", Causal: true}, nn.Seed(8)), 9)},
		{"postnorm", "torch.nn.TransformerEncoderLayer(6, 3, 8, dropout=0.0, batch_first=True)",
			randomBiases(nn.TransformerEncoderLayer(6, 3, 8, nn.TransformerOptions{}, nn.Seed(10)), 11)},
	}
	type entry struct {
		Shape []int     `json:"shape"`
		Data  []float32 `json:"data"`
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nn.Eval(c.m)
			in := 3
			if strings.HasSuffix(c.name, "norm") {
				in = 6
			}
			x := tensor.FromFunc(func(i int) float32 { return float32(math.Sin(float64(i)*0.7)) * 1.5 }, 2, 5, in)
			state := map[string]entry{"__input__": {x.Shape(), x.Data()}}
			for _, p := range nn.NamedParameters(c.m) {
				state[p.Name] = entry{p.Value.Shape(), p.Value.Data.Data()}
			}
			dir := t.TempDir()
			b, _ := json.Marshal(state)
			if err := os.WriteFile(filepath.Join(dir, "in.json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			causal := "None"
			if c.name == "prenorm" {
				causal = "torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)"
			}
			script := `import json, sys, torch
s = json.load(open(sys.argv[1]))
m = ` + c.ctor + `
m.load_state_dict({k: torch.tensor(v["data"]).reshape(v["shape"]) for k, v in s.items() if k != "__input__"})
m.eval()
x = torch.tensor(s["__input__"]["data"]).reshape(s["__input__"]["shape"])
with torch.no_grad():
    if isinstance(m, torch.nn.TransformerEncoderLayer):
        y = m(x, src_mask=` + causal + `)
    else:
        y = m(x)[0]
print(json.dumps(y.flatten().tolist()))
`
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			outB, err := exec.CommandContext(ctx, py, "-c", script, filepath.Join(dir, "in.json")).Output()
			if err != nil {
				t.Fatalf("python: %v", err)
			}
			var want []float64
			if err := json.Unmarshal(outB, &want); err != nil {
				t.Fatalf("python output: %v", err)
			}
			got := c.m.Forward(ag.NoGraph(x)).Data.Data()
			if len(got) != len(want) {
				t.Fatalf("%d outputs, PyTorch %d", len(got), len(want))
			}
			for i := range got {
				if math.Abs(float64(got[i])-want[i]) > 1e-5+1e-4*math.Abs(want[i]) {
					t.Fatalf("output %d: %v, PyTorch %v", i, got[i], want[i])
				}
			}
		})
	}
}

// An LSTM over a batch of sequences: the output sequence, the final
// states, and PyTorch's state_dict names.
func ExampleLSTM() {
	lstm := nn.LSTM(3, 4, nn.RNNOptions{NumLayers: 2}, nn.Seed(1))
	x := ag.Const(tensor.Zeros(2, 5, 3)) // [N, T, features]
	out, hn, cn := lstm.ForwardState(x, nil, nil)
	fmt.Println(out.Shape(), hn.Shape(), cn.Shape())
	for _, p := range nn.NamedParameters(lstm)[:4] {
		fmt.Println(p.Name, p.Value.Shape())
	}
	// Output:
	// [2 5 4] [2 2 4] [2 2 4]
	// weight_ih_l0 [16 3]
	// weight_hh_l0 [16 4]
	// bias_ih_l0 [16]
	// bias_hh_l0 [16]
}
