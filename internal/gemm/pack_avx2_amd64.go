//go:build amd64 && !noasm

package gemm

//go:noescape
func packAT6asm(dst, src *float32, lda, panels, kc int)

// packAT6 is the AVX2 kernel's kernel.packAT: it packs the full 6-row
// panels of a block of stored Aᵀ with packAT6asm and returns how many rows
// it packed; the ragged last panel is left to packA's loop.
func packAT6(dst, a []float32, lda, i0, mc, p0, kc int) int {
	panels := mc / 6
	if kc == 0 || panels == 0 {
		return 0
	}
	_ = a[(p0+kc-1)*lda+i0+panels*6-1]
	_ = dst[panels*6*kc-1]
	packAT6asm(&dst[0], &a[p0*lda+i0], lda, panels, kc)
	return panels * 6
}
