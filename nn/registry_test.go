package nn_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// affine is a user layer for the registry tests: y = act(x·scale + shift)
// per feature, with act a string argument.
type affine struct {
	nn.Container
	Scale, Shift *ag.Value
	Act          string
}

func (a *affine) Forward(x *ag.Value) *ag.Value {
	y := ag.Add(ag.Mul(x, a.Scale), a.Shift)
	switch a.Act {
	case "tanh":
		return ag.Tanh(y)
	case "relu":
		return ag.ReLU(y)
	}
	return y
}

func (a *affine) OutputShape(in []int) ([]int, error) {
	if len(in) != 1 || in[0] != a.Scale.Shape()[0] {
		return nil, fmt.Errorf("affine over %d features cannot take input of shape %v", a.Scale.Shape()[0], in)
	}
	return slices.Clone(in), nil
}

func (a *affine) Spec() string {
	if a.Act == "none" {
		return "test_affine"
	}
	return "test_affine(act=" + a.Act + ")"
}

// repeat is a user layer with a number and a body: the body n times.
type repeat struct {
	nn.Container
	Body *nn.List[*nn.SequentialModule]
}

func (r *repeat) Forward(x *ag.Value) *ag.Value {
	for _, b := range r.Body.Items {
		x = b.Forward(x)
	}
	return x
}

