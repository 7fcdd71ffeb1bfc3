//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasVec512 says the AVX-512 loops of vec_amd64.s can run.
var hasVec512 = cpu.X86.HasAVX512F

//go:noescape
func addVec512(dst, src *float32, n int)

//go:noescape
func biasReLUVec512(dst, src *float32, n int, b float32)

//go:noescape
func biasAddVec512(dst, src *float32, n int, b float32)

//go:noescape
func sumVec512(x *float32, n int) float32

//go:noescape
func gatherBias512(dst, src *float32, n, stride int, b float32, mode int)

//go:noescape
func maxPool2x2Vec512(plane, out *float32, arg *int32, w, oh, ow int) bool

// maxPool2x2Vec runs maxPool2x2 with AVX-512 and reports whether it did;
// it does not when the CPU lacks it or a window holds NaN.
func maxPool2x2Vec(plane, out []float32, arg []int32, w, oh, ow int) bool {
	if !hasVec512 || oh == 0 || ow == 0 {
		return false
	}
	_ = plane[(2*oh-1)*w+2*ow-1]
	_ = out[oh*ow-1]
	_ = arg[oh*ow-1]
	return maxPool2x2Vec512(&plane[0], &out[0], &arg[0], w, oh, ow)
}

// vecLen is the leading multiple of 16 of n that the AVX-512 loops take,
// 0 without AVX-512.
func vecLen(n int) int {
	if !hasVec512 {
		return 0
	}
	return n &^ 15
}

// addVec does dst[i] += src[i] for a leading multiple of 16 of the
// elements and returns how many it did.
func addVec(dst, src []float32) int {
	n := vecLen(len(dst))
	if n == 0 {
		return 0
	}
	_ = src[n-1]
	addVec512(&dst[0], &src[0], n)
	return n
}

// biasVec does dst[i] = src[i] + b, then max(·, 0) with relu, for a
// leading multiple of 16 of the elements and returns how many it did.
func biasVec(dst, src []float32, b float32, relu bool) int {
	n := vecLen(len(dst))
	if n == 0 {
		return 0
	}
	_ = src[n-1]
	if relu {
		biasReLUVec512(&dst[0], &src[0], n, b)
	} else {
		biasAddVec512(&dst[0], &src[0], n, b)
	}
	return n
}

// sumLanes returns the sum of x in 16 lanes, as sumLanesGo does.
func sumLanes(x []float32) float32 {
	n := vecLen(len(x))
	if n == 0 {
		return sumLanesGo(x)
	}
	s := sumVec512(&x[0], n)
	for _, v := range x[n:] {
		s += v
	}
	return s
}

//go:noescape
func unpool512(dst, gp, y *float32, arg *int32, n, size int) bool

// unpoolVec does, for every i, dst[arg[i]] = reluMask(+0 + gp[i], y[i])
// where that is not +0 (dst holds +0 elsewhere already), and reports
// whether it did: not when the CPU lacks AVX-512 or an index is outside
// dst, which the caller's own loop then reports.
func unpoolVec(dst, gp, y []float32, arg []int32) bool {
	n := len(gp)
	if !hasVec512 || n == 0 || len(dst) == 0 || len(dst) > 1<<31-1 {
		return false
	}
	_, _ = y[n-1], arg[n-1]
	return unpool512(&dst[0], &gp[0], &y[0], &arg[0], n, len(dst))
}

// gatherBias does biasReLU's strided case (stride > 1) with gathers and
// reports whether it did.
func gatherBias(d, src []float32, stride int, b float32, hasBias, relu bool) bool {
	if !hasVec512 || len(d) == 0 || stride > 1<<20 {
		return false
	}
	_ = src[(len(d)-1)*stride]
	mode := 0
	if hasBias {
		mode |= 1
	}
	if relu {
		mode |= 2
	}
	gatherBias512(&d[0], &src[0], len(d), stride, b, mode)
	return true
}

//go:noescape
func sum64Vec512(x *float32, n int) float64

//go:noescape
func sumSq64Vec512(x *float32, n int, mean float64) float64

//go:noescape
func sumGradXhat512(xs, gs *float32, n int, mean, inv float32) (sg, sgx float64)

//go:noescape
func bnAffine512(dst, src *float32, n int, mean, scale, shift float32)

//go:noescape
func bnBackward512(dst, xs, gs *float32, n int, mean, inv, wi, mg, mgx float32)

// sum64Vec returns Σ x[i] over x's first k elements, in float64, and k.
func sum64Vec(x []float32) (float64, int) {
	k := vecLen(len(x))
	if k == 0 {
		return 0, 0
	}
	return sum64Vec512(&x[0], k), k
}

// sumSq64Vec returns Σ (x[i] - mean)² over x's first k elements, and k.
func sumSq64Vec(x []float32, mean float64) (float64, int) {
	k := vecLen(len(x))
	if k == 0 {
		return 0, 0
	}
	return sumSq64Vec512(&x[0], k, mean), k
}

// sumGradXhatVec is sumGradXhat over the first k elements; it returns k.
func sumGradXhatVec(xs, gs []float32, mean, inv float32) (sg, sgx float64, k int) {
	k = vecLen(len(gs))
	if k == 0 {
		return 0, 0, 0
	}
	_ = xs[k-1]
	sg, sgx = sumGradXhat512(&xs[0], &gs[0], k, mean, inv)
	return sg, sgx, k
}

// bnAffineVec does dst[i] = (src[i] - mean)·scale + shift for the first k
// elements and returns k.
func bnAffineVec(dst, src []float32, mean, scale, shift float32) int {
	k := vecLen(len(dst))
	if k == 0 {
		return 0
	}
	_ = src[k-1]
	bnAffine512(&dst[0], &src[0], k, mean, scale, shift)
	return k
}

// bnBackwardVec does dst[i] = wi·((g[i] - mg) - x̂·mgx) for the first k
// elements and returns k.
func bnBackwardVec(dst, xs, gs []float32, mean, inv, wi, mg, mgx float32) int {
	k := vecLen(len(dst))
	if k == 0 {
		return 0
	}
	_, _ = xs[k-1], gs[k-1]
	bnBackward512(&dst[0], &xs[0], &gs[0], k, mean, inv, wi, mg, mgx)
	return k
}

//go:noescape
func reluGrad512(dst, grad, y *float32, n int)

// reluGradVec does dst[i] = reluMask(g[i], y[i]) for the first k elements
// and returns k.
func reluGradVec(dst, g, y []float32) int {
	k := vecLen(len(dst))
	if k == 0 {
		return 0
	}
	_, _ = g[k-1], y[k-1]
	reluGrad512(&dst[0], &g[0], &y[0], k)
	return k
}
