package nn

import "github.com/backprop-go/backprop/tensor"

// Convert changes the dtype of every parameter of m to dt in place (a
// parameter already of that dtype is left alone), as PyTorch's
// module.double() and module.float(): after Convert(m, tensor.Float64) the
// model computes, and its gradients come, in float64. Gradients are
// dropped. Buffers (BatchNorm's running statistics) stay float32, which
// every layer reads and updates from inputs of either float dtype.
func Convert(m any, dt tensor.DType) {
	for _, p := range Parameters(m) {
		p.Data = p.Data.To(dt)
		p.ZeroGrad()
	}
}
