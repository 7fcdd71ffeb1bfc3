package autograd

import "github.com/backprop-go/backprop/tensor"

// GELU32 returns exact GELU (GELU(x, false)) computed in float32
// (tensor.GELU32): the same function to within about 1e-7·(1+|x|), several
// times faster; the transformer block's feed-forward uses it. Float64
// values take GELU's float64 path.
func GELU32(x *Value) *Value {
	out := fresh(tensor.GELU32(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.GELU32Grad(out.Grad, x.Data)) // d/dx = Φ(x) + x·φ(x)
	})
	return out
}
