package gemm

import (
	"math/bits"
	"sync"
)

// job is one Sgemm call.
type job struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
}

// minFlopsPerThread keeps small products on fewer goroutines: below this
// much work per thread the fork and join cost more than they save.
// With the persistent, polling workers (threads.go) that is little: on 2
// threads 128³ and 64×256·128 (4 MFLOP) run at 1.7× the speed of 1 thread
// and a W-MLP training step at 1.3×; before those workers, 4 MFLOP ran at
// half speed and the bound was 8 MFLOP.
const minFlopsPerThread = 1 << 20

// dotMinPerThread is the fewest elements of Bᵀ a worker of runDot takes:
// a product with one to four rows of A streams all of Bᵀ from memory for
// few flops (a batch-1 linear layer, 1×3136·3136×128: 0.8 MFLOP for 1.6
// MB), so its speed is the bandwidth of the cores that read it, and a
// second core pays off long before minFlopsPerThread would allow it.
const dotMinPerThread = 1 << 16

// directMaxM is the largest m for which B is read in place instead of being
// packed: with few rows of A each B element is used only a few times, so
// packing B costs a large share of the multiplication. Up to 128 rows the
// kernel's strided reads of B (served from L2) cost less than the packing
// pass (measured, 1 thread: 64×784·784×256 234 -> 164 µs, 128³ 33 -> 29
// µs, 32×784·784×256 143 -> 83 µs); for large matrices the packed panels
// win again (2048³ on 1 thread fell from 144 to 98 GFLOP/s read in place).
const directMaxM = 128

// rowMaxM is the largest m for which the row kernel (kernel.row) is used.
const rowMaxM = 2

// dotMaxM is the largest m for which A·Bᵀ is computed as dot products on
// the operands in place (kernel.dot) instead of by packing.
const dotMaxM = 4

// run computes the product with kernel kern on up to t goroutines.
//
// Loop nest (GotoBLAS): for each nc-wide column block of B and each kc-deep
// slice of k, B's kc×nc block is packed (or, with few rows of A, read in
// place); then mc×kc blocks of A are packed and the micro-kernel sweeps
// them. Each worker owns a range of rows of C or a range of column panels
// and packs what it reads; every worker visits the k slices in order, so
// the summation order of each C element does not depend on the split.
func (j *job) run(kern *kernel, t int) {
	mr, nr := kern.mr, kern.nr
	if kern.dot != nil && !j.transA && j.transB && j.m <= dotMaxM {
		j.runDot(kern, max(1, min(t, j.n*j.k/dotMinPerThread)))
		return
	}
	flops := 2 * j.m * j.n * j.k
	t = max(1, min(t, flops/minFlopsPerThread))
	if j.k >= splitKMin && j.k >= splitKRatio*max(j.m, j.n) {
		j.runSplitK(kern, t)
		return
	}
	if j.useT(kern) {
		j.runT(kern, t)
		return
	}
	mPanels := (j.m + mr - 1) / mr
	nPanels := (j.n + nr - 1) / nr
	// Split rows unless there are too few row panels to go round, or C is
	// at least as wide as it is tall with enough column panels to go
	// round (then all of A, no larger than B, is what each worker packs
	// again). Every worker packs the blocks it uses itself: a block packed
	// by one core and read by the other costs more in cache-line transfers
	// than packing it twice (measured on 2 threads: 512²-2048² split by
	// columns 4-8% faster than by rows with a shared B block; 128³ A·Bᵀ by
	// rows 140 -> 220-240 GFLOP/s without sharing; 12544×288·288×64 level).
	splitM := mPanels >= 4*t || mPanels >= nPanels
	if nPanels >= 4*t && j.n >= j.m {
		splitM = false
	}
	if splitM {
		t = min(t, mPanels)
	} else {
		t = min(t, nPanels)
	}

	// Split k into equal slices no deeper than kern.kc (a multiple of 16 for
	// the transposing copies), rather than full slices and a thin tail that
	// would pay the C update for little work.
	kcb, direct := j.blocking(kern)

	parallel(t, func(w int) {
		r0, r1, c0, c1 := 0, j.m, 0, j.n
		if splitM {
			p0, p1 := share(mPanels, t, w)
			r0, r1 = p0*mr, min(j.m, p1*mr)
		} else {
			p0, p1 := share(nPanels, t, w)
			c0, c1 = p0*nr, min(j.n, p1*nr)
		}
		j.work(kern, r0, r1, c0, c1, kcb, direct)
	})
}

