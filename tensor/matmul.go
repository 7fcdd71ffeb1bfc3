package tensor

import "fmt"

// Gemm computes C = op(A)·op(B) + beta·C on row-major matrices, op(X) being X
// or Xᵀ; op(A) is m×k, op(B) k×n, C m×n, with row strides lda, ldb, ldc.
// It is the seam between the tensor maths and the GEMM kernels.
func Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// MatMul returns the matrix product a·b for tensors of rank 2 or more, with
// leading (batch) dimensions broadcast as in torch.matmul.
func MatMul(a, b *Tensor) *Tensor { return MatMulT(a, b, false, false) }

// MatMulT returns op(a)·op(b), where op transposes the last two dimensions
// when the corresponding flag is set; the transpose is never materialised.
// Both operands must have rank 2 or more; batch dimensions broadcast.
func MatMulT(a, b *Tensor, transA, transB bool) *Tensor {
	if a.Dims() < 2 || b.Dims() < 2 {
		panic(fmt.Sprintf("tensor.MatMul: shapes %v and %v: both need rank >= 2", a.shape, b.shape))
	}
	ar, br := a.Dims(), b.Dims()
	m, k := a.shape[ar-2], a.shape[ar-1]
	if transA {
		m, k = k, m
	}
	k2, n := b.shape[br-2], b.shape[br-1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		panic(fmt.Sprintf("tensor.MatMul: shapes %v and %v (transposed %v, %v): inner dimensions %d and %d differ", a.shape, b.shape, transA, transB, k, k2))
	}
	batchA, batchB := a.shape[:ar-2], b.shape[:br-2]
	batch := BroadcastShapes("tensor.MatMul", batchA, batchB)
	out := Zeros(append(append([]int(nil), batch...), m, n)...)
	lda, ldb := a.shape[ar-1], b.shape[br-1]
	sa, sb := a.shape[ar-2]*a.shape[ar-1], b.shape[br-2]*b.shape[br-1]
	forEachBroadcast(batch, batchA, batchB, func(i, ia, ib int) {
		Gemm(transA, transB, m, n, k, a.data[ia*sa:(ia+1)*sa], lda, b.data[ib*sb:(ib+1)*sb], ldb, 0, out.data[i*m*n:(i+1)*m*n], n)
	})
	return out
}
