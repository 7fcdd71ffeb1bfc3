package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackAT checks packA of a stored Aᵀ (the fast kernel.packAT of AVX2
// and packAT14 of AVX-512 included) against the panel layout it promises,
// on every block height from 1 to 40 (whole panels, ragged tails, a block
// of one or two panels) and depths from 1 to 19, at offsets inside a
// larger matrix. Lanes past the block's rows are unspecified; the rest
// must hold A's values exactly.
func TestPackAT(t *testing.T) {
	for _, kname := range kernelNames() {
		t.Run(kname, func(t *testing.T) {
			defer useKernel(kname)()
			kern, mr := active, active.mr
			r := rand.New(rand.NewPCG(9, 10))
			for mc := 1; mc <= 40; mc++ {
				for kc := 1; kc <= 19; kc += 3 {
					i0, p0 := r.IntN(5), r.IntN(4)
					lda := i0 + mc + r.IntN(3)
					a := randSlice(r, (p0+kc)*lda)
					dst := make([]float32, roundUp(mc, mr)*kc)
					for i := range dst {
						dst[i] = guard
					}
					packA(dst, a, lda, true, i0, mc, p0, kc, mr, kern)
					for i := range mc {
						for p := range kc {
							got := dst[i/mr*mr*kc+p*mr+i%mr]
							if want := a[(p0+p)*lda+i0+i]; got != want {
								t.Fatalf("mc=%d kc=%d i0=%d p0=%d: row %d, k step %d packed as %v, want %v", mc, kc, i0, p0, i, p, got, want)
							}
						}
					}
				}
			}
		})
	}
}

// pathCase is a product chosen to take one of the driver's paths, with
// its leading dimensions (0: the smallest).
type pathCase struct {
	why           string
	tr            string
	m, n, k       int
	lda, ldb, ldc int
}

var pathCases = []pathCase{
	// B read in place or packed, by the stride of its rows (inPlaceB):
	// strides of 2^10 and 2^13 floats fall into few cache sets and are
	// packed; 2^8·49 and odd strides are read in place.
	{"stride 1024, packed", "nn", 32, 40, 300, 0, 1024, 0},
	{"stride 1024, shallow k, in place", "nn", 32, 40, 129, 0, 1024, 0},
	{"stride 512, in place", "nn", 64, 40, 288, 0, 512, 0},
	{"stride 2048, packed", "nn", 64, 33, 147, 0, 2048, 0},
	{"stride 8192, packed", "nn", 13, 17, 577, 0, 8192, 0},
	{"stride 12544, in place", "nn", 64, 35, 289, 0, 12544, 0},
	{"stride 1031, in place", "nn", 31, 47, 257, 0, 1031, 0},
	// Deep k over one block of A or a narrow C.
	{"64 rows, deep k", "nn", 64, 100, 577, 0, 0, 0},
	{"Aᵀ·B, 37 columns, deep k", "tn", 301, 37, 513, 0, 0, 0},
	{"A·Bᵀ, 64 columns, deep k", "nt", 160, 64, 300, 0, 0, 0},
	// Aᵀ·Bᵀ with few rows of C: transposed tiles (runT), Aᵀ's rows copied.
	{"Aᵀ·Bᵀ, 5 rows", "tt", 5, 40, 128, 0, 0, 0},
	{"Aᵀ·Bᵀ, 33 rows", "tt", 33, 70, 200, 0, 0, 0},
	{"Aᵀ·Bᵀ, 128 rows, deep k", "tt", 128, 130, 1100, 0, 0, 0},
	{"Aᵀ·Bᵀ, 20 rows, strided", "tt", 20, 41, 130, 27, 133, 45},
	{"Aᵀ·Bᵀ, few positions, split k", "tt", 32, 70, 4608, 0, 0, 0},
	// Stored Aᵀ packed by whole stored rows (packAT): every tail of 6.
	{"Aᵀ·B, 6n+1 rows", "tn", 151, 20, 70, 0, 0, 0},
	{"Aᵀ·B, 6n+5 rows", "tn", 155, 17, 33, 160, 0, 0},
	{"Aᵀ·B, 6n+3 rows, padded", "tn", 291, 9, 40, 300, 11, 12},
}

// TestPaths runs each path case against the reference on every kernel,
// with several alpha and beta, and checks that 2 and 3 threads give the
// bits of 1 thread.
func TestPaths(t *testing.T) {
	defer SetThreads(0)
	for _, kname := range kernelNames() {
		t.Run(kname, func(t *testing.T) {
			defer useKernel(kname)()
			r := rand.New(rand.NewPCG(11, 12))
			for _, pc := range pathCases {
				_, ac, _, bc := opDims(pc.tr, pc.m, pc.n, pc.k)
				lda, ldb, ldc := max(pc.lda, ac), max(pc.ldb, bc), max(pc.ldc, pc.n)
				SetThreads(1)
				for _, ab := range [][2]float32{{1, 0}, {-1.5, 0.25}, {0.5, 1}} {
					runCaseLD(t, r, pc.tr, pc.m, pc.n, pc.k, ab[0], ab[1], lda, ldb, ldc)
				}
				sameOnThreads(t, r, pc, lda, ldb, ldc)
			}
		})
	}
}

// sameOnThreads checks that a path case gives the same bits on 1, 2 and 3
// threads.
func sameOnThreads(t *testing.T, r *rand.Rand, pc pathCase, lda, ldb, ldc int) {
	t.Helper()
	ar, _, br, _ := opDims(pc.tr, pc.m, pc.n, pc.k)
	a, b := randSlice(r, ar*lda), randSlice(r, br*ldb)
	c0 := randSlice(r, pc.m*ldc)
	var res [3][]float32
	for ti := range res {
		SetThreads(ti + 1)
		res[ti] = append([]float32(nil), c0...)
		Sgemm(pc.tr[0] == 't', pc.tr[1] == 't', pc.m, pc.n, pc.k, 0.5, a, lda, b, ldb, 0.25, res[ti], ldc)
	}
	SetThreads(1)
	for ti := 1; ti < 3; ti++ {
		for i := range res[0] {
			if math.Float32bits(res[0][i]) != math.Float32bits(res[ti][i]) {
				t.Fatalf("%s (%s %dx%dx%d): element %d: 1 thread %v, %d threads %v", pc.why, pc.tr, pc.m, pc.k, pc.n, i, res[0][i], ti+1, res[ti][i])
			}
		}
	}
}

// TestInPlaceOrPacked checks that reading B in place and packing it give
// the same bits: the same B at a stride the driver packs (2^10 floats) and
// at one it reads in place (2^10 + 3), for kernels that make the choice.
func TestInPlaceOrPacked(t *testing.T) {
	for _, kname := range kernelNames() {
		t.Run(kname, func(t *testing.T) {
			defer useKernel(kname)()
			r := rand.New(rand.NewPCG(13, 14))
			for _, sh := range []shape{{32, 100, 256}, {64, 35, 600}, {7, 300, 300}} {
				j := job{m: sh.m, n: sh.n, k: sh.k}
				j.ldb = 1024
				_, packed := j.blocking(active)
				j.ldb = 1027
				_, inPlace := j.blocking(active)
				if active.l2Sets == 0 {
					if packed != inPlace {
						t.Fatalf("%v: a kernel without l2Sets chose by stride", sh)
					}
					continue
				}
				if packed || !inPlace {
					t.Fatalf("%v: in place with stride 1024: %v, with 1027: %v; want false, true", sh, packed, inPlace)
				}
				a := randSlice(r, sh.m*sh.k)
				b1 := randSlice(r, sh.k*1024)
				b2 := make([]float32, sh.k*1027)
				for p := range sh.k {
					copy(b2[p*1027:p*1027+sh.n], b1[p*1024:p*1024+sh.n])
				}
				c1, c2 := make([]float32, sh.m*sh.n), make([]float32, sh.m*sh.n)
				SgemmSerial(false, false, sh.m, sh.n, sh.k, 1, a, sh.k, b1, 1024, 0, c1, sh.n)
				SgemmSerial(false, false, sh.m, sh.n, sh.k, 1, a, sh.k, b2, 1027, 0, c2, sh.n)
				for i := range c1 {
					if math.Float32bits(c1[i]) != math.Float32bits(c2[i]) {
						t.Fatalf("%v: element %d: packed %v, in place %v", sh, i, c1[i], c2[i])
					}
				}
			}
		})
	}
}

// ExampleSgemm_transposed shows the transposed flags: C = Aᵀ·Bᵀ without
// forming either transpose.
func ExampleSgemm_transposed() {
	at := []float32{1, 2, 3, 4, 5, 6} // Aᵀ, 2×3: A is 3×2
	bt := []float32{1, 0, 0, 1}       // Bᵀ, 2×2
	c := make([]float32, 3*2)
	Sgemm(true, true, 3, 2, 2, 1, at, 3, bt, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [1 4 2 5 3 6]
}

// TestTransposeBits checks that A·B and its transpose computed as Bᵀ·Aᵀ
// from the same stored matrices (both flags set) give the same bits: a
// convolution's forward pass relies on it, computing W·cols or colsᵀ·Wᵀ
// by its geometry. The shapes take the general path, the narrow slices,
// the transposed tiles and the split k on one side or the other.
func TestTransposeBits(t *testing.T) {
	for _, kname := range kernelNames() {
		t.Run(kname, func(t *testing.T) {
			defer useKernel(kname)()
			r := rand.New(rand.NewPCG(15, 16))
			for _, sh := range []shape{{48, 588, 288}, {16, 45, 300}, {64, 32, 4608}, {256, 32, 2304},
				{160, 33, 100}, {7, 40, 130}, {512, 4, 4608}, {100, 129, 1100}} {
				m, n, k := sh.m, sh.n, sh.k
				a, b := randSlice(r, m*k), randSlice(r, k*n)
				c, ct := make([]float32, m*n), make([]float32, n*m)
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				Sgemm(true, true, n, m, k, 1, b, n, a, k, 0, ct, m)
				for i := range m {
					for j := range n {
						if math.Float32bits(c[i*n+j]) != math.Float32bits(ct[j*m+i]) {
							t.Fatalf("%v: C[%d,%d] = %v, (Bᵀ·Aᵀ)[%d,%d] = %v", sh, i, j, c[i*n+j], j, i, ct[j*m+i])
						}
					}
				}
			}
		})
	}
}