// blocking returns the depth of the k slices and whether B is read in
// place rather than packed. Both depend only on the shape and the kernel,
// never on the thread count, so neither does the order of the sums.
func (j *job) blocking(kern *kernel) (kcb int, direct bool) {
	kcb = j.sliceDepth(kern)
	direct = !j.transB && j.m <= directMaxM && kern.inPlaceB(j.ldb, kcb)
	return kcb, direct
}

// sliceDepth returns the depth of the k slices: equal slices no deeper
// than kern.kc (a multiple of 16 for the transposing copies), rather than
// full slices and a thin tail that would pay the C update for little work.
// It depends on k alone, so a product and its transpose (W·cols and
// colsᵀ·Wᵀ, say) are summed over the same slices and give the same bits.
// (Slicing k at 256 where C has a side of at most 64 gained 4-14% on some
// such products, 64×576·576×512 and 4608×512·512×32, and lost 3-7% on
// others, 4096×1024·1024×64 and 12544×288·288×64: not kept.)
func (j *job) sliceDepth(kern *kernel) int {
	slices := (j.k + kern.kc - 1) / kern.kc
	return min(j.k, roundUp((j.k+slices-1)/slices, 16))
}

// splitKMin and splitKRatio pick the products whose k is split into
// chunks (runSplitK): k long, and long beside both sides of C. The test
// depends only on the shape, never on the thread count.
const (
	splitKMin   = 2048
	splitKRatio = 8
)

// splitKDepth is about how deep two chunks of a split k are together.
const splitKDepth = 8192

// runSplitK computes a product whose C is small beside its k (a weight
// gradient summed over a batch: 64×288 over k = 12544, 32×9 over 50176)
// by splitting k into a fixed, even number of chunks that depends only on
// k. Each chunk's product goes to its own partial C, computed by one
// worker alone (no shared packing, every operand packed once);
// the partials are then summed in chunk order. Splitting C's tiles instead
// leaves workers unbalanced (9 column panels over 2) or idle (32×9 is one
// tile), and every worker packs all of the other operand.
func (j *job) runSplitK(kern *kernel, t int) {
	nch := 2 * ((j.k + splitKDepth - 1) / splitKDepth)
	mn := j.m * j.n
	part := getBuf(nch * mn)
	defer putBuf(part)
	p := *part
	parallel(min(t, nch), func(w int) {
		c0, c1 := share(nch, min(t, nch), w)
		for c := c0; c < c1; c++ {
			k0, k1 := j.k*c/nch, j.k*(c+1)/nch
			sub := *j
			sub.k = k1 - k0
			sub.alpha, sub.beta = 1, 0
			sub.c, sub.ldc = p[c*mn:(c+1)*mn], j.n
			if j.transA {
				sub.a = j.a[k0*j.lda:]
			} else {
				sub.a = j.a[k0:]
			}
			if j.transB {
				sub.b = j.b[k0:]
			} else {
				sub.b = j.b[k0*j.ldb:]
			}
			sub.serial(kern)
		}
	})
	// C = alpha·(((P0 + P1) + P2) + …) + beta·C, element by element, so
	// the split of this loop does not matter either.
	tc := max(1, min(t, mn*nch/(1<<16)))
	parallel(tc, func(w int) {
		e0, e1 := share(mn, tc, w)
		acc := p[e0:e1]
		for c := 1; c < nch; c++ {
			q := p[c*mn+e0 : c*mn+e1]
			for i := range acc {
				acc[i] += q[i]
			}
		}
		for e := e0; e < e1; e++ {
			v := j.alpha * p[e]
			ci := e/j.n*j.ldc + e%j.n
			if j.beta != 0 {
				v += j.beta * j.c[ci]
			}
			j.c[ci] = v
		}
	})
}

// serial computes the product on the calling goroutine alone.
func (j *job) serial(kern *kernel) {
	if kern.dot != nil && !j.transA && j.transB && j.m*j.n <= dotMaxMN {
		// Both operands are read along k in place: no packing, which
		// would cost more than the few dot products themselves.
		j.runDot(kern, 1)
		return
	}
	if j.useT(kern) {
		j.runT(kern, 1)
		return
	}
	kcb, direct := j.blocking(kern)
	j.work(kern, 0, j.m, 0, j.n, kcb, direct)
}

