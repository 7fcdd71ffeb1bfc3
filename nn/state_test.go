package nn_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/safetensors"
	"github.com/backprop-go/backprop/tensor"
)

// TestStateDictNames: positions count parameterless layers, nested modules
// join with dots, and BatchNorm contributes its buffers, in PyTorch's
// order.
func TestStateDictNames(t *testing.T) {
	cases := []struct {
		name string
		m    nn.Module
		want []string
	}{
		{"flatten first", nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2, nn.NoBias())),
			[]string{"1.weight", "1.bias", "3.weight"}},
		{"batchnorm", nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)),
			[]string{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"}},
		{"nested", nn.Sequential(&block{a: nn.Sequential(nn.ReLU(), nn.Linear(2, 2)), b: nn.LayerNorm([]int{2})}, nn.Linear(2, 1)),
			[]string{"0.a.1.weight", "0.a.1.bias", "0.b.weight", "0.b.bias", "1.weight", "1.bias"}},
	}
	for _, c := range cases {
		var got []string
		for _, s := range nn.NamedState(c.m) {
			got = append(got, s.Name)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: state_dict names %v, want %v", c.name, got, c.want)
		}
	}
}

// trainedCNN is a model with every kind of state: convolution, batch norm
// (with running statistics moved by a training step), dropout, linear.
func trainedCNN(t *testing.T) *nn.SequentialModule {
	t.Helper()
	m, err := nn.Build("conv(4,3,pad=1) batchnorm relu maxpool(2) dropout(0.3) flatten linear(16) layernorm gelu linear(3)", []int{1, 8, 8}, nn.Seed(7))
	if err != nil {
		t.Fatal(err)
	}
	x := randn(newRand(1), 5, 1, 8, 8)
	m.Forward(ag.Const(x))
	return m
}

// TestSaveLoadRoundTrip: a model saved and loaded into a freshly built one
// gives bit-identical outputs, and the file carries the architecture.
func TestSaveLoadRoundTrip(t *testing.T) {
	m := trainedCNN(t)
	nn.Eval(m)
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := nn.Save(path, m, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	m2, meta, err := nn.LoadModel(path, nil, nn.Seed(99))
	if err != nil {
		t.Fatal(err)
	}
	if meta["epoch"] != "3" || meta[nn.ArchitectureKey] != m.Spec() || meta[nn.InputShapeKey] != "[1,8,8]" {
		t.Errorf("metadata %v", meta)
	}
	nn.Eval(m2)
	x := ag.Const(randn(newRand(2), 3, 1, 8, 8))
	a, b := m.Forward(x).Data.Data(), m2.Forward(x).Data.Data()
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("output %d: saved model %v, loaded %v", i, a[i], b[i])
		}
	}
	// Load into an existing model too.
	m3, _ := nn.Build(m.Spec(), []int{1, 8, 8}, nn.Seed(5))
	if err := nn.Load(path, m3); err != nil {
		t.Fatal(err)
	}
	if sd := nn.StateDict(m3); sd["1.num_batches_tracked"].Item() != 1 || !slices.Equal(sd["1.running_mean"].Data(), nn.StateDict(m)["1.running_mean"].Data()) {
		t.Error("buffers did not round-trip")
	}
}

// TestLoadErrorsNameTheKey: missing, unexpected and mis-shaped keys are
// refused with messages naming them and the shapes, and the model is left
// unchanged.
func TestLoadErrorsNameTheKey(t *testing.T) {
	build := func() *nn.SequentialModule {
		m, err := nn.Build("flatten linear(5) relu linear(3)", []int{2, 2}, nn.Seed(1))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	good := nn.StateDict(build())
	cases := []struct {
		name string
		edit func(sd map[string]*tensor.Tensor)
		want []string
	}{
		{"missing", func(sd map[string]*tensor.Tensor) { delete(sd, "3.bias") },
			[]string{`missing key "3.bias"`, "[3]"}},
		{"unexpected", func(sd map[string]*tensor.Tensor) { sd["4.weight"] = tensor.Zeros(2, 2) },
			[]string{`unexpected key "4.weight"`, "[2 2]"}},
		{"wrong name", func(sd map[string]*tensor.Tensor) { sd["1.wieght"] = sd["1.weight"]; delete(sd, "1.weight") },
			[]string{`missing key "1.weight"`, `unexpected key "1.wieght"`}},
		{"wrong shape", func(sd map[string]*tensor.Tensor) { sd["1.weight"] = tensor.Zeros(5, 3) },
			[]string{`"1.weight"`, "[5 3]", "[5 4]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sd := map[string]*tensor.Tensor{}
			for k, v := range good {
				sd[k] = v.Clone()
			}
			c.edit(sd)
			path := filepath.Join(t.TempDir(), "bad.safetensors")
			if err := safetensors.Save(path, sd, nil); err != nil {
				t.Fatal(err)
			}
			m := build()
			before := nn.StateDict(m)["1.bias"].Clone()
			err := nn.Load(path, m)
			if err == nil {
				t.Fatal("loaded a bad file")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var se *nn.StateDictError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *StateDictError", err)
			}
			if !slices.Equal(before.Data(), nn.StateDict(m)["1.bias"].Data()) {
				t.Error("a failed load changed the model")
			}
			// Non-strict loading still refuses a wrong shape but accepts
			// missing and unexpected keys.
			err = nn.LoadStateDict(build(), sd, false)
			if (err != nil) != (c.name == "wrong shape") {
				t.Errorf("non-strict load: %v", err)
			}
		})
	}
}

// TestLoadPyTorchInt64Buffer: PyTorch stores num_batches_tracked as an
// I64 scalar; loading converts it.
func TestLoadPyTorchInt64Buffer(t *testing.T) {
	bn := nn.BatchNorm1d(2)
	f32 := func(v ...float32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b
	}
	body := slices.Concat(f32(1, 2), f32(3, 4), f32(5, 6), f32(7, 8), binary.LittleEndian.AppendUint64(nil, 42))
	hdr := `{"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},` +
		`"running_mean":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},"running_var":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},` +
		`"num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[32,40]}}`
	var file bytes.Buffer
	file.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr))))
	file.WriteString(hdr)
	file.Write(body)
	path := filepath.Join(t.TempDir(), "bn.safetensors")
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := nn.Load(path, bn); err != nil {
		t.Fatal(err)
	}
	if bn.NumBatchesTracked.Item() != 42 || bn.RunningVar.Data()[1] != 8 || bn.Weight.Data.Data()[0] != 1 {
		t.Errorf("loaded %v %v %v", bn.NumBatchesTracked, bn.RunningVar, bn.Weight.Data)
	}
}

