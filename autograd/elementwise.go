package autograd

import (
	"math"

	"backprop/tensor"
)

// onBackward installs the backward rule of an op's output; values that need
// no gradient keep none, so they hold no references to their inputs.
func (v *Value) onBackward(f func()) {
	if v.requiresGrad {
		v.backward = f
	}
}

// unary builds the output of an element-wise op y = f(x) whose derivative
// dy/dx is given as a function of x and y.
func unary(x *Value, y *tensor.Tensor, dydx func(x, y float32) float32) *Value {
	out := result(y, x)
	out.onBackward(func() {
		xd, yd := x.Data.Data(), y.Data()
		x.addGrad(tensor.FromFunc(func(i int) float32 {
			return out.Grad.Data()[i] * dydx(xd[i], yd[i])
		}, x.Data.Shape()...))
	})
	return out
}

// Add returns a+b with broadcasting.
func Add(a, b *Value) *Value {
	out := result(tensor.Add(a.Data, b.Data), a, b)
	out.onBackward(func() {
		a.addGrad(tensor.SumTo(out.Grad, a.Shape()...)) // d(a+b)/da = 1
		b.addGrad(tensor.SumTo(out.Grad, b.Shape()...)) // d(a+b)/db = 1
	})
	return out
}

// Sub returns a-b with broadcasting.
func Sub(a, b *Value) *Value {
	out := result(tensor.Sub(a.Data, b.Data), a, b)
	out.onBackward(func() {
		a.addGrad(tensor.SumTo(out.Grad, a.Shape()...))             // d(a-b)/da = 1
		b.addGrad(tensor.SumTo(tensor.Neg(out.Grad), b.Shape()...)) // d(a-b)/db = -1
	})
	return out
}

// Mul returns a*b element-wise with broadcasting.
func Mul(a, b *Value) *Value {
	out := result(tensor.Mul(a.Data, b.Data), a, b)
	out.onBackward(func() {
		a.addGrad(tensor.SumTo(tensor.Mul(out.Grad, b.Data), a.Shape()...)) // d(ab)/da = b
		b.addGrad(tensor.SumTo(tensor.Mul(out.Grad, a.Data), b.Shape()...)) // d(ab)/db = a
	})
	return out
}

// Div returns a/b element-wise with broadcasting.
func Div(a, b *Value) *Value {
	out := result(tensor.Div(a.Data, b.Data), a, b)
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
	out := result(tensor.Pow(a.Data, b.Data), a, b)
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
	y := tensor.Map(x.Data, func(v float32) float32 { return float32(math.Pow(float64(v), float64(p))) })
	return unary(x, y, func(x, _ float32) float32 {
		if p == 0 {
			return 0
		}
		return p * float32(math.Pow(float64(x), float64(p-1))) // d(x^p)/dx = p·x^(p-1)
	})
}

// AddScalar returns x+s.
func AddScalar(x *Value, s float32) *Value {
	return unary(x, tensor.AddScalar(x.Data, s), func(_, _ float32) float32 { return 1 }) // d(x+s)/dx = 1
}

// MulScalar returns x·s.
func MulScalar(x *Value, s float32) *Value {
	return unary(x, tensor.Scale(x.Data, s), func(_, _ float32) float32 { return s }) // d(sx)/dx = s
}

// Neg returns -x.
func Neg(x *Value) *Value {
	return unary(x, tensor.Neg(x.Data), func(_, _ float32) float32 { return -1 }) // d(-x)/dx = -1
}

// Exp returns e**x element-wise.
func Exp(x *Value) *Value {
	return unary(x, tensor.Exp(x.Data), func(_, y float32) float32 { return y }) // d(e^x)/dx = e^x
}

// Log returns the natural logarithm of x element-wise.
func Log(x *Value) *Value {
	return unary(x, tensor.Log(x.Data), func(x, _ float32) float32 { return 1 / x }) // d(ln x)/dx = 1/x
}

// Sqrt returns the square root of x element-wise.
func Sqrt(x *Value) *Value {
	return unary(x, tensor.Sqrt(x.Data), func(_, y float32) float32 { return 0.5 / y }) // d√x/dx = 1/(2√x)
}

// Abs returns |x| element-wise; its gradient at 0 is 0, as in PyTorch.
func Abs(x *Value) *Value {
	return unary(x, tensor.Abs(x.Data), func(x, _ float32) float32 { return sign(x) }) // d|x|/dx = sign(x)
}

func sign(x float32) float32 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
