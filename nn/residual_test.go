package nn_test

import (
	"math"
	"slices"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// TestResidualNames: a residual's body layers are named by position under
// the token's index, its shortcut (when the body changes the shape) under
// "shortcut", as the PyTorch Sequential would name them; InferShapes
// agrees with the built model.
func TestResidualNames(t *testing.T) {
	cases := []struct {
		spec  string
		in    []int
		names []string
		out   []int
	}{
		{"conv(4,3,pad=1) relu relu residual(conv(4,3,pad=1) batchnorm)", []int{3, 8, 8},
			[]string{"0.weight", "0.bias", "3.0.weight", "3.0.bias", "3.1.weight", "3.1.bias", "3.1.running_mean", "3.1.running_var", "3.1.num_batches_tracked"},
			[]int{4, 8, 8}},
		{"conv(4,3,pad=1) relu relu residual(conv(8,3,stride=2,pad=1,bias=0) batchnorm)", []int{3, 8, 8},
			[]string{"0.weight", "0.bias", "3.0.weight", "3.1.weight", "3.1.bias", "3.1.running_mean", "3.1.running_var", "3.1.num_batches_tracked",
				"3.shortcut.0.weight", "3.shortcut.1.weight", "3.shortcut.1.bias", "3.shortcut.1.running_mean", "3.shortcut.1.running_var", "3.shortcut.1.num_batches_tracked"},
			[]int{8, 4, 4}},
		{"residual(conv(6,3,stride=2,pad=1))", []int{2, 7, 5}, // odd sides: ceil(7/2), ceil(5/2)
			[]string{"0.0.weight", "0.0.bias", "0.shortcut.0.weight", "0.shortcut.1.weight", "0.shortcut.1.bias", "0.shortcut.1.running_mean", "0.shortcut.1.running_var", "0.shortcut.1.num_batches_tracked"},
			[]int{6, 4, 3}},
	}
	for _, c := range cases {
		m, err := nn.Build(c.spec, c.in, nn.Seed(1))
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		var names []string
		for _, s := range nn.NamedState(m) {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, c.names) {
			t.Errorf("%s: names\n%q\nwant\n%q", c.spec, names, c.names)
		}
		shapes, err := nn.InferShapes(c.spec, c.in)
		if err != nil {
			t.Fatalf("%s: InferShapes: %v", c.spec, err)
		}
		if !slices.Equal(shapes.Output(), c.out) {
			t.Errorf("%s: inferred output %v, want %v", c.spec, shapes.Output(), c.out)
		}
		for i, s := range nn.NamedState(m) {
			if i >= len(shapes.State) || shapes.State[i].Name != s.Name || !slices.Equal(shapes.State[i].Shape, s.Tensor.Shape()) {
				t.Errorf("%s: state %d: built %s %v, inferred %+v", c.spec, i, s.Name, s.Tensor.Shape(), shapes.State[min(i, len(shapes.State)-1)])
			}
		}
		y := m.Forward(ag.NoGraph(tensor.Ones(append([]int{2}, c.in...)...)))
		if !slices.Equal(y.Data.Shape()[1:], c.out) {
			t.Errorf("%s: forward gives %v, want [2 %v]", c.spec, y.Data.Shape(), c.out)
		}
	}
}

// TestResidualShortcutSum: the block's output is body(x) + shortcut(x),
// each computed by the block's own modules alone.
func TestResidualShortcutSum(t *testing.T) {
	m, err := nn.Build("residual(conv(4,3,stride=2,pad=1) relu)", []int{2, 6, 6}, nn.Seed(4))
	if err != nil {
		t.Fatal(err)
	}
	r := m.Layers[0].(*nn.ResidualModule)
	if r.Shortcut == nil {
		t.Fatal("no shortcut for a body that changes the shape")
	}
	x := tensor.Zeros(3, 2, 6, 6)
	for i, d := 0, x.Data(); i < len(d); i++ {
		d[i] = float32(math.Sin(float64(i)))
	}
	nn.Eval(m)
	got := m.Forward(ag.NoGraph(x)).Data.Data()
	body := r.Body.Forward(ag.NoGraph(x)).Data.Data()
	short := r.Shortcut.Forward(ag.NoGraph(x)).Data.Data()
	for i := range got {
		if got[i] != body[i]+short[i] {
			t.Fatalf("element %d: %v, want %v + %v", i, got[i], body[i], short[i])
		}
	}
}
