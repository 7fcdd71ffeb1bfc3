package autograd

import "github.com/backprop-go/backprop/tensor"

// The activations compute their values and their gradients with package
// tensor's element-wise functions; each rule's derivative is given beside
// it and spelt out in tensor.

// Tanh returns tanh(x) element-wise.
func Tanh(x *Value) *Value {
	out := fresh(tensor.Tanh(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.TanhGrad(out.Grad, out.Data)) // d tanh/dx = 1 - tanh²
	})
	return out
}

// Sigmoid returns 1/(1+e**-x) element-wise.
func Sigmoid(x *Value) *Value {
	out := fresh(tensor.Sigmoid(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.SigmoidGrad(out.Grad, out.Data)) // dσ/dx = σ(1-σ)
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
	out := fresh(tensor.LeakyReLU(x.Data, slope), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.LeakyReLUGrad(out.Grad, x.Data, slope)) // d/dx = 1 for x > 0, slope otherwise
	})
	return out
}

// ELU returns x for x > 0 and alpha·(e**x - 1) otherwise (PyTorch's default
// alpha is 1).
func ELU(x *Value, alpha float32) *Value {
	out := fresh(tensor.ELU(x.Data, alpha), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.ELUGrad(out.Grad, x.Data, out.Data, alpha)) // d/dx = 1 for x > 0, y + alpha otherwise
	})
	return out
}

// GELU returns x·Φ(x), Φ the standard normal CDF; with tanhApprox it uses
// PyTorch's approximate="tanh" form 0.5x(1+tanh(√(2/π)(x+0.044715x³))).
func GELU(x *Value, tanhApprox bool) *Value {
	out := fresh(tensor.GELU(x.Data, tanhApprox), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.GELUGrad(out.Grad, x.Data, tanhApprox)) // d/dx = Φ(x) + x·φ(x)
	})
	return out
}

// SiLU returns x·σ(x) element-wise (also called swish).
func SiLU(x *Value) *Value {
	out := fresh(tensor.SiLU(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.SiLUGrad(out.Grad, x.Data)) // d(xσ)/dx = σ(1 + x(1-σ))
	})
	return out
}

// Softplus returns log(1+e**(beta·x))/beta, and x itself where
// beta·x > threshold, as torch.nn.functional.softplus (defaults beta 1,
// threshold 20).
func Softplus(x *Value, beta, threshold float32) *Value {
	out := fresh(tensor.Softplus(x.Data, beta, threshold), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.SoftplusGrad(out.Grad, x.Data, beta, threshold)) // d/dx = σ(beta·x), 1 above the threshold
	})
	return out
}