// dotMaxMN is the largest C (in elements) that serial computes as dot
// products of A's and Bᵀ's rows read in place.
const dotMaxMN = 512

// tLanes is the width of the packed A panels of runT, in rows of A.
const tLanes = 32

// tMaxKC is the deepest k slice of runT. Its tiles pay a transpose in
// registers and an update of C per slice, so slices are deep; the packed
// A panels, at most 4·32·tMaxKC floats, stay in L2.
const tMaxKC = 1024

// useT reports whether A·Bᵀ takes runT: A has too many rows for dot
// products but no more than Bᵀ, so that transposing Bᵀ into packed
// panels, as the general path does, would cost a large share of the
// product (64×784·784×256: 36 of 195 µs), and k is deep enough to repay
// runT's transposing stores of C (measured: at 128³ level with the
// general path on 1 thread, 15% faster on 2). The test depends only on
// the shape, so the summation order never depends on the thread count.
//
// A stored transposed (Aᵀ·Bᵀ, a convolution's colsᵀ·Wᵀ with few positions:
// 32×4608·4608×512) takes it too where the kernel allows (kernel.tileTT):
// its panels are then plain copies of Aᵀ's rows, and the large Bᵀ is not
// transposed at all.
func (j *job) useT(kern *kernel) bool {
	return kern.tileT != nil && (!j.transA || kern.tileTT) && j.transB && j.m > dotMaxM && j.m <= directMaxM &&
		j.n >= j.m && j.k >= 128
}

