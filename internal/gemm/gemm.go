// Package gemm implements single-precision general matrix multiplication
// (SGEMM) for row-major matrices, structured the GotoBLAS/BLIS way: operands
// are packed into cache-sized contiguous panels and a register-blocked
// micro-kernel (AVX-512 or AVX2+FMA assembly on amd64, pure Go elsewhere)
// computes one small tile of C at a time. Work is split across goroutines by
// output tiles only, never along k, so every element of C is summed in the
// same order whatever the thread count: results are bit-identical for any
// number of threads.
package gemm

import "fmt"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// op(X) = X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n.
// lda/ldb/ldc are row strides (leading dimensions) in elements.
//
// When beta is zero C is only written, never read, so it may hold NaN or Inf
// garbage. Sgemm panics if a dimension is negative, a leading dimension is
// too small, or a slice is too short for its dimensions and stride.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(Threads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm computed on the calling goroutine alone, whatever
// SetThreads says: for callers that already run one product per goroutine.
// Its results are bit-identical to Sgemm's.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm checks the arguments and runs the product on up to threads
// goroutines.
func sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	j := job{
		transA: transA, transB: transB,
		m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
	}
	j.run(active, threads)
}

// check validates dimensions, strides and slice lengths, panicking with a
// message that names the call's shape.
func check(transA, transB bool, m, n, k, na, lda, nb, ldb, nc, ldc int) {
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("gemm: Sgemm(transA=%v, transB=%v, m=%d, n=%d, k=%d): ", transA, transB, m, n, k) + fmt.Sprintf(format, args...))
	}
	if m < 0 || n < 0 || k < 0 {
		fail("negative dimension")
	}
	// need returns the minimum length of a rows×cols row-major matrix with
	// stride ld, and whether ld is large enough.
	need := func(rows, cols, ld int) (int, bool) {
		if rows == 0 || cols == 0 {
			return 0, ld >= 1 || ld >= cols
		}
		return (rows-1)*ld + cols, ld >= cols
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if l, ok := need(ar, ac, lda); !ok {
		fail("lda=%d < %d", lda, ac)
	} else if na < l {
		fail("len(a)=%d < %d (a is %d×%d, lda=%d)", na, l, ar, ac, lda)
	}
	if l, ok := need(br, bc, ldb); !ok {
		fail("ldb=%d < %d", ldb, bc)
	} else if nb < l {
		fail("len(b)=%d < %d (b is %d×%d, ldb=%d)", nb, l, br, bc, ldb)
	}
	if l, ok := need(m, n, ldc); !ok {
		fail("ldc=%d < %d", ldc, n)
	} else if nc < l {
		fail("len(c)=%d < %d (c is %d×%d, ldc=%d)", nc, l, m, n, ldc)
	}
}

// scaleC sets C = beta*C, writing zeros without reading C when beta is 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta == 1 {
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
