package autograd

import "github.com/backprop-go/backprop/tensor"

// onBackward installs the backward rule of an op's output; values that need
// no gradient keep none, so they hold no references to their inputs.
func (v *Value) onBackward(f func()) {
	if v.requiresGrad {
		v.backward = f
	}
}

// Add returns a+b with broadcasting.
func Add(a, b *Value) *Value {
	out := fresh(tensor.Add(a.Data, b.Data), a, b)
	out.onBackward(func() {
		a.addGrad(tensor.SumTo(out.Grad, a.Shape()...)) // d(a+b)/da = 1
		b.addGrad(tensor.SumTo(out.Grad, b.Shape()...)) // d(a+b)/db = 1
	})
	return out
}

// Sub returns a-b with broadcasting.
func Sub(a, b *Value) *Value {
	out := fresh(tensor.Sub(a.Data, b.Data), a, b)
	out.onBackward(func() {
		a.addGrad(tensor.SumTo(out.Grad, a.Shape()...))             // d(a-b)/da = 1
		b.addGrad(tensor.SumTo(tensor.Neg(out.Grad), b.Shape()...)) // d(a-b)/db = -1
	})
	return out
}

// Mul returns a*b element-wise with broadcasting.
func Mul(a, b *Value) *Value {
	out := fresh(tensor.Mul(a.Data, b.Data), a, b)
	out.onBackward(func() {
		a.addGrad(tensor.SumTo(tensor.Mul(out.Grad, b.Data), a.Shape()...)) // d(ab)/da = b
		b.addGrad(tensor.SumTo(tensor.Mul(out.Grad, a.Data), b.Shape()...)) // d(ab)/db = a
	})
	return out
}

// Div returns a/b element-wise with broadcasting.
func Div(a, b *Value) *Value {
	out := fresh(tensor.Div(a.Data, b.Data), a, b)
	out.onBackward(func() {
		ga := tensor.Div(out.Grad, b.Data)
		a.addGrad(tensor.SumTo(ga, a.Shape()...)) // d(a/b)/da = 1/b
		if b.requiresGrad {
			// d(a/b)/db = -a/b², so gb = -(g/b)·(a/b)
			gb := tensor.Neg(tensor.Mul(ga, out.Data))
			b.addGrad(tensor.SumTo(gb, b.Shape()...))
		}
	})
	return out
}

// Pow returns a**b element-wise with broadcasting (both operands tensors).
func Pow(a, b *Value) *Value {
	out := fresh(tensor.Pow(a.Data, b.Data), a, b)
	out.onBackward(func() {
		if a.requiresGrad {
			// d(a^b)/da = b·a^(b-1)
			da := tensor.Mul(out.Grad, tensor.Mul(b.Data, tensor.Pow(a.Data, tensor.AddScalar(b.Data, -1))))
			a.addGrad(tensor.SumTo(da, a.Shape()...))
		}
		if b.requiresGrad {
			// d(a^b)/db = a^b·ln(a)
			db := tensor.Mul(out.Grad, tensor.Mul(out.Data, tensor.Log(a.Data)))
			b.addGrad(tensor.SumTo(db, b.Shape()...))
		}
	})
	return out
}

// PowScalar returns x**p element-wise.
func PowScalar(x *Value, p float32) *Value {
	out := fresh(tensor.PowScalar(x.Data, p), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.PowScalarGrad(out.Grad, x.Data, p)) // d(x^p)/dx = p·x^(p-1)
	})
	return out
}

// AddScalar returns x+s.
func AddScalar(x *Value, s float32) *Value {
	out := fresh(tensor.AddScalar(x.Data, s), x)
	out.onBackward(func() {
		x.addGradOwned(out.Grad.Clone()) // d(x+s)/dx = 1
	})
	return out
}

// MulScalar returns x·s.
func MulScalar(x *Value, s float32) *Value {
	out := fresh(tensor.Scale(x.Data, s), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.Scale(out.Grad, s)) // d(sx)/dx = s
	})
	return out
}

// Neg returns -x.
func Neg(x *Value) *Value {
	out := fresh(tensor.Neg(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.NegGrad(out.Grad)) // d(-x)/dx = -1
	})
	return out
}

// Exp returns e**x element-wise.
func Exp(x *Value) *Value {
	out := fresh(tensor.Exp(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.ExpGrad(out.Grad, out.Data)) // d(e^x)/dx = e^x
	})
	return out
}

// Log returns the natural logarithm of x element-wise.
func Log(x *Value) *Value {
	out := fresh(tensor.Log(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.LogGrad(out.Grad, x.Data)) // d(ln x)/dx = 1/x
	})
	return out
}

// Sqrt returns the square root of x element-wise.
func Sqrt(x *Value) *Value {
	out := fresh(tensor.Sqrt(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.SqrtGrad(out.Grad, out.Data)) // d√x/dx = 1/(2√x)
	})
	return out
}

// Abs returns |x| element-wise; its gradient at 0 is 0, as in PyTorch.
func Abs(x *Value) *Value {
	out := fresh(tensor.Abs(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.AbsGrad(out.Grad, x.Data)) // d|x|/dx = sign(x)
	})
	return out
}
