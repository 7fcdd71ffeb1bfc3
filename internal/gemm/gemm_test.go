package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// ref computes alpha*op(A)*op(B) + beta*C with float64 accumulation.
func ref(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			s *= float64(alpha)
			if beta != 0 {
				s += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

type shape struct{ m, n, k int }

func testShapes() []shape {
	s := []shape{{1, 1, 1}, {7, 7, 7}, {17, 17, 17}, {33, 33, 33}, {1, 17, 33}, {33, 1, 7}, {7, 33, 1},
		{15, 31, 3}, {14, 32, 8}, {28, 64, 300}, {13, 47, 257}, {255, 33, 17}, {17, 255, 33}, {33, 17, 255},
		{64, 100, 513}, {1, 300, 40}, {2, 257, 33}, {3, 140, 20},
		{9, 33, 4100}, {33, 9, 5000}, {17, 40, 2049}}
	for _, d := range []int{1000} {
		s = append(s, shape{d, 7, 17}, shape{7, d, 17}, shape{17, 7, d})
	}
	// Every row count of the edge tiles, for the transposed-store path of
	// A·Bᵀ (few rows of A, n >= m, k >= 128) with one and two vectors.
	for r := 1; r <= 14; r++ {
		s = append(s, shape{7, 14 + r, 128}, shape{20, 42 + r, 130})
	}
	return s
}

// guard is the value every C element outside the m×n window must keep.
const guard = float32(-12345.5)

func TestSgemm(t *testing.T) {
	for _, kname := range kernelNames() {
		t.Run(kname, func(t *testing.T) {
			defer useKernel(kname)()
			r := rand.New(rand.NewPCG(1, 2))
			for _, sh := range testShapes() {
				for _, tr := range []string{"nn", "tn", "nt", "tt"} {
					for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-1.5, 0.25}, {1, -1}} {
						for _, pad := range []int{0, 3} {
							runCase(t, r, tr, sh.m, sh.n, sh.k, ab[0], ab[1], pad)
						}
					}
				}
			}
		})
	}
}

// TestDotEdges runs A·Bᵀ with one to four rows of A, the products of the
// dot-product kernels (kernel.dot), on every k from 1 to 67 (each k mod 8
// and mod 16 tail, with and without whole vector steps and unrolled
// steps) and on every tile width up to two tiles and one column more.
func TestDotEdges(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, kname := range kernelNames() {
		t.Run(kname, func(t *testing.T) {
			defer useKernel(kname)()
			dotC := max(active.dotC, 4)
			r := rand.New(rand.NewPCG(7, 8))
			for m := 1; m <= dotMaxM; m++ {
				for n := 1; n <= 2*dotC+1; n++ {
					for k := 1; k <= 67; k++ {
						for _, ab := range [][2]float32{{1, 0}, {-1.5, 0.25}, {0.5, negZero}} {
							for _, pad := range []int{0, 3} {
								runCase(t, r, "nt", m, n, k, ab[0], ab[1], pad)
							}
						}
					}
				}
			}
		})
	}
}

// TestSgemmThreaded runs products big enough to be split over goroutines
// (more than minFlopsPerThread each), against the reference, on 2 and 3
// threads: the splits of the work over goroutines only happen there.
func TestSgemmThreaded(t *testing.T) {
	defer SetThreads(0)
	shapes := []shape{{70, 150, 1500}, {100, 300, 300}, {128, 1000, 300}, {33, 500, 700}, {300, 129, 200}}
	for _, kname := range kernelNames() {
		t.Run(kname, func(t *testing.T) {
			defer useKernel(kname)()
			r := rand.New(rand.NewPCG(5, 6))
			for _, threads := range []int{2, 3} {
				SetThreads(threads)
				for _, sh := range shapes {
					for _, tr := range []string{"nn", "tn", "nt", "tt"} {
						for _, ab := range [][2]float32{{1, 0}, {-1.5, 0.25}} {
							runCase(t, r, tr, sh.m, sh.n, sh.k, ab[0], ab[1], 3)
						}
					}
				}
			}
		})
	}
}

func runCase(t *testing.T, r *rand.Rand, tr string, m, n, k int, alpha, beta float32, pad int) {
	t.Helper()
	_, ac, _, bc := opDims(tr, m, n, k)
	runCaseLD(t, r, tr, m, n, k, alpha, beta, ac+pad, bc+2*pad, n+pad)
}

// opDims returns the stored shapes of A and B for the transpose form tr.
func opDims(tr string, m, n, k int) (ar, ac, br, bc int) {
	ar, ac, br, bc = m, k, k, n
	if tr[0] == 't' {
		ar, ac = k, m
	}
	if tr[1] == 't' {
		br, bc = n, k
	}
	return ar, ac, br, bc
}

