package autograd

import "github.com/backprop-go/backprop/tensor"

// GELU32 returns exact GELU (GELU(x, false)) computed in float32
// (tensor.GELU32): the same function to within about 1e-7·(1+|x|), several
// times faster; the transformer block's feed-forward uses it. Float64
// values take GELU's float64 path.
func GELU32(x *Value) *Value {
	if !recording(x) {
		return fresh(tensor.GELU32(x.Data), x)
	}
	y, cdf := tensor.GELU32CDF(x.Data) // Φ(x) kept: the backward pass needs no erf
	out := fresh(y, x)
	out.onBackward(func() {
		x.addGradOwned(tensor.GELU32GradCDF(out.Grad, x.Data, cdf)) // d/dx = Φ(x) + x·φ(x)
		tensor.Recycle(cdf)                                         // a backward rule runs once
	})
	return out
}
