//go:build amd64 && !noasm

package gemm

//go:noescape
func transpose8(rows *[8]*float32, n int, dst *float32, ldd int)

// scatter256 transposes 8×8 blocks with AVX2 in-lane shuffles, 8 rows of
// src at a time, for the k steps that fill whole blocks. Rows past the end
// are clamped to the last row, and every k step is stored as 8 floats, so
// a group of fewer than 8 rows also writes lanes past its rows: with
// ldd ≥ 8 (a multiple of 8) those are the panel's padding lanes, which
// hold stale values anyway (see pack.go); with ldd < 8 and one group they
// are the next k step's first lanes, which that step's store overwrites,
// so the last store of all must fit in dst. Other strides are left to the
// scalar loop.
func scatter256(dst []float32, ldd int, src []float32, off, lds, rows, kc int) int {
	n := kc / 8
	if n == 0 || rows == 0 || (ldd%8 != 0 && rows > ldd) || (ldd%8 != 0 && ldd > 8) {
		return 0
	}
	if ldd < 8 && (8*n-1)*ldd+8 > len(dst) {
		// The last block's spill would pass the end: leave it to Go.
		if n--; n == 0 {
			return 0
		}
	}
	for i0 := 0; i0 < rows; i0 += 8 {
		r := min(8, rows-i0)
		_ = src[off+(i0+r-1)*lds+8*n-1]
		if ldd >= 8 {
			_ = dst[(8*n-1)*ldd+i0+7]
		}
		var ptrs [8]*float32
		for i := range ptrs {
			ptrs[i] = &src[off+(i0+min(i, r-1))*lds]
		}
		transpose8(&ptrs, n, &dst[i0], ldd)
	}
	return 8 * n
}
