package gemm

// Packing copies a block of op(A) or op(B) into the layout the micro-kernel
// streams through: contiguous panels, one k step after another. Transposed
// operands are read in their stored layout here, so Aᵀ·B and A·Bᵀ never
// materialise a transpose.
//
// The lanes of a ragged last panel beyond the matrix edge are left holding
// stale values (earlier packed data) rather than zeroed: kernels either do
// not read them or compute them into accumulators that are never stored,
// and zero-filling them cost a third of the time of a 1×784·784×256
// product.

// packA packs rows [i0, i0+mc) and k range [p0, p0+kc) of op(A) into dst as
// panels of mr rows: panel r holds, for each p, the mr values A[i][p] of its
// rows, at dst[r*mr*kc + p*mr + i].
func packA(dst, a []float32, lda int, trans bool, i0, mc, p0, kc, mr int, kern *kernel) {
	ir := 0
	if trans && mr == 14 {
		ir = packAT14(dst, a, lda, i0, mc, p0, kc, kern)
	} else if trans && kern.packAT != nil {
		ir = kern.packAT(dst, a, lda, i0, mc, p0, kc)
	}
	for ; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		d := dst[ir*kc : ir*kc+mr*kc]
		if !trans {
			// Row-major A: each row is contiguous in k; transpose it
			// into the panel.
			scatter(d, mr, a, (i0+ir)*lda+p0, lda, rows, kc, kern.scatter)
		} else {
			// Stored Aᵀ (k×m): each k step is a contiguous run of rows.
			for p := 0; p < kc; p++ {
				off := (p0+p)*lda + i0 + ir
				dp := d[p*mr : p*mr+rows]
				for i := range dp {
					dp[i] = a[off+i]
				}
			}
		}
	}
}

// packAT14 packs the full 14-row panels of a block of stored Aᵀ and
// returns how many rows it packed. It walks each stored row once, left to
// right, dealing 14-float pieces out to the panels: long sequential reads
// that the hardware prefetcher follows, where a panel at a time would touch
// a new cache line (and page) on every step.
func packAT14(dst, a []float32, lda, i0, mc, p0, kc int, kern *kernel) int {
	full := mc / 14
	if kern.packAT14 != nil {
		kern.packAT14(dst, a, lda, i0, mc, p0, kc)
		return mc
	}
	if full == 0 {
		return 0
	}
	for p := 0; p < kc; p++ {
		src := a[(p0+p)*lda+i0 : (p0+p)*lda+i0+full*14]
		for r := 0; r < full; r++ {
			d := dst[r*14*kc+p*14:]
			s := src[r*14:]
			// Through locals: a direct array assignment between two
			// slices may overlap, so the compiler would call memmove.
			x, y := *(*[8]float32)(s), *(*[6]float32)(s[8:])
			*(*[8]float32)(d), *(*[6]float32)(d[8:]) = x, y
		}
	}
	return full * 14
}

// packB packs k range [p0, p0+kc) and columns [j0, j0+nc) of op(B) into dst
// as panels of nr columns: panel q holds, for each p, the nr values B[p][j]
// of its columns, at dst[q*nr*kc + p*nr + j].
func packB(dst, b []float32, ldb int, trans bool, p0, kc, j0, nc, nr int, kern *kernel) {
	if !trans && (nr == 16 || nr == 32) {
		// Row-major B: walk each row of the block once, left to right,
		// dealing its nr-column pieces out to the panels; reading along
		// rows keeps the hardware prefetcher and the TLB happy (a panel
		// at a time, a k step is a new page when ldb is large: 16% of a
		// 64×576·576×8192 convolution product, ldb = 8192).
		full := nc / nr
		for p := 0; p < kc; p++ {
			src := b[(p0+p)*ldb+j0 : (p0+p)*ldb+j0+nc]
			if nr == 32 {
				for q := 0; q < full; q++ {
					x, y := *(*[16]float32)(src[q*32:]), *(*[16]float32)(src[q*32+16:])
					*(*[16]float32)(dst[q*32*kc+p*32:]), *(*[16]float32)(dst[q*32*kc+p*32+16:]) = x, y
				}
			} else {
				for q := 0; q < full; q++ {
					x := *(*[16]float32)(src[q*16:])
					*(*[16]float32)(dst[q*16*kc+p*16:]) = x
				}
			}
			if cols := nc - full*nr; cols > 0 {
				d := dst[full*nr*kc+p*nr : full*nr*kc+p*nr+cols]
				for j := range d {
					d[j] = src[full*nr+j]
				}
			}
		}
		return
	}
	for jr := 0; jr < nc; jr += nr {
		cols := min(nr, nc-jr)
		d := dst[jr*kc : jr*kc+nr*kc]
		if !trans {
			// Row-major B: each k step is a contiguous run of columns.
			for p := 0; p < kc; p++ {
				off := (p0+p)*ldb + j0 + jr
				copy(d[p*nr:p*nr+cols], b[off:off+cols])
			}
		} else {
			// Stored Bᵀ (n×k): each column of B is a contiguous row.
			scatter(d, nr, b, (j0+jr)*ldb+p0, ldb, cols, kc, kern.scatter)
		}
	}
}

// scatterFunc is a kernel's fast path for scatter: it handles a leading
// part of the k range and returns how many k steps it did.
type scatterFunc func(dst []float32, ldd int, src []float32, off, lds, rows, kc int) (done int)

// scatter transposes a rows×kc row-major block of src (starting at off, row
// stride lds) into dst, whose k steps are ldd apart:
// dst[p*ldd+i] = src[off+i*lds+p].
func scatter(dst []float32, ldd int, src []float32, off, lds, rows, kc int, sc scatterFunc) {
	done := 0
	if sc != nil {
		done = sc(dst, ldd, src, off, lds, rows, kc)
		if done == kc {
			return
		}
	}
	for i := 0; i < rows; i++ {
		o := off + i*lds
		s := src[o+done : o+kc]
		d := dst[done*ldd+i:]
		for p, v := range s {
			d[p*ldd] = v
		}
	}
}
