package autograd

import (
	"fmt"

	"github.com/backprop-go/backprop/tensor"
)

// Reshape returns x with a new shape of the same size; one dimension may be
// -1 to be inferred. The data is shared, not copied.
func Reshape(x *Value, shape ...int) *Value {
	out := view(tensor.Reshape(x.Data, shape...), x)
	out.onBackward(func() {
		x.addGradView(tensor.Reshape(out.Grad, x.Shape()...), out) // reshape moves no values
	})
	return out
}

// Flatten returns x reshaped to [N, rest]: all dimensions after the first
// joined, as torch.flatten(x, 1).
func Flatten(x *Value) *Value {
	if x.Data.Dims() < 1 {
		panic(fmt.Sprintf("autograd.Flatten: shape %v has no batch dimension", x.Shape()))
	}
	return Reshape(x, x.Shape()[0], -1)
}

// Permute reorders the dimensions of x: output dimension i is input
// dimension dims[i]. The result is a view of x's data (nothing is copied)
// and so is the gradient sent back.
func Permute(x *Value, dims ...int) *Value {
	out := view(tensor.Permute(x.Data, dims...), x)
	out.onBackward(func() {
		x.addGradView(tensor.Permute(out.Grad, tensor.InversePermutation(normAll(dims, x.Data.Dims()))...), out) // undo the permutation
	})
	return out
}

func normAll(dims []int, rank int) []int {
	out := make([]int, len(dims))
	for i, d := range dims {
		out[i] = tensor.NormDim("autograd.Permute", d, rank)
	}
	return out
}

// Transpose swaps dimensions d0 and d1 of x, as a view: MatMul reads a
// transposed matrix in place (MatMul(a, Transpose(b, -2, -1)) is
// MatMulNT(a, b), with no copy of b), the element-wise ops read it through
// its strides, and other ops copy it at entry.
func Transpose(x *Value, d0, d1 int) *Value {
	out := view(tensor.Transpose(x.Data, d0, d1), x)
	out.onBackward(func() {
		x.addGradView(tensor.Transpose(out.Grad, d0, d1), out) // a swap is its own inverse
	})
	return out
}

// Expand broadcasts x to shape without copying, as torch.Tensor.expand:
// dimensions of size 1 grow to any size, new leading dimensions may be
// added, and -1 keeps a dimension. The element-wise ops read the view as it
// is (stride 0 along the expanded dimensions).
func Expand(x *Value, shape ...int) *Value {
	out := view(tensor.Expand(x.Data, shape...), x)
	out.onBackward(func() {
		x.addGrad(tensor.SumTo(out.Grad, x.Shape()...)) // every copy of an element sends its gradient back: sum them
	})
	return out
}

// Concat joins xs along dimension dim.
func Concat(dim int, xs ...*Value) *Value {
	ts := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		ts[i] = x.Data
	}
	out := result(tensor.Concat(dim, ts...), xs...)
	out.onBackward(func() {
		d := tensor.NormDim("autograd.Concat", dim, out.Data.Dims())
		start := 0
		for _, x := range xs { // each input gets its own slice of the gradient
			n := x.Shape()[d]
			x.addGradView(tensor.Narrow(out.Grad, d, start, n), out)
			start += n
		}
	})
	return out
}

// Narrow returns the slice [start, start+length) of x along dim; a negative
// start counts from the end. The result is a view of x's data; the
// gradient is scattered into the slice of a zero gradient for x.
func Narrow(x *Value, dim, start, length int) *Value {
	out := view(tensor.Narrow(x.Data, dim, start, length), x)
	out.onBackward(func() {
		d := tensor.NormDim("autograd.Narrow", dim, x.Data.Dims())
		s := start
		if s < 0 {
			s += x.Shape()[d]
		}
		g := tensor.ZerosOf(x.Data.DType(), x.Shape()...)
		tensor.NarrowInto(g, out.Grad, d, s) // the slice gets the gradient, the rest 0
		x.addGrad(g)
	})
	return out
}
