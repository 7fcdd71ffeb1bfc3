package gemm

import "sync"

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
// much work per thread the fork/join costs more than it saves.
const minFlopsPerThread = 1 << 20

// directMaxM is the largest m for which B is read in place instead of being
// packed: with few rows of A each B element is used only a few times, so
// packing B would cost about as much as the multiplication itself.
const directMaxM = 16

// dotMaxM is the largest m for which A·Bᵀ is computed as dot products on
// the operands in place (kernel.dot) instead of by packing.
const dotMaxM = 4

// run computes the product with kernel kern on up to t goroutines.
//
// Loop nest (GotoBLAS): for each nc-wide column block of B and each kc-deep
// slice of k, B's kc×nc block is packed once (by all workers together);
// then each worker owns a range of rows (or, when there are few rows, of
// column panels), packs its mc×kc blocks of A and runs the micro-kernel
// over them. The k slices are visited in order by every worker, so the
// summation order of each C element is fixed.
func (j *job) run(kern *kernel, t int) {
	mr, nr := kern.mr, kern.nr
	flops := 2 * j.m * j.n * j.k
	t = max(1, min(t, flops/minFlopsPerThread))
	if kern.dot != nil && !j.transA && j.transB && j.m <= dotMaxM {
		j.runDot(kern, t)
		return
	}
	mPanels := (j.m + mr - 1) / mr
	nPanels := (j.n + nr - 1) / nr
	// Split rows unless there are too few row panels to go round.
	splitM := mPanels >= 4*t || mPanels >= nPanels
	if splitM {
		t = min(t, mPanels)
	} else {
		t = min(t, nPanels)
	}
	direct := !j.transB && j.m <= directMaxM

	// Split k into equal slices no deeper than kern.kc (a multiple of 16 for
	// the transposing copies), rather than full slices and a thin tail that
	// would pay the C update for little work.
	kcb := roundUp((j.k+(j.k+kern.kc-1)/kern.kc-1)/((j.k+kern.kc-1)/kern.kc), 16)
	kc0 := min(kcb, j.k)
	nc0 := min(kern.nc, j.n)
	bBuf := getBuf(kc0 * roundUp(nc0, nr))
	defer putBuf(bBuf)
	aBufs := make([]*[]float32, t)
	for w := range aBufs {
		aBufs[w] = getBuf(min(kern.mc, roundUp(j.m, mr)) * kc0)
	}
	defer func() {
		for _, b := range aBufs {
			putBuf(b)
		}
	}()
	bp := *bBuf

	for jc := 0; jc < j.n; jc += kern.nc {
		nc := min(kern.nc, j.n-jc)
		ncPanels := (nc + nr - 1) / nr
		for pc := 0; pc < j.k; pc += kcb {
			kc := min(kcb, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			// Pack B (or, reading it in place, only its ragged last panel).
			if direct {
				if nc%nr != 0 {
					last := nc - nc%nr
					packB(bp[last*kc:], j.b, j.ldb, false, pc, kc, jc+last, nc-last, nr, kern.scatter)
				}
			} else {
				parallel(min(t, ncPanels), func(w int) {
					q0, q1 := share(ncPanels, min(t, ncPanels), w)
					packB(bp[q0*nr*kc:], j.b, j.ldb, j.transB, pc, kc, jc+q0*nr, min(nc, q1*nr)-q0*nr, nr, kern.scatter)
				})
			}
			parallel(t, func(w int) {
				r0, r1 := 0, j.m
				c0, c1 := 0, nc
				if splitM {
					p0, p1 := share(mPanels, t, w)
					r0, r1 = p0*mr, min(j.m, p1*mr)
				} else {
					p0, p1 := share(ncPanels, t, w)
					c0, c1 = p0*nr, min(nc, p1*nr)
				}
				j.block(kern, *aBufs[w], bp, direct, r0, r1, c0, c1, jc, nc, pc, kc, beta)
			})
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

// block computes rows [r0, r1) and columns jc+[c0, c1) of C for the k slice
// [pc, pc+kc), given the packed B block bp of the column block [jc, jc+nc).
func (j *job) block(kern *kernel, ap, bp []float32, direct bool, r0, r1, c0, c1, jc, nc, pc, kc int, beta float32) {
	mr, nr := kern.mr, kern.nr
	full := nc - nc%nr // columns that a direct B read covers in full panels
	for ic := r0; ic < r1; ic += kern.mc {
		mc := min(kern.mc, r1-ic)
		packA(ap, j.a, j.lda, j.transA, ic, mc, pc, kc, mr, kern.scatter)
		for jr := c0; jr < c1; jr += nr {
			cols := min(nr, c1-jr)
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

// bufPool recycles packing buffers so steady-state calls do not allocate.
var bufPool sync.Pool

func getBuf(n int) *[]float32 {
	if p, _ := bufPool.Get().(*[]float32); p != nil {
		if cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
	}
	s := make([]float32, n)
	return &s
}

func putBuf(p *[]float32) { bufPool.Put(p) }
