//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasConv1Vec says conv1Pool (AVX2 and FMA) can run.
var hasConv1Vec = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func conv1Pool(e, o *float32, rs, rows, n int, w, k *float32, pos *int32, out *float32, arg *int32) bool

// conv1PoolVec runs conv1Pool over a padded, column-split plane (see
// direct1Pooled) and reports whether it could and whether it met a NaN.
func conv1PoolVec(eo []float32, rs, rows, n int, w []float32, k *[64]float32, pos []int32, out []float32, arg []int32) (ok, nan bool) {
	if !hasConv1Vec || rows == 0 || n == 0 {
		return hasConv1Vec, false
	}
	// e: (2·rows+2) rows of rs; o after it; each row read to n+8
	_ = eo[2*(2*rows+2)*rs-1]
	_ = w[8]
	_, _, _ = pos[rows*n-1], out[rows*n-1], arg[rows*n-1]
	nan = conv1Pool(&eo[0], &eo[(2*rows+2)*rs], rs, rows, n, &w[0], &k[0], &pos[0], &out[0], &arg[0])
	return true, nan
}