// TestSeeds: the same seed gives identical parameters; another seed,
// different ones; the default generator restarts with ManualSeed.
func TestSeeds(t *testing.T) {
	flat := func(m nn.Module) []float32 {
		var out []float32
		for _, p := range nn.Parameters(m) {
			out = append(out, p.Data.Data()...)
		}
		return out
	}
	spec := "conv(4,3) relu flatten dropout(0.5) linear(10)"
	a, _ := nn.Build(spec, []int{1, 6, 6}, nn.Seed(42))
	b, _ := nn.Build(spec, []int{1, 6, 6}, nn.Seed(42))
	c, _ := nn.Build(spec, []int{1, 6, 6}, nn.Seed(43))
	if !slices.Equal(flat(a), flat(b)) {
		t.Error("same seed, different parameters")
	}
	if slices.Equal(flat(a), flat(c)) {
		t.Error("different seeds, same parameters")
	}
	sa, _ := nn.RNGState(a)
	sb, _ := nn.RNGState(b)
	sc, _ := nn.RNGState(c)
	if !bytes.Equal(sa, sb) || bytes.Equal(sa, sc) {
		t.Error("dropout generators do not follow the seed")
	}
	nn.ManualSeed(5)
	d := flat(nn.Linear(3, 4))
	nn.ManualSeed(5)
	if !slices.Equal(d, flat(nn.Linear(3, 4))) {
		t.Error("ManualSeed does not restart the default generator")
	}
}

// TestDefaultInitBounds: Linear and Conv2d draw weight and bias from
// U(-1/√fan_in, 1/√fan_in), as PyTorch.
func TestDefaultInitBounds(t *testing.T) {
	for _, m := range []nn.Module{nn.Linear(50, 40, nn.Seed(1)), nn.Conv2d(6, 8, 3, nn.Groups(2), nn.Seed(2))} {
		w := nn.NamedParameters(m)[0].Value.Data
		fanIn, _ := nn.Fans(w.Shape())
		bound := 1 / math.Sqrt(float64(fanIn))
		for _, p := range nn.NamedParameters(m) {
			lo, hi := slices.Min(p.Value.Data.Data()), slices.Max(p.Value.Data.Data())
			if float64(lo) < -bound || float64(hi) > bound || float64(hi-lo) < bound {
				t.Errorf("%T %s in [%v, %v], want spread over ±%v", m, p.Name, lo, hi, bound)
			}
		}
	}
}

// TestInitialisers: the Xavier and Kaiming draws have the variances their
// papers prescribe (within sampling error).
func TestInitialisers(t *testing.T) {
	shape := []int{200, 100, 3, 3} // fan_in 900, fan_out 1800
	r := newRand(3)
	cases := []struct {
		name string
		init func(*tensor.Tensor)
		std  float64
	}{
		{"XavierUniform", func(w *tensor.Tensor) { nn.XavierUniform(w, 1, r) }, math.Sqrt(2.0 / 2700)},
		{"XavierNormal", func(w *tensor.Tensor) { nn.XavierNormal(w, 2, r) }, 2 * math.Sqrt(2.0/2700)},
		{"KaimingUniform", func(w *tensor.Tensor) { nn.KaimingUniform(w, 0, nn.FanIn, r) }, math.Sqrt(2.0 / 900)},
		{"KaimingNormal/fan_out", func(w *tensor.Tensor) { nn.KaimingNormal(w, 0, nn.FanOut, r) }, math.Sqrt(2.0 / 1800)},
	}
	for _, c := range cases {
		w := tensor.Zeros(shape...)
		c.init(w)
		var s float64
		for _, v := range w.Data() {
			s += float64(v) * float64(v)
		}
		std := math.Sqrt(s / float64(w.Size()))
		if math.Abs(std-c.std) > 0.02*c.std {
			t.Errorf("%s: std %.5f, want %.5f", c.name, std, c.std)
		}
	}
}
