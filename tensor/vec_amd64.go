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

// addVec does dst[i] += src[i] for a leading multiple of 16 of the
// elements and returns how many it did.
func addVec(dst, src []float32) int {
	n := len(dst) &^ 15
	if !hasVec512 || n == 0 {
		return 0
	}
	_ = src[n-1]
	addVec512(&dst[0], &src[0], n)
	return n
}

// biasVec does dst[i] = src[i] + b, then max(·, 0) with relu, for a
// leading multiple of 16 of the elements and returns how many it did.
func biasVec(dst, src []float32, b float32, relu bool) int {
	n := len(dst) &^ 15
	if !hasVec512 || n == 0 {
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
	n := len(x) &^ 15
	if !hasVec512 || n == 0 {
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
