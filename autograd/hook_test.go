package autograd

import (
	"slices"
	"testing"

	"github.com/backprop-go/backprop/tensor"
)

// TestBackwardReleaseHookReportsFinalGradients: on a two-layer chain with
// a weight used twice, every parameter is reported once, the last layer's
// before the first's, each with its gradient already final (equal to what
// plain BackwardRelease gives), and an unused parameter is not reported.
func TestBackwardReleaseHookReportsFinalGradients(t *testing.T) {
	build := func() (loss *Value, params []*Value) {
		x := Const(tensor.New([]float32{1, -2, 3, 0.5, 1, -1}, 2, 3))
		w1 := Param(tensor.New([]float32{0.1, 0.2, -0.3, 0.4, 0.5, -0.6}, 3, 2))
		w2 := Param(tensor.New([]float32{0.7, -0.8, 0.9, 1.0}, 2, 2))
		unused := Param(tensor.Ones(2))
		h := Tanh(MatMul(x, w1))
		y := MatMul(Add(MatMul(h, w2), MatMul(h, w2)), w2) // w2 three times
		return Mean(Mul(y, y)), []*Value{w1, w2, unused}
	}
	loss, want := build()
	loss.BackwardRelease()
	loss, params := build()
	var order []int
	var atReady [][]float32
	loss.BackwardReleaseHook(func(p *Value) {
		i := slices.Index(params, p)
		if i < 0 {
			return // a Const leaf
		}
		order = append(order, i)
		atReady = append(atReady, slices.Clone(p.Grad.Data()))
	})
	if !slices.Equal(order, []int{1, 0}) {
		t.Fatalf("reported parameters %v, want [1 0] (w2 then w1, the unused one never)", order)
	}
	for k, i := range order {
		if !slices.Equal(atReady[k], want[i].Grad.Data()) {
			t.Errorf("parameter %d: gradient %v when reported, %v in the end", i, atReady[k], want[i].Grad.Data())
		}
		if !slices.Equal(params[i].Grad.Data(), want[i].Grad.Data()) {
			t.Errorf("parameter %d: gradient %v after the hooked pass, %v after BackwardRelease", i, params[i].Grad.Data(), want[i].Grad.Data())
		}
	}
}
