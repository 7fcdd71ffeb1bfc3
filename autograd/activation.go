package autograd

import (
	"math"

	"github.com/backprop-go/backprop/tensor"
)

// The element-wise ops compute their backward rule in a plain loop over
// the upstream gradient g, writing dx = g·dy/dx; no function is called per
// element. unaryGrad (elementwise.go) allocates dx and accumulates it.

// Tanh returns tanh(x) element-wise.
func Tanh(x *Value) *Value {
	out := fresh(tensor.Tanh(x.Data), x)
	unaryGrad(x, out, func(lo int, g, dx []float32) {
		y := out.Data.Data()[lo:][:len(g)]
		for i, v := range g {
			dx[i] = v * (1 - y[i]*y[i]) // d tanh/dx = 1 - tanh²
		}
	})
	return out
}

// Sigmoid returns 1/(1+e**-x) element-wise.
func Sigmoid(x *Value) *Value {
	out := fresh(tensor.Sigmoid(x.Data), x)
	unaryGrad(x, out, func(lo int, g, dx []float32) {
		y := out.Data.Data()[lo:][:len(g)]
		for i, v := range g {
			dx[i] = v * (y[i] * (1 - y[i])) // dσ/dx = σ(1-σ)
		}
	})
	return out
}

// ReLU returns max(x, 0) element-wise.
func ReLU(x *Value) *Value {
	out := fresh(tensor.ReLU(x.Data), x)
	out.onBackward(func() {
		// d relu/dx = [x > 0], and y > 0 exactly where x > 0.
		x.addGradOwned(tensor.ReLUGrad(out.Grad, out.Data))
	})
	return out
}

// LeakyReLU returns x for x > 0 and slope·x otherwise (PyTorch's default
// slope is 0.01).
func LeakyReLU(x *Value, slope float32) *Value {
	y := tensor.Empty(x.Shape()...)
	yd := y.Data()
	for i, v := range x.Data.Data() {
		if v > 0 {
			yd[i] = v
		} else {
			yd[i] = slope * v
		}
	}
	out := fresh(y, x)
	unaryGrad(x, out, func(lo int, g, dx []float32) {
		xd := x.Data.Data()[lo:][:len(g)]
		for i, v := range g {
			if xd[i] > 0 { // d/dx = 1 for x > 0, slope otherwise
				dx[i] = v
			} else {
				dx[i] = v * slope
			}
		}
	})
	return out
}

// ELU returns x for x > 0 and alpha·(e**x - 1) otherwise (PyTorch's default
// alpha is 1).
func ELU(x *Value, alpha float32) *Value {
	y := tensor.Empty(x.Shape()...)
	yd := y.Data()
	for i, v := range x.Data.Data() {
		if v > 0 {
			yd[i] = v
		} else {
			yd[i] = alpha * float32(math.Expm1(float64(v)))
		}
	}
	out := fresh(y, x)
	unaryGrad(x, out, func(lo int, g, dx []float32) {
		xd, yd := x.Data.Data()[lo:][:len(g)], out.Data.Data()[lo:][:len(g)]
		for i, v := range g {
			if xd[i] > 0 { // d/dx = 1 for x > 0, alpha·e^x = y + alpha otherwise
				dx[i] = v
			} else {
				dx[i] = v * (yd[i] + alpha)
			}
		}
	})
	return out
}

// GELU returns x·Φ(x), Φ the standard normal CDF; with tanhApprox it uses
// PyTorch's approximate="tanh" form 0.5x(1+tanh(√(2/π)(x+0.044715x³))).
func GELU(x *Value, tanhApprox bool) *Value {
	y := tensor.Empty(x.Shape()...)
	yd := y.Data()
	for i, v := range x.Data.Data() {
		v := float64(v)
		if tanhApprox {
			yd[i] = float32(0.5 * v * (1 + math.Tanh(geluInner(v))))
		} else {
			yd[i] = float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
		}
	}
	out := fresh(y, x)
	unaryGrad(x, out, func(lo int, g, dx []float32) {
		xd := x.Data.Data()[lo:][:len(g)]
		for i, gv := range g {
			v := float64(xd[i])
			var d float64
			if tanhApprox {
				t := math.Tanh(geluInner(v))
				// d/dx = ½(1+t) + ½x(1-t²)·√(2/π)(1+3·0.044715x²)
				d = 0.5*(1+t) + 0.5*v*(1-t*t)*math.Sqrt(2/math.Pi)*(1+3*0.044715*v*v)
			} else {
				// d/dx = Φ(x) + x·φ(x)
				d = 0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi)
			}
			dx[i] = gv * float32(d)
		}
	})
	return out
}

func geluInner(v float64) float64 { return math.Sqrt(2/math.Pi) * (v + 0.044715*v*v*v) }

// SiLU returns x·σ(x) element-wise (also called swish).
func SiLU(x *Value) *Value {
	y := tensor.Empty(x.Shape()...)
	yd := y.Data()
	for i, v := range x.Data.Data() {
		yd[i] = v * tensor.Sigmoid32(v)
	}
	out := fresh(y, x)
	unaryGrad(x, out, func(lo int, g, dx []float32) {
		xd := x.Data.Data()[lo:][:len(g)]
		for i, v := range g {
			s := tensor.Sigmoid32(xd[i])
			dx[i] = v * (s * (1 + xd[i]*(1-s))) // d(xσ)/dx = σ(1 + x(1-σ))
		}
	})
	return out
}

// Softplus returns log(1+e**(beta·x))/beta, and x itself where
// beta·x > threshold, as torch.nn.functional.softplus (defaults beta 1,
// threshold 20).
func Softplus(x *Value, beta, threshold float32) *Value {
	y := tensor.Empty(x.Shape()...)
	yd := y.Data()
	for i, v := range x.Data.Data() {
		if beta*v > threshold {
			yd[i] = v
		} else {
			yd[i] = float32(math.Log1p(math.Exp(float64(beta*v))) / float64(beta))
		}
	}
	out := fresh(y, x)
	unaryGrad(x, out, func(lo int, g, dx []float32) {
		xd := x.Data.Data()[lo:][:len(g)]
		for i, v := range g {
			if beta*xd[i] > threshold { // d/dx = σ(beta·x), 1 above the threshold
				dx[i] = v
			} else {
				dx[i] = v * tensor.Sigmoid32(beta*xd[i])
			}
		}
	})
	return out
}
