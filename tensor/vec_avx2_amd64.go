//go:build amd64 && !noasm

package tensor

// The AVX2 loops of vec_avx2_amd64.s; see vecKernels.

//go:noescape
func addVec256(dst, src *float32, n int)

//go:noescape
func biasReLUVec256(dst, src *float32, n int, b float32)

//go:noescape
func biasAddVec256(dst, src *float32, n int, b float32)

//go:noescape
func sumVec256(x *float32, n int) float32

//go:noescape
func sum64Vec256(x *float32, n int) float64

//go:noescape
func sumSq64Vec256(x *float32, n int, mean float64) float64

//go:noescape
func sumGradXhat256(xs, gs *float32, n int, mean, inv float32) (sg, sgx float64)

//go:noescape
func bnAffine256(dst, src *float32, n int, mean, scale, shift float32)

//go:noescape
func bnBackward256(dst, xs, gs *float32, n int, mean, inv, wi, mg, mgx float32)

//go:noescape
func reluGrad256(dst, grad, y *float32, n int)

//go:noescape
func maxPool2x2Vec256(plane, out *float32, arg *int32, w, oh, ow int) bool
