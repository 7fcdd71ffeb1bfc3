//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasConv1Vec says conv1Pool (AVX2 and FMA) can run.
var hasConv1Vec = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func conv1Pool(e, o *float32, rs, rows, pw int, w, k *float32, pos *int32, out *float32, arg *int32, last *float32, lastArg *int32, tail int) bool

// conv1PoolVec runs conv1Pool over a padded, column-split plane (see
// direct1Pooled) into pooled and arg (rows×pw), the rows whose last
// vector would write past the plane through tp and ta (rows·pw+8 each),
// and reports whether it could and whether it met a NaN.
func conv1PoolVec(eo []float32, rs, rows, pw int, w []float32, k *[64]float32, pos []int32, pooled []float32, arg []int32, tp []float32, ta []int32) (ok, nan bool) {
	if !hasConv1Vec || rows == 0 || pw == 0 {
		return hasConv1Vec, false
	}
	n8 := (pw + 7) &^ 7
	if rs < n8+8 {
		panic("tensor: conv1Pool's rows too short")
	}
	// the rows whose vectors stay inside the plane
	direct := 0
	if rows*pw >= n8 {
		direct = min(rows, (rows*pw-n8)/pw+1)
	}
	tail := rows - direct
	// e: (2·rows+2) rows of rs; o after it
	_ = eo[2*(2*rows+2)*rs-1]
	_ = w[8]
	_, _, _ = pos[rows*pw+7], pooled[rows*pw-1], arg[rows*pw-1]
	_, _ = tp[tail*pw+7], ta[tail*pw+7]
	nan = conv1Pool(&eo[0], &eo[(2*rows+2)*rs], rs, rows, pw, &w[0], &k[0], &pos[0], &pooled[0], &arg[0], &tp[0], &ta[0], tail)
	copy(pooled[direct*pw:][:tail*pw], tp)
	copy(arg[direct*pw:][:tail*pw], ta)
	return true, nan
}
