package autograd

import "github.com/backprop-go/backprop/tensor"

// WrongExp is Exp whose backward rule is the true one times factor: with a
// factor of 1.01, the deliberately wrong rule that the float64 gradient
// check must catch. It exists in tests only.
func WrongExp(x *Value, factor float64) *Value {
	out := fresh(tensor.Exp(x.Data), x)
	out.onBackward(func() {
		g := tensor.ExpGrad(out.Grad, out.Data) // d(e^x)/dx = e^x, then made wrong
		x.addGradOwned(tensor.Mul(g, tensor.ScalarOf(g.DType(), factor)))
	})
	return out
}
