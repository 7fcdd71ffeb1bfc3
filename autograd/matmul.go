package autograd

import (
	"fmt"

	"github.com/backprop-go/backprop/tensor"
)

// MatMul returns the matrix product a·b with torch.matmul's semantics: 2-D
// operands multiply as matrices, leading dimensions of higher-rank operands
// are batch dimensions and broadcast, and a 1-D operand is treated as a row
// (first) or column (second) vector whose dimension is then removed.
func MatMul(a, b *Value) *Value {
	if a.Data.Dims() == 0 || b.Data.Dims() == 0 {
		panic(fmt.Sprintf("autograd.MatMul: shapes %v and %v: scalars cannot be multiplied as matrices", a.Shape(), b.Shape()))
	}
	if a.Data.Dims() == 1 {
		y := MatMul(Reshape(a, 1, -1), b)
		s := y.Shape()
		return Reshape(y, append(append([]int{}, s[:len(s)-2]...), s[len(s)-1])...)
	}
	if b.Data.Dims() == 1 {
		y := MatMul(a, Reshape(b, -1, 1))
		s := y.Shape()
		return Reshape(y, s[:len(s)-1]...)
	}
	out := fresh(tensor.MatMul(a.Data, b.Data), a, b)
	out.onBackward(func() {
		if a.requiresGrad {
			if transposedView(a.Data) { // dAᵀ = B·Gᵀ, in the layout of the matrices a transposes
				a.addGrad(viewBack(tensor.MatMulT(b.Data, out.Grad, false, true), a))
			} else {
				a.addGrad(tensor.SumTo(tensor.MatMulT(out.Grad, b.Data, false, true), a.Shape()...)) // dA = G·Bᵀ
			}
		}
		if b.requiresGrad {
			if transposedView(b.Data) { // dBᵀ = Gᵀ·A, likewise
				b.addGrad(viewBack(tensor.MatMulT(out.Grad, a.Data, true, false), b))
			} else {
				b.addGrad(tensor.SumTo(tensor.MatMulT(a.Data, out.Grad, true, false), b.Shape()...)) // dB = Aᵀ·G
			}
		}
	})
	return out
}

// transposedView reports whether t is a strided view that transposes the
// last two dimensions of contiguous matrices (an operand made by
// Transpose(x, -2, -1)): MatMul then computes its gradient in the layout
// of those matrices, so that Transpose's backward rule sends it on without
// a copy.
func transposedView(t *tensor.Tensor) bool {
	return t.Dims() >= 2 && !t.IsContiguous() && tensor.Transpose(t, -2, -1).IsContiguous()
}

// viewBack turns gt, the transposed gradient of a transposedView operand
// x, into x's gradient: a transposed view of gt, or, when x's batch
// dimensions were broadcast, gt transposed and summed over them.
func viewBack(gt *tensor.Tensor, x *Value) *tensor.Tensor {
	g := tensor.Transpose(gt, -2, -1)
	if tensor.EqualShapes(g.Shape(), x.Shape()) {
		return g
	}
	return tensor.SumTo(g, x.Shape()...)
}

// MatMulNT returns a·bᵀ, with bᵀ the transpose of b's last two dimensions,
// for a [..., m, k] and b [..., n, k]: Q·Kᵀ of attention, say. Both
// operands need rank 2 or more and leading (batch) dimensions broadcast,
// as in MatMul. Neither the forward product nor the backward ones
// materialise a transpose: the GEMM reads b as transposed.
func MatMulNT(a, b *Value) *Value {
	checkRank2("autograd.MatMulNT", a, b)
	out := fresh(tensor.MatMulT(a.Data, b.Data, false, true), a, b)
	out.onBackward(func() {
		if a.requiresGrad {
			a.addGrad(tensor.SumTo(tensor.MatMulT(out.Grad, b.Data, false, false), a.Shape()...)) // dA = G·B
		}
		if b.requiresGrad {
			b.addGrad(tensor.SumTo(tensor.MatMulT(out.Grad, a.Data, true, false), b.Shape()...)) // dB = Gᵀ·A
		}
	})
	return out
}

// MatMulTN returns aᵀ·b, with aᵀ the transpose of a's last two dimensions,
// for a [..., k, m] and b [..., k, n]; batch dimensions broadcast as in
// MatMul, and no transpose is materialised, forward or backward.
func MatMulTN(a, b *Value) *Value {
	checkRank2("autograd.MatMulTN", a, b)
	out := fresh(tensor.MatMulT(a.Data, b.Data, true, false), a, b)
	out.onBackward(func() {
		if a.requiresGrad {
			a.addGrad(tensor.SumTo(tensor.MatMulT(b.Data, out.Grad, false, true), a.Shape()...)) // dA = B·Gᵀ
		}
		if b.requiresGrad {
			b.addGrad(tensor.SumTo(tensor.MatMulT(a.Data, out.Grad, false, false), b.Shape()...)) // dB = A·G
		}
	})
	return out
}

// checkRank2 panics unless both operands of a transposed product are
// matrices or batches of them (a 1-D operand has no transpose to fold in).
func checkRank2(op string, a, b *Value) {
	if a.Data.Dims() < 2 || b.Data.Dims() < 2 {
		panic(fmt.Sprintf("%s: shapes %v and %v: both operands need rank 2 or more", op, a.Shape(), b.Shape()))
	}
}

// Linear returns x·Wᵀ + b for x [..., in], weight [out, in] and bias [out]
// (bias may be nil), as torch.nn.functional.linear.
func Linear(x, weight, bias *Value) *Value { return linear(x, weight, bias, false) }

// LinearReLU returns ReLU(Linear(x, weight, bias)), bit for bit, values and
// gradients: the ReLU is applied in place to the product, and its
// derivative to the upstream gradient in one pass before the product's
// backward GEMMs, without a separate value between the two.
func LinearReLU(x, weight, bias *Value) *Value { return linear(x, weight, bias, true) }

func linear(x, weight, bias *Value, relu bool) *Value {
	xs, ws := x.Shape(), weight.Shape()
	if x.Data.Dims() < 1 || weight.Data.Dims() != 2 || xs[len(xs)-1] != ws[1] {
		panic(fmt.Sprintf("autograd.Linear: input %v and weight %v: want input [..., %d] and weight [out, in]", xs, ws, ws[len(ws)-1]))
	}
	if bias != nil && (bias.Data.Dims() != 1 || bias.Shape()[0] != ws[0]) {
		panic(fmt.Sprintf("autograd.Linear: bias %v for weight %v", bias.Shape(), ws))
	}
	y := tensor.Linear(x.Data, weight.Data, dataOf(bias))
	if relu {
		tensor.ReLUInPlace(y)
	}
	out := fresh(y, x, weight, bias)
	out.onBackward(func() {
		g := out.Grad
		if relu {
			g = tensor.ReLUGrad(out.Grad, out.Data) // d relu/dx = [y > 0]
			defer tensor.Recycle(g)
		}
		// dx = G·W, dW = Gᵀ·x, db = Σ_rows G
		dx, dw, db := tensor.LinearBackward(x.Data, weight.Data, g, x.requiresGrad, weight.requiresGrad, bias != nil && bias.requiresGrad)
		if dx != nil {
			x.addGradOwned(dx)
		}
		if dw != nil {
			weight.addGradOwned(dw)
		}
		if db != nil {
			bias.addGradOwned(db)
		}
	})
	return out
}
