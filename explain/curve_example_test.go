package explain_test

import (
	"fmt"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// Backpropagation is not only for neural networks: any model with
// parameters and a differentiable error trains the same way. Here three
// numbers a, b, c of the curve y = a·x² + b·x + c are fitted to points
// measured from y = 2x² − 3x + 1, with the same four steps — forward pass,
// error, Backward, optimiser step — that train the MNIST network.
func Example_curveFitting() {
	xs := []float32{-2, -1, -0.5, 0, 0.5, 1, 2, 3}
	ys := make([]float32, len(xs))
	for i, x := range xs {
		ys[i] = 2*x*x - 3*x + 1
	}
	x := ag.Const(tensor.New(xs, len(xs)))
	y := ag.Const(tensor.New(ys, len(ys)))
	a, b, c := ag.Param(tensor.Scalar(0)), ag.Param(tensor.Scalar(0)), ag.Param(tensor.Scalar(0))
	opt := optim.Adam([]*ag.Value{a, b, c}, optim.LR(0.1))
	for range 2000 {
		pred := ag.Add(ag.Add(ag.Mul(a, ag.Mul(x, x)), ag.Mul(b, x)), c) // forward pass: a·x² + b·x + c
		loss := ag.Mean(ag.PowScalar(ag.Sub(pred, y), 2))                // error: mean squared difference
		opt.ZeroGrad()
		loss.Backward() // backward pass: d(error)/da, /db, /dc
		opt.Step()      // update: each parameter a small step against its gradient
	}
	fmt.Printf("y = %.2f·x² %+.2f·x %+.2f\n", a.Item(), b.Item(), c.Item())
	// Output: y = 2.00·x² -3.00·x +1.00
}
