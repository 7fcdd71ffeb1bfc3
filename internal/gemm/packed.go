package gemm

import "fmt"

// PackedB is an operand op(B) (k×n) packed once into the panels that the
// micro-kernel streams through, for many products A·op(B) with the same B:
// a recurrent layer multiplies its weight by a new hidden state at every
// time step, and packing the weight each time cost a fifth of the step's
// product (32×256·256×1024). A PackedB belongs to the kernel in use when
// it was packed; it is read-only afterwards, so goroutines may share it.
type PackedB struct {
	kern *kernel
	k, n int
	kcb  int       // depth of the k slices
	np   int       // n rounded up to whole panels
	data []float32 // slice s (k from s·kcb) at s·kcb·np, its panel q at q·kc·nr
}

// PackB packs op(B), k×n (B itself when transB is false, else the
// transpose of the n×k matrix b), with row stride ldb, for
// [PackedB.Sgemm]. Later changes to b do not reach the packed copy.
// PackB panics if a dimension is negative, ldb is too small, or b is too
// short.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	check(false, transB, 0, n, k, 0, max(k, 1), len(b), ldb, 0, max(n, 1))
	kern := active
	p := &PackedB{kern: kern, k: k, n: n, kcb: 1, np: roundUp(n, kern.nr)}
	if k > 0 {
		j := job{k: k}
		p.kcb = j.sliceDepth(kern)
	}
	p.data = make([]float32, k*p.np)
	for pc := 0; pc < k; pc += p.kcb {
		kc := min(p.kcb, k-pc)
		packB(p.data[pc*p.np:], b, ldb, transB, pc, kc, 0, n, kern.nr, kern)
	}
	return p
}

// Sgemm computes C = alpha·A·op(B) + beta·C with the packed op(B), for a
// row-major m×k A (row stride lda) and m×n C (row stride ldc), on up to
// Threads() goroutines. Like Sgemm it reads C only when beta is non-zero,
// and its results do not depend on the thread count, bit for bit. With B
// packed untransposed they are Sgemm's, bit for bit, unless Sgemm splits
// k (k of 2048 or more and at least 8 times m and n); otherwise they may
// differ from Sgemm's in the last bits, as Sgemm takes other paths for
// some shapes of A·Bᵀ. It panics if a dimension or a stride does not fit.
func (p *PackedB) Sgemm(m int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	p.sgemm(Threads(), m, alpha, a, lda, beta, c, ldc)
}

// SgemmSerial is [PackedB.Sgemm] on the calling goroutine alone.
func (p *PackedB) SgemmSerial(m int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	p.sgemm(1, m, alpha, a, lda, beta, c, ldc)
}

func (p *PackedB) sgemm(threads, m int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	if m < 0 {
		panic(fmt.Sprintf("gemm: PackedB.Sgemm(m=%d, n=%d, k=%d): negative dimension", m, p.n, p.k))
	}
	// Only A and C are checked: B, packed, fits by construction.
	check(false, false, m, p.n, p.k, len(a), lda, p.k*p.n, max(p.n, 1), len(c), ldc)
	if m == 0 || p.n == 0 {
		return
	}
	if p.k == 0 || alpha == 0 {
		scaleC(m, p.n, beta, c, ldc)
		return
	}
	kern := p.kern
	mr, nr := kern.mr, kern.nr
	t := max(1, min(threads, 2*m*p.n*p.k/minFlopsPerThread))
	mPanels, nPanels := (m+mr-1)/mr, p.np/nr
	// As job.run splits, but B is shared and already packed, so only A
	// is packed again by each worker.
	splitM := mPanels >= 4*t || mPanels >= nPanels
	if splitM {
		t = min(t, mPanels)
	} else {
		t = min(t, nPanels)
	}
	parallel(t, func(w int) {
		r0, r1, q0, q1 := 0, m, 0, nPanels
		if splitM {
			p0, p1 := share(mPanels, t, w)
			r0, r1 = p0*mr, min(m, p1*mr)
		} else {
			q0, q1 = share(nPanels, t, w)
		}
		aBuf := getBuf(min(kern.mc, roundUp(r1-r0, mr)) * p.kcb)
		defer putBuf(aBuf)
		ap := *aBuf
		for pc := 0; pc < p.k; pc += p.kcb {
			kc := min(p.kcb, p.k-pc)
			bs := p.data[pc*p.np:]
			sb := beta
			if pc > 0 {
				sb = 1
			}
			for ic := r0; ic < r1; ic += kern.mc {
				mc := min(kern.mc, r1-ic)
				packA(ap, a, lda, false, ic, mc, pc, kc, mr, kern)
				for q := q0; q < q1; q++ {
					jr := q * nr
					cols := min(nr, p.n-jr)
					for ir := 0; ir < mc; ir += mr {
						kern.tile(kc, ap[ir*kc:], bs[q*nr*kc:], nr, c[(ic+ir)*ldc+jr:], ldc, min(mr, mc-ir), cols, alpha, sb)
					}
				}
			}
		}
	})
}
