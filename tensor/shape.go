package tensor

import "fmt"

// InferShape resolves one -1 in shape so that it holds n elements, and
// panics, naming op, when that is impossible.
func InferShape(op string, shape []int, n int) []int {
	out := append([]int(nil), shape...)
	known, free := 1, -1
	for i, d := range out {
		switch {
		case d == -1 && free < 0:
			free = i
		case d < 0:
			panic(fmt.Sprintf("%s: invalid shape %v", op, shape))
		default:
			known *= d
		}
	}
	if free >= 0 {
		if known == 0 || n%known != 0 {
			panic(fmt.Sprintf("%s: cannot reshape %d elements to %v", op, n, shape))
		}
		out[free] = n / known
		known *= out[free]
	}
	if known != n {
		panic(fmt.Sprintf("%s: cannot reshape %d elements to %v", op, n, shape))
	}
	return out
}

// Reshape returns a view of t with a new shape holding the same number of
// elements; one dimension may be -1 to be inferred. The view shares t's data.
func Reshape(t *Tensor, shape ...int) *Tensor {
	return &Tensor{shape: InferShape("tensor.Reshape", shape, t.Size()), data: t.data, f64: t.f64, i64: t.i64, dtype: t.dtype}
}

// Permute returns a copy of t with its dimensions reordered: output
// dimension i is input dimension dims[i]. Negative dims count from the end.
func Permute(t *Tensor, dims ...int) *Tensor {
	r := t.Dims()
	if len(dims) != r {
		panic(fmt.Sprintf("tensor.Permute: %d dims %v for shape %v", len(dims), dims, t.shape))
	}
	seen := make([]bool, r)
	perm := make([]int, r)
	for i, d := range dims {
		d = NormDim("tensor.Permute", d, r)
		if seen[d] {
			panic(fmt.Sprintf("tensor.Permute: dims %v repeat a dimension (shape %v)", dims, t.shape))
		}
		seen[d] = true
		perm[i] = d
	}
	inStrides := stridesOf(t.shape)
	outShape := make([]int, r)
	srcStrides := make([]int, r)
	for i, d := range perm {
		outShape[i] = t.shape[d]
		srcStrides[i] = inStrides[d]
	}
	if t.dtype != Float32 {
		return permuteAny(t, outShape, srcStrides)
	}
	out := Zeros(outShape...)
	if len(out.data) == 0 {
		return out
	}
	idx := make([]int, r)
	src := 0
	for i := range out.data {
		out.data[i] = t.data[src]
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			src += srcStrides[d]
			if idx[d] < outShape[d] {
				break
			}
			src -= srcStrides[d] * outShape[d]
			idx[d] = 0
		}
	}
	return out
}

// InversePermutation returns the dims that undo Permute(t, dims...).
func InversePermutation(dims []int) []int {
	inv := make([]int, len(dims))
	for i, d := range dims {
		if d < 0 {
			d += len(dims)
		}
		inv[d] = i
	}
	return inv
}

// Transpose returns a copy of t with dimensions d0 and d1 swapped.
func Transpose(t *Tensor, d0, d1 int) *Tensor {
	dims := make([]int, t.Dims())
	for i := range dims {
		dims[i] = i
	}
	d0 = NormDim("tensor.Transpose", d0, t.Dims())
	d1 = NormDim("tensor.Transpose", d1, t.Dims())
	dims[d0], dims[d1] = dims[d1], dims[d0]
	return Permute(t, dims...)
}

func stridesOf(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// Concat joins tensors along dimension d; all other dimensions must match.
func Concat(d int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Concat: no tensors")
	}
	r := ts[0].Dims()
	d = NormDim("tensor.Concat", d, r)
	shape := append([]int(nil), ts[0].shape...)
	shape[d] = 0
	for _, t := range ts {
		if t.Dims() != r {
			panic(fmt.Sprintf("tensor.Concat: shapes %v and %v differ in rank", ts[0].shape, t.shape))
		}
		for i := range r {
			if i != d && t.shape[i] != ts[0].shape[i] {
				panic(fmt.Sprintf("tensor.Concat: shapes %v and %v differ outside dimension %d", ts[0].shape, t.shape, d))
			}
		}
		shape[d] += t.shape[d]
	}
	if ts[0].dtype != Float32 {
		sameDType("tensor.Concat", ts...)
		out := ZerosOf(ts[0].dtype, shape...)
		outer, total, inner := splitAt(shape, d)
		sizes := make([]int, len(ts))
		for i, t := range ts {
			sizes[i] = t.shape[d]
		}
		if out.dtype == Float64 {
			srcs := make([][]float64, len(ts))
			for i, t := range ts {
				srcs[i] = t.f64
			}
			concatG(out.f64, srcs, sizes, outer, total, inner)
		} else {
			srcs := make([][]int64, len(ts))
			for i, t := range ts {
				srcs[i] = t.i64
			}
			concatG(out.i64, srcs, sizes, outer, total, inner)
		}
		return out
	}
	only32("tensor.Concat", ts...)
	out := Zeros(shape...)
	outer, total, inner := splitAt(shape, d)
	off := 0
	for _, t := range ts {
		n := t.shape[d] * inner
		for o := range outer {
			copy(out.data[o*total*inner+off:], t.data[o*n:(o+1)*n])
		}
		off += n
	}
	return out
}

// Narrow returns a copy of the slice [start, start+length) of t along d.
// A negative start counts from the end.
func Narrow(t *Tensor, d, start, length int) *Tensor {
	d = NormDim("tensor.Narrow", d, t.Dims())
	if start < 0 {
		start += t.shape[d]
	}
	if start < 0 || length < 0 || start+length > t.shape[d] {
		panic(fmt.Sprintf("tensor.Narrow: start %d length %d out of range for dimension %d of shape %v", start, length, d, t.shape))
	}
	shape := append([]int(nil), t.shape...)
	shape[d] = length
	if t.dtype != Float32 {
		out := ZerosOf(t.dtype, shape...)
		outer, n, inner := splitAt(t.shape, d)
		if t.dtype == Float64 {
			narrowG(out.f64, t.f64, outer, n, inner, start, length)
		} else {
			narrowG(out.i64, t.i64, outer, n, inner, start, length)
		}
		return out
	}
	out := Zeros(shape...)
	outer, n, inner := splitAt(t.shape, d)
	for o := range outer {
		copy(out.data[o*length*inner:(o+1)*length*inner], t.data[(o*n+start)*inner:(o*n+start+length)*inner])
	}
	return out
}

// NarrowInto adds src into the slice [start, start+src.Dim(d)) of dst along
// d: the reverse of Narrow, used to send a gradient back.
func NarrowInto(dst, src *Tensor, d, start int) {
	outer, n, inner := splitAt(dst.shape, d)
	length := src.shape[d]
	if is64("tensor.NarrowInto", dst, src) {
		for o := range outer {
			addInto(dst.f64[(o*n+start)*inner:(o*n+start+length)*inner], src.f64[o*length*inner:(o+1)*length*inner])
		}
		return
	}
	for o := range outer {
		dd := dst.data[(o*n+start)*inner : (o*n+start+length)*inner]
		sd := src.data[o*length*inner : (o+1)*length*inner]
		for i := range dd {
			dd[i] += sd[i]
		}
	}
}