func (r *repeat) OutputShape(in []int) ([]int, error) {
	for _, b := range r.Body.Items {
		var err error
		if in, err = b.OutputShape(in); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func (r *repeat) Spec() string {
	body, _ := nn.SpecOf(r.Body.At(0))
	return fmt.Sprintf("test_repeat(%d,%s)", r.Body.Len(), body)
}

func init() {
	nn.Register(nn.LayerDef{
		Name: "test_affine",
		Args: []nn.Arg{{Name: "act", Kind: nn.StringArg, DefaultText: "none", Choices: []string{"none", "relu", "tanh"}}},
		Build: func(b *nn.LayerBuilder, l nn.LayerSpec, in []int) (nn.Module, error) {
			if len(in) != 1 {
				return nil, fmt.Errorf("test_affine takes a vector, got %v", in)
			}
			a := &affine{Act: l.TextArg("act")}
			a.Scale = nn.Parameter(&a.Container, "scale", tensor.Ones(in[0]))
			a.Shift = nn.Parameter(&a.Container, "shift", tensor.Zeros(in[0]))
			return a, nil
		},
	})
	nn.Register(nn.LayerDef{
		Name: "test_panic",
		Build: func(*nn.LayerBuilder, nn.LayerSpec, []int) (nn.Module, error) {
			return nn.Linear(-1, 2), nil // a constructor's panic
		},
	})
	nn.Register(nn.LayerDef{
		Name: "test_repeat", Positional: 1, Body: true,
		Args: []nn.Arg{{Name: "n", Kind: nn.IntArg, Required: true, Min: 1, Max: 8}},
		Build: func(b *nn.LayerBuilder, l nn.LayerSpec, in []int) (nn.Module, error) {
			r := &repeat{}
			r.Body = nn.Child(&r.Container, "body", nn.NewList[*nn.SequentialModule]())
			for range l.Int("n") {
				s, out, err := b.BuildBody(l.Body, in)
				if err != nil {
					return nil, err
				}
				in = out
				r.Body.Append(s)
			}
			return r, nil
		},
	})
}

// TestRegistryLayers: the residual layer and user layers with string
// arguments and bodies parse, print canonically, build with PyTorch's
// nested names, and agree with InferShapes; a saved model loads back from
// its own architecture.
func TestRegistryLayers(t *testing.T) {
	cases := []struct {
		in, canonical string
		shape         []int
		names         []string
	}{
		{"conv(4,3,pad=1) Residual( conv(4,3,pad=1) batchnorm relu ) relu", "conv(4,3,pad=1) residual(conv(4,3,pad=1) batchnorm relu) relu", []int{1, 5, 5},
			[]string{"0.weight", "0.bias", "1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias",
				"1.1.running_mean", "1.1.running_var", "1.1.num_batches_tracked"}},
		{"flatten residual(residual(linear(25) tanh) linear(25)) linear(2)", "flatten residual(residual(linear(25) tanh) linear(25)) linear(2)", []int{1, 5, 5},
			[]string{"1.0.0.weight", "1.0.0.bias", "1.1.weight", "1.1.bias", "2.weight", "2.bias"}},
		{`test_affine(act="tanh") test_affine(act=none) test_affine("relu")`, "test_affine(act=tanh) test_affine test_affine(act=relu)", []int{3},
			[]string{"0.scale", "0.shift", "1.scale", "1.shift", "2.scale", "2.shift"}},
		{"test_repeat(2, linear(3) test_affine(act = relu)) linear(1)", "test_repeat(2,linear(3) test_affine(act=relu)) linear(1)", []int{3},
			[]string{"0.body.0.0.weight", "0.body.0.0.bias", "0.body.0.1.scale", "0.body.0.1.shift",
				"0.body.1.0.weight", "0.body.1.0.bias", "0.body.1.1.scale", "0.body.1.1.shift", "1.weight", "1.bias"}},
	}
	dir := t.TempDir()
	for i, c := range cases {
		s, err := nn.ParseSpec(c.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", c.in, err)
			continue
		}
		if got := s.String(); got != c.canonical {
			t.Errorf("ParseSpec(%q) = %q, want %q", c.in, got, c.canonical)
		}
		m, err := nn.Build(c.in, c.shape, nn.Seed(1))
		if err != nil {
			t.Errorf("Build(%q): %v", c.in, err)
			continue
		}
		if got := m.Spec(); got != c.canonical {
			t.Errorf("Build(%q).Spec() = %q, want %q", c.in, got, c.canonical)
		}
		var names []string
		for _, e := range nn.NamedState(m) {
			names = append(names, e.Name)
		}
		if !slices.Equal(names, c.names) {
			t.Errorf("%q: state names\n got %v\nwant %v", c.in, names, c.names)
		}
		shapes, err := nn.InferShapes(c.in, c.shape)
		if err != nil {
			t.Errorf("InferShapes(%q): %v", c.in, err)
			continue
		}
		if err := shapes.Check(nn.StateShapes(nn.StateDict(m))); err != nil {
			t.Errorf("InferShapes(%q) disagrees with Build: %v", c.in, err)
		}
		y := m.Forward(ag.Const(tensor.Ones(append([]int{2}, c.shape...)...)))
		if !slices.Equal(y.Shape()[1:], shapes.Output()) {
			t.Errorf("%q: output %v, inferred %v", c.in, y.Shape(), shapes.Output())
		}
		path := filepath.Join(dir, fmt.Sprintf("m%d.safetensors", i))
		if err := nn.Save(path, m, nil); err != nil {
			t.Fatal(err)
		}
		back, _, err := nn.LoadModel(path, nil)
		if err != nil {
			t.Errorf("LoadModel of %q: %v", c.in, err)
			continue
		}
		if !slices.Equal(back.Forward(ag.Const(tensor.Ones(append([]int{2}, c.shape...)...))).Data.Data(), y.Data.Data()) {
			t.Errorf("%q: the loaded model computes something else", c.in)
		}
	}
	if !slices.Contains(nn.LayerNames(), "residual") || !slices.Contains(nn.LayerNames(), "test_affine") {
		t.Errorf("LayerNames = %v", nn.LayerNames())
	}
}

// TestResidualSameWeights: a body draws from the model's generator in
// order, so residual(linear(4)) has the weights of the plain linear(4) at
// the same place in the spec.
func TestResidualSameWeights(t *testing.T) {
	a, err := nn.Build("linear(4) residual(linear(4) relu) linear(2)", []int{4}, nn.Seed(8))
	if err != nil {
		t.Fatal(err)
	}
	b, err := nn.Build("linear(4) linear(4) relu linear(2)", []int{4}, nn.Seed(8))
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := nn.NamedState(a), nn.NamedState(b)
	for i := range sa {
		if !slices.Equal(sa[i].Tensor.Data(), sb[i].Tensor.Data()) {
			t.Errorf("%s differs from %s", sa[i].Name, sb[i].Name)
		}
	}
	if sa[2].Name != "1.0.weight" {
		t.Errorf("entry 2 is %s", sa[2].Name)
	}
}

// TestRegistryErrors: bodies, strings and nesting fail with the column of
// the offending token.
func TestRegistryErrors(t *testing.T) {
	deep := strings.Repeat("residual(", nn.MaxSpecDepth) + "relu" + strings.Repeat(")", nn.MaxSpecDepth)
	cases := []struct {
		in     string
		shape  []int
		column int
		want   []string
	}{
		{"residual", nil, 1, []string{"residual needs a body", "residual(BODY)"}},
		{"residual()", nil, 1, []string{"needs a body"}},
		{"residual(relu", nil, 14, []string{"expected ')' after the body"}},
		{"residual(relu lienar(3))", nil, 15, []string{`unknown layer "lienar"`}},
		{"residual(relu)x", nil, 15, []string{"expected a space"}},
		{"residual(3)", nil, 10, []string{"too many arguments", "residual(BODY)"}},
		{"relu residual(relu,tanh)", nil, 19, []string{"expected a space"}},
		{"residual(" + deep + ")", nil, 1 + 9*nn.MaxSpecDepth, []string{fmt.Sprintf("nested more than %d deep", nn.MaxSpecDepth)}},
		{`test_affine(act="gelu")`, nil, 17, []string{"expected one of none, relu, tanh", `"gelu"`}},
		{`test_affine(act="relu)`, nil, 17, []string{"expected a string for act"}},
		{`test_affine(act=3)`, nil, 17, []string{"expected a string for act"}},
		{`test_affine(relu)`, nil, 13, []string{`unknown argument "relu"`}},
		{`test_repeat(linear(3))`, nil, 1, []string{"needs argument n"}},
		{`test_repeat(9, relu)`, nil, 13, []string{"[1, 8]"}},
		{`linear(out="3")`, nil, 12, []string{"expected a number for out"}},
		// Build errors inside a body name the inner token.
		{"relu residual(linear(3))", []int{4, 2, 2}, 15, []string{"linear(3)", "put flatten before it"}},
		{"flatten residual(linear(8) linear(3))", []int{8}, 9, []string{"the body maps shape [8] to [3]", "no shortcut"}},
		{"residual(conv(4,3,pad=2))", []int{1, 8, 8}, 1, []string{"maps shape [1 8 8] to [4 10 10]", "no shortcut"}},
		{"residual(conv(2,9))", []int{1, 8, 8}, 10, []string{"conv(2,9)", "too small"}},
		{"relu residual(relu test_panic)", []int{3}, 20, []string{"test_panic", "negative size"}},
	}
	if _, err := nn.ParseSpec(deep); err != nil {
		t.Errorf("a spec nested exactly MaxSpecDepth deep: %v", err)
	}
	for _, c := range cases {
		var err error
		if c.shape == nil {
			_, err = nn.ParseSpec(c.in)
		} else {
			_, err = nn.Build(c.in, c.shape)
			if _, ierr := nn.InferShapes(c.in, c.shape); fmt.Sprint(ierr) != fmt.Sprint(err) {
				t.Errorf("%q: InferShapes says %v, Build %v", c.in, ierr, err)
			}
		}
		var se *nn.SpecError
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v, want a *SpecError", c.in, err)
			continue
		}
		if se.Column != c.column {
			t.Errorf("%q: column %d, want %d (%v)", c.in, se.Column, c.column, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: %q does not contain %q", c.in, err, w)
			}
		}
	}
}

// TestRegisterPanics: invalid definitions and duplicates are refused.
func TestRegisterPanics(t *testing.T) {
	build := func(*nn.LayerBuilder, nn.LayerSpec, []int) (nn.Module, error) { return nn.ReLU(), nil }
	cases := []struct {
		def  nn.LayerDef
		want string
	}{
		{nn.LayerDef{Name: "relu", Build: build}, "already registered"},
		{nn.LayerDef{Name: "Bad", Build: build}, "lower-case"},
		{nn.LayerDef{Name: "1x", Build: build}, "starting with a letter"},
		{nn.LayerDef{Name: "nobuild"}, "no Build"},
		{nn.LayerDef{Name: "dup", Build: build, Args: []nn.Arg{{Name: "a"}, {Name: "a"}}}, "declared twice"},
		{nn.LayerDef{Name: "pos", Build: build, Positional: 2, Args: []nn.Arg{{Name: "a"}}}, "Positional"},
		{nn.LayerDef{Name: "from", Build: build, Args: []nn.Arg{{Name: "a", DefaultFrom: "b"}}}, "earlier argument"},
		{nn.LayerDef{Name: "choice", Build: build, Args: []nn.Arg{{Name: "a", Kind: nn.StringArg, DefaultText: "x", Choices: []string{"y"}}}}, "choices"},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), c.want) {
					t.Errorf("Register(%q): panic %v, want one containing %q", c.def.Name, r, c.want)
				}
			}()
			nn.Register(c.def)
		}()
	}
}
