package autograd

import (
	"math"

	"backprop/tensor"
)

// Tanh returns tanh(x) element-wise.
func Tanh(x *Value) *Value {
	return unary(x, tensor.Tanh(x.Data), func(_, y float32) float32 { return 1 - y*y }) // d tanh/dx = 1 - tanh²
}

// Sigmoid returns 1/(1+e**-x) element-wise.
func Sigmoid(x *Value) *Value {
	return unary(x, tensor.Sigmoid(x.Data), func(_, y float32) float32 { return y * (1 - y) }) // dσ/dx = σ(1-σ)
}

// ReLU returns max(x, 0) element-wise.
func ReLU(x *Value) *Value {
	return unary(x, tensor.ReLU(x.Data), func(x, _ float32) float32 { return step(x) }) // d relu/dx = [x > 0]
}

// LeakyReLU returns x for x > 0 and slope·x otherwise (PyTorch's default
// slope is 0.01).
func LeakyReLU(x *Value, slope float32) *Value {
	y := tensor.Map(x.Data, func(v float32) float32 {
		if v > 0 {
			return v
		}
		return slope * v
	})
	return unary(x, y, func(x, _ float32) float32 { // d/dx = 1 for x > 0, slope otherwise
		if x > 0 {
			return 1
		}
		return slope
	})
}

// ELU returns x for x > 0 and alpha·(e**x - 1) otherwise (PyTorch's default
// alpha is 1).
func ELU(x *Value, alpha float32) *Value {
	y := tensor.Map(x.Data, func(v float32) float32 {
		if v > 0 {
			return v
		}
		return alpha * float32(math.Expm1(float64(v)))
	})
	return unary(x, y, func(x, y float32) float32 { // d/dx = 1 for x > 0, alpha·e^x = y + alpha otherwise
		if x > 0 {
			return 1
		}
		return y + alpha
	})
}

// GELU returns x·Φ(x), Φ the standard normal CDF; with tanhApprox it uses
// PyTorch's approximate="tanh" form 0.5x(1+tanh(√(2/π)(x+0.044715x³))).
func GELU(x *Value, tanhApprox bool) *Value {
	if tanhApprox {
		y := tensor.Map(x.Data, func(v float32) float32 {
			return float32(0.5 * float64(v) * (1 + math.Tanh(geluInner(float64(v)))))
		})
		return unary(x, y, func(x, _ float32) float32 {
			v := float64(x)
			t := math.Tanh(geluInner(v))
			// d/dx = ½(1+t) + ½x(1-t²)·√(2/π)(1+3·0.044715x²)
			return float32(0.5*(1+t) + 0.5*v*(1-t*t)*math.Sqrt(2/math.Pi)*(1+3*0.044715*v*v))
		})
	}
	y := tensor.Map(x.Data, func(v float32) float32 {
		return float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	})
	return unary(x, y, func(x, _ float32) float32 {
		v := float64(x)
		// d/dx = Φ(x) + x·φ(x)
		return float32(0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi))
	})
}

func geluInner(v float64) float64 { return math.Sqrt(2/math.Pi) * (v + 0.044715*v*v*v) }

// SiLU returns x·σ(x) element-wise (also called swish).
func SiLU(x *Value) *Value {
	y := tensor.Map(x.Data, func(v float32) float32 { return v * tensor.Sigmoid32(v) })
	return unary(x, y, func(x, _ float32) float32 {
		s := tensor.Sigmoid32(x)
		return s * (1 + x*(1-s)) // d(xσ)/dx = σ(1 + x(1-σ))
	})
}

// Softplus returns log(1+e**(beta·x))/beta, and x itself where
// beta·x > threshold, as torch.nn.functional.softplus (defaults beta 1,
// threshold 20).
func Softplus(x *Value, beta, threshold float32) *Value {
	y := tensor.Map(x.Data, func(v float32) float32 {
		if beta*v > threshold {
			return v
		}
		return float32(math.Log1p(math.Exp(float64(beta*v))) / float64(beta))
	})
	return unary(x, y, func(x, _ float32) float32 { // d/dx = σ(beta·x), 1 above the threshold
		if beta*x > threshold {
			return 1
		}
		return tensor.Sigmoid32(beta * x)
	})
}

func step(x float32) float32 {
	if x > 0 {
		return 1
	}
	return 0
}
