package autograd

import (
	"fmt"
	"slices"

	"github.com/backprop-go/backprop/tensor"
)

// Sum returns the sum of all elements of x as a scalar.
func Sum(x *Value) *Value {
	out := result(tensor.Sum(x.Data), x)
	out.onBackward(func() {
		x.addGrad(tensor.FullOf(x.Data.DType(), out.Grad.Item64(), x.Shape()...)) // d(Σx)/dx = 1
	})
	return out
}

// Mean returns the mean of all elements of x as a scalar.
func Mean(x *Value) *Value {
	if x.Data.DType() != tensor.Float32 {
		n := float64(max(1, x.Data.Size()))
		out := result(tensor.ScalarOf(x.Data.DType(), tensor.Sum(x.Data).Item64()/n), x)
		out.onBackward(func() {
			x.addGrad(tensor.FullOf(x.Data.DType(), out.Grad.Item64()/n, x.Shape()...)) // d(mean x)/dx = 1/n
		})
		return out
	}
	n := float32(max(1, x.Data.Size()))
	out := result(tensor.Scalar(tensor.Sum(x.Data).Item()/n), x)
	out.onBackward(func() {
		x.addGrad(tensor.Full(out.Grad.Item()/n, x.Shape()...)) // d(mean x)/dx = 1/n
	})
	return out
}

// normDims normalises and sorts reduction dims; nil or empty means all.
func normDims(op string, dims []int, rank int) []int {
	if len(dims) == 0 {
		all := make([]int, rank)
		for i := range all {
			all[i] = i
		}
		return all
	}
	out := make([]int, len(dims))
	for i, d := range dims {
		out[i] = tensor.NormDim(op, d, rank)
	}
	slices.Sort(out)
	if len(slices.Compact(slices.Clone(out))) != len(out) {
		panic(fmt.Sprintf("%s: repeated dimension in %v", op, dims))
	}
	return out
}

// keptShape is shape with the reduced dims set to 1.
func keptShape(shape, dims []int) []int {
	s := slices.Clone(shape)
	for _, d := range dims {
		s[d] = 1
	}
	return s
}

// droppedShape is shape without the reduced dims.
func droppedShape(shape, dims []int) []int {
	var s []int
	for i, d := range shape {
		if !slices.Contains(dims, i) {
			s = append(s, d)
		}
	}
	return append([]int{}, s...)
}

// SumDims sums x over the given dimensions (negative ones count from the
// end; none means all), keeping them as size 1 when keepdim is set.
func SumDims(x *Value, dims []int, keepdim bool) *Value {
	ds := normDims("autograd.SumDims", dims, x.Data.Dims())
	y := x.Data
	for i := len(ds) - 1; i >= 0; i-- {
		y = tensor.SumDim(y, ds[i], true)
	}
	if !keepdim {
		y = tensor.Reshape(y, droppedShape(x.Shape(), ds)...)
	}
	out := result(y, x)
	out.onBackward(func() {
		g := tensor.Reshape(out.Grad, keptShape(x.Shape(), ds)...)
		x.addGrad(tensor.BroadcastTo(g, x.Shape()...)) // d(Σx)/dx = 1
	})
	return out
}

// MeanDims averages x over the given dimensions (none means all).
func MeanDims(x *Value, dims []int, keepdim bool) *Value {
	ds := normDims("autograd.MeanDims", dims, x.Data.Dims())
	n := 1
	for _, d := range ds {
		n *= x.Shape()[d]
	}
	return MulScalar(SumDims(x, ds, keepdim), 1/float32(n)) // mean = Σx/n
}

// Max returns the largest element of x as a scalar. Its gradient is shared
// evenly among the elements that tie for the maximum, as in PyTorch.
func Max(x *Value) *Value {
	if x.Data.Size() == 0 {
		panic(fmt.Sprintf("autograd.Max: empty tensor of shape %v", x.Shape()))
	}
	if x.Data.DType() != tensor.Float32 {
		m := tensor.MaxAll64(x.Data)
		out := result(tensor.ScalarOf(x.Data.DType(), m), x)
		out.onBackward(func() {
			x.addGrad(tensor.MaxAllGrad64(x.Data, m, out.Grad.Item64())) // d(max)/dx = 1/ties at the maximum
		})
		return out
	}
	m := tensor.MaxAll(x.Data)
	out := result(tensor.Scalar(m), x)
	out.onBackward(func() {
		x.addGrad(tensor.MaxAllGrad(x.Data, m, out.Grad.Item())) // d(max)/dx = 1/ties at the maximum
	})
	return out
}

// MaxDim returns the maximum of x along dim. The gradient flows to the
// element chosen (the first, on ties), as in torch.max(x, dim).
func MaxDim(x *Value, dim int, keepdim bool) *Value {
	y, arg := tensor.MaxDim(x.Data, dim, keepdim)
	out := result(y, x)
	out.onBackward(func() {
		x.addGrad(tensor.MaxDimGrad(out.Grad, arg, x.Shape(), dim)) // d(max)/dx = 1 at the argmax, 0 elsewhere
	})
	return out
}

// LogSumExp returns log(Σ e**x) along dim, computed stably.
func LogSumExp(x *Value, dim int, keepdim bool) *Value {
	y := tensor.LogSumExpDim(x.Data, dim, keepdim)
	out := result(y, x)
	out.onBackward(func() {
		d := tensor.NormDim("autograd.LogSumExp", dim, x.Data.Dims())
		ks := keptShape(x.Shape(), []int{d})
		lse, g := tensor.Reshape(y, ks...), tensor.Reshape(out.Grad, ks...)
		// d(lse)/dx = e^(x - lse) = softmax(x)
		x.addGrad(tensor.Mul(tensor.Exp(tensor.Sub(x.Data, lse)), g))
	})
	return out
}

// Softmax returns e**x / Σ e**x along dim.
func Softmax(x *Value, dim int) *Value {
	y := tensor.Softmax(x.Data, dim)
	out := result(y, x)
	out.onBackward(func() {
		// dx = y·(g - Σ g·y)
		s := tensor.SumDim(tensor.Mul(out.Grad, y), dim, true)
		x.addGrad(tensor.Mul(y, tensor.Sub(out.Grad, s)))
	})
	return out
}

// LogSoftmax returns x - log(Σ e**x) along dim, computed stably.
func LogSoftmax(x *Value, dim int) *Value {
	y := tensor.LogSoftmax(x.Data, dim)
	out := result(y, x)
	out.onBackward(func() {
		// dx = g - softmax(x)·Σ g
		s := tensor.SumDim(out.Grad, dim, true)
		x.addGrad(tensor.Sub(out.Grad, tensor.Mul(tensor.Exp(y), s)))
	})
	return out
}