// runCaseLD is runCase with the leading dimensions given.
func runCaseLD(t *testing.T, r *rand.Rand, tr string, m, n, k int, alpha, beta float32, lda, ldb, ldc int) {
	t.Helper()
	transA, transB := tr[0] == 't', tr[1] == 't'
	ar, ac, br, bc := opDims(tr, m, n, k)
	a := randSlice(r, (ar-1)*lda+ac)
	b := randSlice(r, (br-1)*ldb+bc)
	// C lives in the middle of a larger slice; everything outside the
	// window holds guard values so stray writes are caught.
	const margin = 40
	full := make([]float32, margin+(m-1)*ldc+n+margin)
	for i := range full {
		full[i] = guard
	}
	c := full[margin : margin+(m-1)*ldc+n]
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if beta == 0 {
				c[i*ldc+j] = float32(math.NaN())
			} else {
				c[i*ldc+j] = float32(r.NormFloat64())
			}
		}
	}
	want := ref(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	name := fmt.Sprintf("%s m=%d n=%d k=%d alpha=%v beta=%v lda=%d ldb=%d ldc=%d", tr, m, n, k, alpha, beta, lda, ldb, ldc)
	tol := 1e-5 * math.Sqrt(float64(k)) * 4
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			got, w := float64(c[i*ldc+j]), want[i*n+j]
			if math.IsNaN(got) || math.Abs(got-w) > tol*(1+math.Abs(w)) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, got, w)
			}
		}
	}
	for x := range full {
		off := x - margin
		inside := off >= 0 && off < len(c) && off%ldc < n
		if !inside && full[x] != guard {
			t.Fatalf("%s: element %d outside C's window was overwritten with %v", name, off, full[x])
		}
	}
}

// TestDeterministic checks results are bit-identical for 1 and 2 threads.
func TestDeterministic(t *testing.T) {
	defer SetThreads(0)
	r := rand.New(rand.NewPCG(3, 4))
	for _, kname := range kernelNames() {
		defer useKernel(kname)()
		for _, sh := range []shape{{300, 200, 600}, {64, 256, 784}, {1000, 64, 288}, {40, 1000, 200}, {32, 9, 20000}, {64, 288, 9000}, {5, 70, 2100},
			{1, 256, 784}, {4, 256, 784}, {3, 1001, 301}} {
			for _, tr := range []string{"nn", "tn", "nt"} {
				transA, transB := tr[0] == 't', tr[1] == 't'
				a := randSlice(r, sh.m*sh.k)
				b := randSlice(r, sh.k*sh.n)
				lda, ldb := sh.k, sh.n
				if transA {
					lda = sh.m
				}
				if transB {
					ldb = sh.k
				}
				var res [2][]float32
				for ti := range res {
					SetThreads(ti + 1)
					res[ti] = make([]float32, sh.m*sh.n)
					Sgemm(transA, transB, sh.m, sh.n, sh.k, 1, a, lda, b, ldb, 0, res[ti], sh.n)
				}
				for i := range res[0] {
					if math.Float32bits(res[0][i]) != math.Float32bits(res[1][i]) {
						t.Fatalf("%s %s %v: element %d differs: 1 thread %v, 2 threads %v", kname, tr, sh, i, res[0][i], res[1][i])
					}
				}
			}
		}
	}
}

func TestSpecialCases(t *testing.T) {
	// k == 0 and alpha == 0 only scale C; beta == 0 clears NaN.
	c := []float32{float32(math.NaN()), 2, 3, 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	for _, v := range c {
		if v != 0 {
			t.Fatalf("k=0 beta=0: C = %v", c)
		}
	}
	c = []float32{1, 2, 3, 4}
	Sgemm(false, false, 2, 2, 2, 0, make([]float32, 4), 2, make([]float32, 4), 2, 2, c, 2)
	if c[3] != 8 {
		t.Fatalf("alpha=0 beta=2: C = %v", c)
	}
	Sgemm(false, false, 0, 5, 5, 1, nil, 5, make([]float32, 25), 5, 0, nil, 5)
}

func TestPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"short a", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
		{"short b", func() {
			Sgemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 5), 2, 0, make([]float32, 6), 3)
		}},
		{"short c", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 4), 3)
		}},
		{"small lda", func() {
			Sgemm(true, false, 3, 2, 2, 1, make([]float32, 9), 2, make([]float32, 4), 2, 0, make([]float32, 6), 2)
		}},
		{"negative", func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) }},
	}
	for _, tc := range cases {
		func() {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if !strings.Contains(s, "Sgemm") || !strings.Contains(s, "m=") {
					t.Errorf("%s: panic %v, want a message naming Sgemm and the dimensions", tc.name, r)
				}
			}()
			tc.f()
		}()
	}
}

// TestParallelPool checks that the persistent workers run every share
// exactly once, call after call, with more threads than GOMAXPROCS too,
// and when a call is made from inside another (the nested one starts
// goroutines of its own).
func TestParallelPool(t *testing.T) {
	for _, n := range []int{2, 3, 5, 2} {
		for range 200 {
			var hits [5]int32
			parallel(n, func(w int) {
				hits[w]++
				if w == 1 {
					var inner [2]int32
					parallel(2, func(v int) { inner[v]++ })
					if inner != [2]int32{1, 1} {
						t.Errorf("nested call ran shares %v", inner)
					}
				}
			})
			for w := range n {
				if hits[w] != 1 {
					t.Fatalf("threads %d: share %d ran %d times", n, w, hits[w])
				}
			}
		}
	}
}
