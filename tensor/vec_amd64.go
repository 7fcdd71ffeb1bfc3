//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasVec512 says the AVX-512 loops of vec_amd64.s can run.
var hasVec512 = cpu.X86.HasAVX512F

// vecKernels holds the element-wise loops of one instruction set, each
// taking a multiple of 16 elements: the AVX-512 loops of vec_amd64.s or
// their AVX2 forms in vec_avx2_amd64.s, with the same results bit for bit.
type vecKernels struct {
	add         func(dst, src *float32, n int)
	biasReLU    func(dst, src *float32, n int, b float32)
	biasAdd     func(dst, src *float32, n int, b float32)
	sum         func(x *float32, n int) float32
	sum64       func(x *float32, n int) float64
	sumSq64     func(x *float32, n int, mean float64) float64
	sumGradXhat func(xs, gs *float32, n int, mean, inv float32) (sg, sgx float64)
	bnAffine    func(dst, src *float32, n int, mean, scale, shift float32)
	bnBackward  func(dst, xs, gs *float32, n int, mean, inv, wi, mg, mgx float32)
	reluGrad    func(dst, grad, y *float32, n int)
	maxPool2x2  func(plane, out *float32, arg *int32, w, oh, ow int) bool
}

// vec is the set of loops this CPU runs, chosen once at package init;
// nil when it has neither AVX-512 nor AVX2 with FMA (the loops then stay
// in Go). It is never written afterwards.
var vec = chooseVec(cpu.X86.HasAVX512F, cpu.X86.HasAVX2 && cpu.X86.HasFMA)

func chooseVec(avx512, avx2 bool) *vecKernels {
	switch {
	case avx512:
		return &vecKernels{addVec512, biasReLUVec512, biasAddVec512, sumVec512, sum64Vec512, sumSq64Vec512, sumGradXhat512, bnAffine512, bnBackward512, reluGrad512, maxPool2x2Vec512}
	case avx2:
		return &vecKernels{addVec256, biasReLUVec256, biasAddVec256, sumVec256, sum64Vec256, sumSq64Vec256, sumGradXhat256, bnAffine256, bnBackward256, reluGrad256, maxPool2x2Vec256}
	}
	return nil
}

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

// maxPool2x2Vec runs maxPool2x2 with AVX-512 or AVX2 and reports whether
// it did; it does not when the CPU lacks both or a window holds NaN.
func maxPool2x2Vec(plane, out []float32, arg []int32, w, oh, ow int) bool {
	if vec == nil || oh == 0 || ow == 0 {
		return false
	}
	_ = plane[(2*oh-1)*w+2*ow-1]
	_ = out[oh*ow-1]
	_ = arg[oh*ow-1]
	return vec.maxPool2x2(&plane[0], &out[0], &arg[0], w, oh, ow)
}

// vecLen is the leading multiple of 16 of n that the vector loops take,
// 0 without them.
func vecLen(n int) int {
	if vec == nil {
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
	vec.add(&dst[0], &src[0], n)
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
		vec.biasReLU(&dst[0], &src[0], n, b)
	} else {
		vec.biasAdd(&dst[0], &src[0], n, b)
	}
	return n
}

// sumLanes returns the sum of x in 16 lanes, as sumLanesGo does.
func sumLanes(x []float32) float32 {
	n := vecLen(len(x))
	if n == 0 {
		return sumLanesGo(x)
	}
	s := vec.sum(&x[0], n)
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
	if !(hasVec512 || hasGatherBias256) || len(d) == 0 || stride > 1<<20 {
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
	if !hasVec512 {
		gatherBias256(&d[0], &src[0], len(d), stride, b, mode)
		return true
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
	return vec.sum64(&x[0], k), k
}

// sumSq64Vec returns Σ (x[i] - mean)² over x's first k elements, and k.
func sumSq64Vec(x []float32, mean float64) (float64, int) {
	k := vecLen(len(x))
	if k == 0 {
		return 0, 0
	}
	return vec.sumSq64(&x[0], k, mean), k
}

// sumGradXhatVec is sumGradXhat over the first k elements; it returns k.
func sumGradXhatVec(xs, gs []float32, mean, inv float32) (sg, sgx float64, k int) {
	k = vecLen(len(gs))
	if k == 0 {
		return 0, 0, 0
	}
	_ = xs[k-1]
	sg, sgx = vec.sumGradXhat(&xs[0], &gs[0], k, mean, inv)
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
	vec.bnAffine(&dst[0], &src[0], k, mean, scale, shift)
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
	vec.bnBackward(&dst[0], &xs[0], &gs[0], k, mean, inv, wi, mg, mgx)
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
	vec.reluGrad(&dst[0], &g[0], &y[0], k)
	return k
}

// hasVecLoops reports whether the vector loops run on this CPU.
func hasVecLoops() bool { return vec != nil }
