package autograd

import (
	"fmt"

	"github.com/backprop-go/backprop/tensor"
)

// The indexing ops, with PyTorch's semantics. Indices, masks and
// conditions are tensors, not Values: they carry no gradient. Int64 is
// their natural dtype (tensor.NewInt64, tensor.FromInts); a mask or
// condition is true where its element is not 0.

// Gather returns out[..., i, ...] = x[..., index[..., i, ...], ...] along
// dim, shaped like index, as torch.gather.
func Gather(x *Value, dim int, index *tensor.Tensor) *Value {
	out := fresh(tensor.Gather(x.Data, dim, index), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.ScatterAdd(out.Grad, dim, index, x.Shape())) // each read element gets its output's gradient
	})
	return out
}

// IndexSelect returns the slices of x at the 1-D index along dim, as
// torch.index_select.
func IndexSelect(x *Value, dim int, index *tensor.Tensor) *Value {
	out := fresh(tensor.IndexSelect(x.Data, dim, index), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.IndexAdd(out.Grad, dim, index, x.Shape())) // each selected slice gets its output's gradient
	})
	return out
}

// MaskedFill returns x with value where mask (broadcast to x's shape) is
// true, as torch.Tensor.masked_fill.
func MaskedFill(x *Value, mask *tensor.Tensor, value float64) *Value {
	if !tensor.EqualShapes(tensor.BroadcastShapes("autograd.MaskedFill", mask.Shape(), x.Shape()), x.Shape()) {
		panic(fmt.Sprintf("autograd.MaskedFill: mask %v does not broadcast to input %v", mask.Shape(), x.Shape()))
	}
	fill := tensor.FullOf(x.Data.DType(), value)
	out := fresh(tensor.Where(mask, fill, x.Data), x)
	out.onBackward(func() {
		// d/dx = 0 where filled, 1 elsewhere
		x.addGradOwned(tensor.Where(mask, tensor.ZerosOf(x.Data.DType()), out.Grad))
	})
	return out
}

// Where returns a where cond is true and b elsewhere, all three broadcast
// together, as torch.where.
func Where(cond *tensor.Tensor, a, b *Value) *Value {
	out := fresh(tensor.Where(cond, a.Data, b.Data), a, b)
	out.onBackward(func() {
		zero := tensor.ZerosOf(out.Grad.DType())
		if a.requiresGrad {
			a.addGrad(tensor.SumTo(tensor.Where(cond, out.Grad, zero), a.Shape()...)) // d/da = [cond]
		}
		if b.requiresGrad {
			b.addGrad(tensor.SumTo(tensor.Where(cond, zero, out.Grad), b.Shape()...)) // d/db = [not cond]
		}
	})
	return out
}

// Clamp returns x limited to [lo, hi], as torch.clamp; the gradient flows
// where lo <= x <= hi.
func Clamp(x *Value, lo, hi float64) *Value {
	out := fresh(tensor.Clamp(x.Data, lo, hi), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.ClampGrad(out.Grad, x.Data, lo, hi)) // d/dx = [lo <= x <= hi]
	})
	return out
}

// Maximum returns the element-wise maximum of a and b with broadcasting, as
// torch.maximum; where they tie, each gets half the gradient.
func Maximum(a, b *Value) *Value {
	out := fresh(tensor.Maximum(a.Data, b.Data), a, b)
	out.onBackward(func() {
		if a.requiresGrad {
			a.addGrad(tensor.SumTo(tensor.MaximumGrad(out.Grad, a.Data, b.Data), a.Shape()...)) // d/da = [a > b] + ½[a = b]
		}
		if b.requiresGrad {
			b.addGrad(tensor.SumTo(tensor.MaximumGrad(out.Grad, b.Data, a.Data), b.Shape()...)) // d/db = [b > a] + ½[a = b]
		}
	})
	return out
}

// Stack joins xs, which must share a shape, along a new dimension dim, as
// torch.stack: Concat of the inputs with a dimension of size 1 inserted,
// so its backward pass is Concat's and Reshape's.
func Stack(dim int, xs ...*Value) *Value {
	if len(xs) == 0 {
		panic("autograd.Stack: no inputs")
	}
	s := xs[0].Shape()
	d := tensor.NormDim("autograd.Stack", dim, len(s)+1)
	shape := append(append(append([]int{}, s[:d]...), 1), s[d:]...)
	parts := make([]*Value, len(xs))
	for i, x := range xs {
		if !tensor.EqualShapes(x.Shape(), s) {
			panic(fmt.Sprintf("autograd.Stack: shapes %v and %v differ", s, x.Shape()))
		}
		parts[i] = Reshape(x, shape...)
	}
	return Concat(d, parts...)
}

// Cumsum returns the running sums of x along dim, as torch.cumsum.
func Cumsum(x *Value, dim int) *Value {
	out := fresh(tensor.Cumsum(x.Data, dim, false), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.Cumsum(out.Grad, dim, true)) // dx_i = Σ_{j>=i} g_j
	})
	return out
}

// EmbeddingT is Embedding with the indices as a tensor (Int64, or whole
// floats, converted), the output shaped [indices' shape..., D].
func EmbeddingT(weight *Value, indices *tensor.Tensor, paddingIdx int) *Value {
	return Embedding(weight, indices.Ints("autograd.EmbeddingT"), indices.Shape(), paddingIdx)
}

// CrossEntropyT is CrossEntropy with the targets as a tensor (Int64, or
// whole floats) shaped like the logits without the class dimension:
// [N] for logits [N, C], [N, T] for a sequence's logits [N, C, T].
func CrossEntropyT(logits *Value, targets *tensor.Tensor, opts ...LossOption) *Value {
	checkTargets("autograd.CrossEntropyT", logits, targets)
	return CrossEntropy(logits, targets.Ints("autograd.CrossEntropyT"), opts...)
}

// NLLLossT is NLLLoss with the targets as a tensor, as in CrossEntropyT.
func NLLLossT(logp *Value, targets *tensor.Tensor, opts ...LossOption) *Value {
	checkTargets("autograd.NLLLossT", logp, targets)
	return NLLLoss(logp, targets.Ints("autograd.NLLLossT"), opts...)
}

// checkTargets panics unless targets has the shape of x without its class
// dimension.
func checkTargets(op string, x *Value, targets *tensor.Tensor) {
	if want := targetShape(x.Shape()); !tensor.EqualShapes(targets.Shape(), want) && !(len(want) == 0 && targets.Size() == 1) {
		panic(fmt.Sprintf("%s: targets of shape %v for input %v, want %v", op, targets.Shape(), x.Shape(), want))
	}
}
