package nn_test

import (
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// TestTrainsWithAnOptimiser: a built model's Parameters drive an optim
// optimiser to fit XOR, with batch norm and dropout in the model.
func TestTrainsWithAnOptimiser(t *testing.T) {
	m, err := nn.Build("linear(16) batchnorm tanh dropout(0.1) linear(2)", []int{2}, nn.Seed(3))
	if err != nil {
		t.Fatal(err)
	}
	opt := optim.Adam(m.Parameters(), optim.LR(0.05))
	x := ag.Const(tensor.New([]float32{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2))
	y := []int{0, 1, 1, 0}
	var first, last float32
	for step := range 200 {
		nn.ZeroGrad(m)
		loss := nn.CrossEntropy(m.Forward(x), y)
		loss.Backward()
		opt.Step()
		if step == 0 {
			first = loss.Item()
		}
		last = loss.Item()
	}
	nn.Eval(m)
	out := m.Forward(x).Data
	for i, want := range y {
		if got := argmax(out.Data()[2*i : 2*i+2]); got != want {
			t.Errorf("XOR(%v) = %d after training (loss %v → %v)", x.Data.Data()[2*i:2*i+2], got, first, last)
		}
	}
}
