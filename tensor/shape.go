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

// Reshape returns a tensor with a new shape holding the same number of
// elements; one dimension may be -1 to be inferred. It shares t's storage
// whenever the layout allows: always for a contiguous tensor, and for a
// strided view when the dimensions merged or split are contiguous with
// each other (PyTorch's view rule); otherwise it returns a packed copy, as
// torch.reshape does.
func Reshape(t *Tensor, shape ...int) *Tensor {
	shape = InferShape("tensor.Reshape", shape, t.Size())
	if t.view == nil {
		return &Tensor{shape: shape, data: t.data, f64: t.f64, i64: t.i64, dtype: t.dtype, borrowed: t.borrowed}
	}
	if st, ok := reshapeStrides(t.shape, t.view.strides, shape); ok {
		return viewOf(t, shape, st, t.view.off)
	}
	c := t.pack()
	c.shape = shape
	return c
}

// Permute returns a view of t with its dimensions reordered: output
// dimension i is input dimension dims[i]. Negative dims count from the
// end. Nothing is copied: the view shares t's storage, with permuted
// strides.
func Permute(t *Tensor, dims ...int) *Tensor {
	r := t.Dims()
	if len(dims) != r {
		panic(fmt.Sprintf("tensor.Permute: %d dims %v for shape %v", len(dims), dims, t.shape))
	}
	seen := make([]bool, r)
	off, inStrides := t.layout()
	outShape := make([]int, r)
	outStrides := make([]int, r)
	for i, d := range dims {
		d = NormDim("tensor.Permute", d, r)
		if seen[d] {
			panic(fmt.Sprintf("tensor.Permute: dims %v repeat a dimension (shape %v)", dims, t.shape))
		}
		seen[d] = true
		outShape[i], outStrides[i] = t.shape[d], inStrides[d]
	}
	return viewOf(t, outShape, outStrides, off)
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

// Transpose returns a view of t with dimensions d0 and d1 swapped (see
// Permute).
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
	ts = contigAll(ts)
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

// Narrow returns a view of the slice [start, start+length) of t along d;
// a negative start counts from the end. Nothing is copied. The view is
// contiguous (an ordinary tensor over part of t's storage) when every
// dimension before d has size 1, as for a batch narrowed along dimension
// 0, and strided otherwise.
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
	off, st := t.layout()
	return viewOf(t, shape, append([]int(nil), st...), off+start*st[d])
}

// NarrowInto adds src into the slice [start, start+src.Dim(d)) of dst along
// d: the reverse of Narrow, used to send a gradient back.
func NarrowInto(dst, src *Tensor, d, start int) {
	src = contig(src)
	if dst.view != nil {
		writeThrough(dst, func(c *Tensor) { NarrowInto(c, src, d, start) })
		return
	}
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
