//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasGather2 says gather2x8 can run (AVX2).
var hasGather2 = cpu.X86.HasAVX2

//go:noescape
func gather2x8(d, src *float32, n int)

// gather2Vec sets d[j] = src[2j] for the leading j that gather2x8 can do
// (a multiple of 8, reading no further than src's end) and returns how
// many it did.
func gather2Vec(d, src []float32) int {
	k := min(len(d), len(src)/2) &^ 7
	if !hasGather2 || k == 0 {
		return 0
	}
	_, _ = d[k-1], src[2*k-1]
	gather2x8(&d[0], &src[0], k)
	return k
}

//go:noescape
func gather2Rows(dst, src *float32, rows, ow, xlo, n, k, srcStride int)

// gatherRows2 writes, for the output rows oy in [0, rows) of dst (ow
// wide), dst[oy·ow + xlo + j] = src[oy·srcStride + 2j] for j < xhi−xlo
// and zeros in the row's other columns: one kernel tap's rows of the
// columns of a convolution with horizontal stride 2, in one call instead
// of one per row. src is the tap's first source pixel; srcRow is how many
// floats its row holds from there on (the vector loop reads no further).
// It reports whether it did the rows (not without AVX2).
func gatherRows2(dst, src []float32, rows, ow, xlo, xhi, srcRow, srcStride int) bool {
	if !hasGather2 || rows <= 0 {
		return false
	}
	if ow == 0 {
		return true
	}
	n := xhi - xlo
	k := min(n, srcRow/2) &^ 7
	_ = dst[rows*ow-1]
	sp := &dst[0] // not read when there is nothing to copy
	if n > 0 {
		_ = src[(rows-1)*srcStride+max(2*n-2, 2*k-1)]
		sp = &src[0]
	}
	gather2Rows(&dst[0], sp, rows, ow, xlo, n, k, srcStride)
	return true
}

//go:noescape
func scatter2AddRows(dst, src *float32, rows, n, k, dstStride, srcStride int)

// scatterAddRows2 does, for the rows r in [0, rows),
// dst[r·dstStride + 2j] += src[r·srcStride + j] for j < n: one kernel tap's
// rows of col2im for a convolution with horizontal stride 2, in one call
// instead of one per row, each sum the scalar loop's. dstRow is how many
// floats the target row holds from dst on (the vector loop reads and
// writes back no further). It reports whether it did the rows (not
// without AVX2).
func scatterAddRows2(dst, src []float32, rows, n, dstRow, dstStride, srcStride int) bool {
	if !hasGather2 || rows <= 0 {
		return false
	}
	if n <= 0 {
		return true
	}
	k := min(n, dstRow/2) &^ 7
	_ = dst[(rows-1)*dstStride+max(2*n-2, 2*k-1)]
	_ = src[(rows-1)*srcStride+n-1]
	scatter2AddRows(&dst[0], &src[0], rows, n, k, dstStride, srcStride)
	return true
}
