package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackedB runs products with a packed B against the reference on
// awkward sizes (every row count of the tiles' edges, ragged panels, k
// over one slice), both forms of B, several alpha and beta, and checks
// that 2 and 3 threads give the bits of 1.
func TestPackedB(t *testing.T) {
	defer SetThreads(0)
	shapes := []shape{{1, 1, 1}, {7, 17, 33}, {32, 1024, 256}, {33, 40, 513}, {13, 5, 1100}, {100, 300, 64}, {5, 16, 0}, {0, 7, 3}, {6, 0, 5}}
	for m := 1; m <= 14; m++ {
		shapes = append(shapes, shape{m, 31, 40})
	}
	for _, kname := range kernelNames() {
		t.Run(kname, func(t *testing.T) {
			defer useKernel(kname)()
			r := rand.New(rand.NewPCG(17, 18))
			for _, sh := range shapes {
				for _, transB := range []bool{false, true} {
					for _, ab := range [][2]float32{{1, 0}, {-1.5, 0.25}, {0.5, 1}} {
						packedCase(t, r, sh, transB, ab[0], ab[1])
					}
				}
			}
		})
	}
}

func packedCase(t *testing.T, r *rand.Rand, sh shape, transB bool, alpha, beta float32) {
	t.Helper()
	m, n, k := sh.m, sh.n, sh.k
	lda, ldb, ldc := k+3, n+1, n+2
	br := k
	if transB {
		ldb, br = k+1, n
	}
	a := randSlice(r, m*lda)
	b := randSlice(r, br*ldb)
	c0 := randSlice(r, m*ldc)
	if beta == 0 {
		for i := range c0 {
			c0[i] = float32(math.NaN())
		}
	}
	want := ref(false, transB, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc)
	pb := PackB(transB, k, n, b, ldb)
	for i := range b {
		b[i] = float32(math.NaN()) // the packed copy must not read b again
	}
	name := fmt.Sprintf("m=%d n=%d k=%d transB=%v alpha=%v beta=%v", m, n, k, transB, alpha, beta)
	tol := 1e-5 * math.Sqrt(float64(k)) * 4
	var first []float32
	for threads := 1; threads <= 3; threads++ {
		SetThreads(threads)
		c := append([]float32(nil), c0...)
		pb.Sgemm(m, alpha, a, lda, beta, c, ldc)
		for i := range m {
			for j := range n {
				got, w := float64(c[i*ldc+j]), want[i*n+j]
				if math.IsNaN(got) || math.Abs(got-w) > tol*(1+math.Abs(w)) {
					t.Fatalf("%s, %d threads: C[%d,%d] = %v, want %v", name, threads, i, j, got, w)
				}
			}
			for j := n; j < ldc && i*ldc+j < len(c); j++ {
				if math.Float32bits(c[i*ldc+j]) != math.Float32bits(c0[i*ldc+j]) {
					t.Fatalf("%s: C[%d,%d] outside the window was written", name, i, j)
				}
			}
		}
		if first == nil {
			first = c
			continue
		}
		for i := range c {
			if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
				t.Fatalf("%s: element %d: 1 thread %v, %d threads %v", name, i, first[i], threads, c[i])
			}
		}
	}
	SetThreads(0)
}

func TestPackedBPanics(t *testing.T) {
	pb := PackB(false, 3, 4, make([]float32, 12), 4)
	for _, f := range []func(){
		func() { PackB(false, 3, 4, make([]float32, 11), 4) },
		func() { PackB(true, 3, 4, make([]float32, 12), 2) },
		func() { pb.Sgemm(2, 1, make([]float32, 5), 3, 0, make([]float32, 8), 4) },
		func() { pb.Sgemm(-1, 1, nil, 3, 0, nil, 4) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

// ExamplePackB multiplies one weight matrix by several inputs, packing it
// once.
func ExamplePackB() {
	w := []float32{1, 2, 3, 4} // 2×2
	pb := PackB(false, 2, 2, w, 2)
	for _, x := range [][]float32{{1, 0}, {0, 1}, {1, 1}} {
		y := make([]float32, 2)
		pb.Sgemm(1, 1, x, 2, 0, y, 2)
		fmt.Println(y)
	}
	// Output:
	// [1 2]
	// [3 4]
	// [4 6]
}

// BenchmarkPackedB compares an LSTM step's recurrent product
// (32×256·256×1024 onto the bias) with B packed once against Sgemm, which
// packs it on every call: go test ./internal/gemm -run XXX -bench PackedB.
func BenchmarkPackedB(b *testing.B) {
	defer SetThreads(0)
	const m, n, k = 32, 1024, 256
	a, w, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range w {
		w[i] = float32(i%5) - 2
	}
	pb := PackB(false, k, n, w, n)
	for _, t := range []int{1, 2} {
		for _, packed := range []bool{false, true} {
			b.Run(fmt.Sprintf("t%d/packed=%v", t, packed), func(b *testing.B) {
				SetThreads(t)
				c0 := cpuTime()
				for b.Loop() {
					if packed {
						pb.Sgemm(m, 1, a, k, 1, c, n)
					} else {
						Sgemm(false, false, m, n, k, 1, a, k, w, n, 1, c, n)
					}
				}
				flop := 2 * float64(m*n*k) * float64(b.N)
				b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(flop/(cpuTime()-c0)/1e9, "cpu-GFLOP/s")
			})
		}
	}
}

// TestPackedBMatchesSgemm checks the promise of PackedB.Sgemm's doc: with B
// packed untransposed, Sgemm's bits, whether Sgemm packs B or reads it in
// place.
func TestPackedBMatchesSgemm(t *testing.T) {
	for _, kname := range kernelNames() {
		t.Run(kname, func(t *testing.T) {
			defer useKernel(kname)()
			r := rand.New(rand.NewPCG(19, 20))
			for _, sh := range []shape{{32, 1024, 256}, {15, 1024, 256}, {64, 100, 600}, {300, 70, 1100}, {3, 50, 40}} {
				for _, ldb := range []int{sh.n, sh.n + 5} {
					a, b := randSlice(r, sh.m*sh.k), randSlice(r, sh.k*ldb)
					c1 := randSlice(r, sh.m*sh.n)
					c2 := append([]float32(nil), c1...)
					Sgemm(false, false, sh.m, sh.n, sh.k, 0.5, a, sh.k, b, ldb, 1, c1, sh.n)
					PackB(false, sh.k, sh.n, b, ldb).Sgemm(sh.m, 0.5, a, sh.k, 1, c2, sh.n)
					for i := range c1 {
						if math.Float32bits(c1[i]) != math.Float32bits(c2[i]) {
							t.Fatalf("%v ldb=%d: element %d: Sgemm %v, packed %v", sh, ldb, i, c1[i], c2[i])
						}
					}
				}
			}
		})
	}
}
