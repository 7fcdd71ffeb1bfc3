package autograd

import (
	"fmt"

	"github.com/backprop-go/backprop/tensor"
)

// Reshape returns x with a new shape of the same size; one dimension may be
// -1 to be inferred. The data is shared, not copied.
func Reshape(x *Value, shape ...int) *Value {
	out := result(tensor.Reshape(x.Data, shape...), x)
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
// dimension dims[i].
func Permute(x *Value, dims ...int) *Value {
	out := result(tensor.Permute(x.Data, dims...), x)
	out.onBackward(func() {
		x.addGrad(tensor.Permute(out.Grad, tensor.InversePermutation(normAll(dims, x.Data.Dims()))...)) // undo the permutation
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

// Transpose swaps dimensions d0 and d1 of x.
func Transpose(x *Value, d0, d1 int) *Value {
	out := result(tensor.Transpose(x.Data, d0, d1), x)
	out.onBackward(func() {
		x.addGrad(tensor.Transpose(out.Grad, d0, d1)) // a swap is its own inverse
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
			x.addGrad(tensor.Narrow(out.Grad, d, start, n))
			start += n
		}
	})
	return out
}

// Narrow returns the slice [start, start+length) of x along dim; a negative
// start counts from the end.
func Narrow(x *Value, dim, start, length int) *Value {
	out := result(tensor.Narrow(x.Data, dim, start, length), x)
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
