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
	a, transA = matOperand(a, transA)
	b, transB = matOperand(b, transB)
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
	if is64("tensor.MatMul", a, b) {
		out := new64(append(append([]int(nil), batch...), m, n)...)
		lda, ldb := a.shape[ar-1], b.shape[br-1]
		sa, sb := a.shape[ar-2]*a.shape[ar-1], b.shape[br-2]*b.shape[br-1]
		forEachBroadcast(batch, batchA, batchB, func(i, ia, ib int) {
			gemm64(transA, transB, m, n, k, a.f64[ia*sa:(ia+1)*sa], lda, b.f64[ib*sb:(ib+1)*sb], ldb, false, out.f64[i*m*n:(i+1)*m*n], n)
		})
		return out
	}
	out := Zeros(append(append([]int(nil), batch...), m, n)...)
	lda, ldb := a.shape[ar-1], b.shape[br-1]
	sa, sb := a.shape[ar-2]*a.shape[ar-1], b.shape[br-2]*b.shape[br-1]
	forEachBroadcast(batch, batchA, batchB, func(i, ia, ib int) {
		Gemm(transA, transB, m, n, k, a.data[ia*sa:(ia+1)*sa], lda, b.data[ib*sb:(ib+1)*sb], ldb, 0, out.data[i*m*n:(i+1)*m*n], n)
	})
	return out
}

// matOperand readies an operand of MatMulT: a contiguous tensor as it is;
// a view whose last two dimensions are the transpose of contiguous
// matrices (Transpose(x, -2, -1) of a contiguous x, say) as those matrices
// with the transposed flag flipped, so that the GEMM reads them in place;
// any other view as a packed copy.
func matOperand(t *Tensor, trans bool) (*Tensor, bool) {
	if t.view == nil {
		return t, trans
	}
	r := len(t.shape)
	shape := append([]int(nil), t.shape...)
	st := append([]int(nil), t.view.strides...)
	shape[r-2], shape[r-1] = shape[r-1], shape[r-2]
	st[r-2], st[r-1] = st[r-1], st[r-2]
	if rowMajor(shape, st) {
		return viewOf(t, shape, st, t.view.off), !trans
	}
	return t.pack(), trans
}

// Linear returns x·wᵀ + b for x [..., in], w [out, in] and b [out] (b may
// be nil): the bias is laid into every row first and the GEMM adds the
// product to it, so no transpose of w is made.
func Linear(x, w, b *Tensor) *Tensor {
	x, w, b = contig(x), contig(w), contig(b)
	xs, ws := x.shape, w.shape
	if len(xs) < 1 || len(ws) != 2 || xs[len(xs)-1] != ws[1] || (b != nil && (len(b.shape) != 1 || b.shape[0] != ws[0])) {
		panic(fmt.Sprintf("tensor.Linear: input %v, weight %v, bias %v", xs, ws, shapeOf(b)))
	}
	if is64("tensor.Linear", x, w, b) {
		return linear64(x, w, b)
	}
	in, outF := ws[1], ws[0]
	m := len(x.data) / max(in, 1)
	y := Empty(append(append([]int{}, xs[:len(xs)-1]...), outF)...)
	beta := float32(0)
	if b != nil {
		for r := range m {
			copy(y.data[r*outF:(r+1)*outF], b.data)
		}
		beta = 1
	}
	Gemm(false, true, m, outF, in, x.data, in, w.data, in, beta, y.data, outF)
	return y
}

// LinearBackward returns the gradients of Linear(x, w, b) given
// g = d(loss)/d(result) [..., out]: dx = G·w, dw = Gᵀ·x and db = the column
// sums of G (rows added in order), each only when asked for (nil
// otherwise), in fresh storage from the pool that Recycle fills.
func LinearBackward(x, w, g *Tensor, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	x, w, g = contig(x), contig(w), contig(g)
	if is64("tensor.LinearBackward", x, w, g) {
		return linearBackward64(x, w, g, wantX, wantW, wantB)
	}
	in, outF := w.shape[1], w.shape[0]
	m := len(x.data) / max(in, 1)
	if len(g.data) != m*outF {
		panic(fmt.Sprintf("tensor.LinearBackward: gradient %v for input %v and weight %v", g.shape, x.shape, w.shape))
	}
	if wantX {
		dx = Empty(x.shape...)
		Gemm(false, false, m, in, outF, g.data, outF, w.data, in, 0, dx.data, in) // dx = G·W
	}
	if wantW {
		dw = Empty(w.shape...)
		Gemm(true, false, outF, in, m, g.data, outF, x.data, in, 0, dw.data, in) // dW = Gᵀ·x
	}
	if wantB {
		db = SumRows(g.data, m, outF) // db = Σ_rows G
	}
	return dx, dw, db
}

func shapeOf(t *Tensor) []int {
	if t == nil {
		return nil
	}
	return t.shape
}