// runT computes C = alpha*A·Bᵀ + beta*C as transposed tiles (kern.tileT):
// A's rows are packed into panels of tLanes and the mr-row blocks of Bᵀ
// are read in place. Workers split the panels when there are enough to go
// round, otherwise the blocks; either way each packs the panels it uses
// itself: a panel packed by one core and read by the other cost more in
// cache-line transfers than packing it twice (64×256·256×128 on 2 threads
// ran slower than on 1 with shared panels). Every element of C is summed
// over the same k slices in the same order whatever the split.
func (j *job) runT(kern *kernel, t int) {
	panels := (j.m + tLanes - 1) / tLanes
	blocks := (j.n + kern.mr - 1) / kern.mr
	byPanel := panels >= t
	if !byPanel {
		t = min(t, blocks)
	}
	slices := (j.k + tMaxKC - 1) / tMaxKC
	kcb := min(j.k, roundUp((j.k+slices-1)/slices, 16))
	if j.transA {
		// Aᵀ·Bᵀ is summed over the slices of the general path, so that it
		// gives the bits of its transpose B·A computed there.
		kcb = j.sliceDepth(kern)
	}
	parallel(t, func(w int) {
		q0, q1, b0, b1 := 0, panels, 0, blocks
		if byPanel {
			q0, q1 = share(panels, t, w)
		} else {
			b0, b1 = share(blocks, t, w)
		}
		if q1 == q0 || b1 == b0 {
			return
		}
		r0, rows := q0*tLanes, min(j.m, q1*tLanes)-q0*tLanes
		ap := getBuf((q1 - q0) * tLanes * kcb)
		defer putBuf(ap)
		for pc := 0; pc < j.k; pc += kcb {
			kc := min(kcb, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			// A's rows are the panels' lanes: a transposing copy of A, or
			// a plain one of stored Aᵀ.
			packB(*ap, j.a, j.lda, !j.transA, pc, kc, r0, rows, tLanes, kern)
			for blk := b0; blk < b1; blk++ {
				// Block-major, so a block of Bᵀ is reused from L1 across
				// the panels.
				c0 := blk * kern.mr
				for q := q0; q < q1; q++ {
					kern.tileT(kc, (*ap)[(q-q0)*tLanes*kc:], j.b[c0*j.ldb+pc:], j.ldb, j.c[q*tLanes*j.ldc+c0:], j.ldc,
						min(kern.mr, j.n-c0), min(tLanes, j.m-q*tLanes), j.alpha, beta)
				}
			}
		}
	})
}

// work computes C[r0:r1, c0:c1].
func (j *job) work(kern *kernel, r0, r1, c0, c1, kcb int, direct bool) {
	nr := kern.nr
	aBuf := getBuf(min(kern.mc, roundUp(r1-r0, kern.mr)) * kcb)
	defer putBuf(aBuf)
	bBuf := getBuf(kcb * roundUp(min(kern.nc, c1-c0), nr))
	defer putBuf(bBuf)
	bp := *bBuf
	for jc := c0; jc < c1; jc += kern.nc {
		nc := min(kern.nc, c1-jc)
		for pc := 0; pc < j.k; pc += kcb {
			kc := min(kcb, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			if !direct {
				packB(bp, j.b, j.ldb, j.transB, pc, kc, jc, nc, nr, kern)
			} else if nc%nr != 0 {
				// B is read in place; only its ragged last panel is packed.
				last := nc - nc%nr
				packB(bp[last*kc:], j.b, j.ldb, false, pc, kc, jc+last, nc-last, nr, kern)
			}
			j.block(kern, *aBuf, bp, direct, r0, r1, jc, nc, pc, kc, beta)
		}
	}
}

// runDot computes C = alpha*A·Bᵀ + beta*C with the dot-product kernel,
// splitting the columns of C over up to t goroutines.
func (j *job) runDot(kern *kernel, t int) {
	tiles := (j.n + kern.dotC - 1) / kern.dotC
	t = min(t, tiles)
	parallel(t, func(w int) {
		q0, q1 := share(tiles, t, w)
		for i := 0; i < j.m; i += kern.dotR {
			rows := min(kern.dotR, j.m-i)
			for q := q0; q < q1; q++ {
				c0 := q * kern.dotC
				cols := min(kern.dotC, j.n-c0)
				kern.dot(j.k, j.a[i*j.lda:], j.lda, j.b[c0*j.ldb:], j.ldb, j.c[i*j.ldc+c0:], j.ldc, rows, cols, j.alpha, j.beta)
			}
		}
	})
}

// block computes rows [r0, r1) and columns [jc, jc+nc) of C for the k
// slice [pc, pc+kc), given the packed B block bp of those columns.
func (j *job) block(kern *kernel, ap, bp []float32, direct bool, r0, r1, jc, nc, pc, kc int, beta float32) {
	mr, nr := kern.mr, kern.nr
	full := nc - nc%nr // columns that a direct B read covers in full panels
	for ic := r0; ic < r1; ic += kern.mc {
		mc := min(kern.mc, r1-ic)
		packA(ap, j.a, j.lda, j.transA, ic, mc, pc, kc, mr, kern)
		jr0 := 0
		if direct && kern.row != nil && mc <= rowMaxM {
			// Few rows: sweep B in place 128 columns at a time, one row
			// of C after another.
			for ; jr0+128 <= nc; jr0 += 128 {
				b := j.b[pc*j.ldb+jc+jr0:]
				for i := 0; i < mc; i++ {
					kern.row(kc, ap[i:], b, j.ldb, j.c[(ic+i)*j.ldc+jc+jr0:], j.alpha, beta)
				}
			}
		}
		for jr := jr0; jr < nc; jr += nr {
			cols := min(nr, nc-jr)
			b, bstride := bp[jr*kc:], nr
			if direct && jr < full {
				b, bstride = j.b[pc*j.ldb+jc+jr:], j.ldb
			}
			for ir := 0; ir < mc; ir += mr {
				rows := min(mr, mc-ir)
				kern.tile(kc, ap[ir*kc:], b, bstride, j.c[(ic+ir)*j.ldc+jc+jr:], j.ldc, rows, cols, j.alpha, beta)
			}
		}
	}
}

// share returns worker w's part [lo, hi) of n items split evenly over t.
func share(n, t, w int) (lo, hi int) {
	return n * w / t, n * (w + 1) / t
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// bufPools recycle packing buffers so steady-state calls do not allocate:
// one pool per power-of-two capacity, so that a call asking for a large
// buffer is not handed a small one (and the small one dropped) because
// both sizes went into one pool.
var bufPools [48]sync.Pool

func getBuf(n int) *[]float32 {
	c := bits.Len(uint(max(n, 1) - 1)) // capacity 1<<c >= n
	if p, _ := bufPools[c].Get().(*[]float32); p != nil {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n, 1<<c)
	return &s
}

func putBuf(p *[]float32) {
	c := bits.Len(uint(cap(*p) - 1))
	if cap(*p) == 1<<c {
		bufPools[c].Put(p)
	}
}
