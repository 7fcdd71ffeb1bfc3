package gemm

import "fmt"

// kernel describes one micro-kernel and the cache blocking tuned for it.
type kernel struct {
	name   string
	mr, nr int // register tile: rows of packed A, columns of packed B
	mc, kc int // A block (mc×kc) kept in L2; B micro-panel (kc×nr) kept in L1
	nc     int // columns of the packed B block

	// l2Sets and l2Ways describe the L2 cache that reading B in place
	// (directMaxM) relies on, for inPlaceB; zero sets skip the check.
	l2Sets, l2Ways int

	// tile computes the rows×cols window of C (rows ≤ mr, cols ≤ nr) at
	// c[0], row stride ldc: C = alpha*Â·B̂ + beta*C over kc steps, where Â
	// is a packed A panel (mr floats per step) and B̂ a B panel whose rows
	// of nr floats are bstride elements apart. When beta is 0 C is not read.
	tile func(kc int, a, b []float32, bstride int, c []float32, ldc, rows, cols int, alpha, beta float32)

	// scatter, if set, speeds up the transposing copies of packing.
	scatter scatterFunc

	// packAT14, if set, is a fast packA for stored Aᵀ into 14-row panels,
	// the last one partial when mc is not a multiple of 14.
	packAT14 func(dst, a []float32, lda, i0, mc, p0, kc int)

	// packAT, if set, is a fast packA for stored Aᵀ into mr-row panels:
	// it packs the leading full panels and returns how many rows it did.
	packAT func(dst, a []float32, lda, i0, mc, p0, kc int) (done int)

	// dot, if set, computes a rows×cols tile (rows ≤ dotR, cols ≤ dotC) of
	// C = alpha*A·Bᵀ + beta*C reading A's and Bᵀ's rows in place, as dot
	// products along k. Used when A has too few rows to repay packing B.
	// row, if set, computes one row and 128 columns of C from a packed A
	// panel (first row) and B rows bstride apart, for products where A has
	// very few rows.
	row func(kc int, a, b []float32, bstride int, c []float32, alpha, beta float32)

	dot        func(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc, rows, cols int, alpha, beta float32)
	dotR, dotC int

	// tileT, if set, computes a tile of C = alpha*A·Bᵀ + beta*C transposed,
	// for products with few rows of A: rows (≤ mr) rows of Bᵀ read in place,
	// ldb apart, against a packed panel of lanes (≤ 32) rows of A laid out
	// as packB lays out a transposed operand, writing C[i][r] at
	// c[i*ldc+r]. Only A is transposed in packing, not the larger Bᵀ.
	tileT func(kc int, a, b []float32, ldb int, c []float32, ldc, rows, lanes int, alpha, beta float32)
	// tileTT allows tileT for Aᵀ·Bᵀ as well (see useT).
	tileTT bool
}

// inPlaceB reports whether a kc-deep micro-panel of B read in place, its
// rows ldb floats apart, stays in L2 across the row panels that reuse it.
// With a stride that is a multiple of a large power of two the rows fall
// into a few cache sets and evict each other: 64×576·576×8192 (a
// convolution's product over 8 images of 32²) ran at 12 GFLOP/s in place
// and 22 packed, while 64×576·576×12544 (stride 2^8·49) runs faster in
// place. The rows may outnumber the lines of their sets by half:
// 64×576·576×512 (288 rows on 256 lines) ran 4-6% faster in place, but
// 32×256·256×1024 (256 rows on 128 lines) 20% slower. The test depends
// only on the shape.
func (k *kernel) inPlaceB(ldb, kc int) bool {
	if k.l2Sets == 0 {
		return true
	}
	// Row starts repeat modulo the sets' span; count the distinct ones.
	span := k.l2Sets * 64
	step := (4 * ldb) % span
	distinct := k.l2Sets
	if step != 0 {
		distinct = min(distinct, span/gcd(step, span))
	} else {
		distinct = 1
	}
	return 3*distinct*k.l2Ways >= 2*kc
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// kernelList holds the kernels usable on this machine, best first; set by
// the architecture files' init.
var kernelList = []*kernel{genericKernel}

// active is the kernel Sgemm uses.
var active = genericKernel

func init() { active = kernelList[0] }

// Kernel names the micro-kernel in use: "avx512", "avx2" or "generic".
func Kernel() string { return active.name }

// useKernel makes Sgemm use the named kernel and returns a function that
// restores the previous one. It is a hook for tests and benchmarks, which
// exercise every kernel the machine can run; it is not safe to call while
// Sgemm runs concurrently.
func useKernel(name string) (restore func()) {
	prev := active
	for _, k := range kernelList {
		if k.name == name {
			active = k
			return func() { active = prev }
		}
	}
	panic(fmt.Sprintf("gemm: kernel %q not available", name))
}

// kernelNames lists the kernels usable on this machine, best first.
func kernelNames() []string {
	var s []string
	for _, k := range kernelList {
		s = append(s, k.name)
	}
	return s
}

func hasKernel(name string) bool {
	for _, k := range kernelList {
		if k.name == name {
			return true
		}
	}
	return false
}
