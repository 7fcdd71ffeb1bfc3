package tensor

import "fmt"

// strided describes a view whose elements are not laid out row-major in
// storage of their own: element idx lives at off + Σ idx[d]·strides[d] of
// the storage it shares with its base. Exactly one of data, f64, i64 is
// set, by dtype.
type strided struct {
	strides []int
	off     int
	data    []float32
	f64     []float64
	i64     []int64
}

// IsContiguous reports whether t's elements lie in row-major order in
// storage of exactly its size, so that Data (or Data64, Int64s) hands out
// that storage as it is. Tensors made by constructors and operations are
// contiguous; Transpose, Permute, Narrow, Expand and Reshape may return
// strided views that are not.
func (t *Tensor) IsContiguous() bool { return t.view == nil }

// Contiguous returns t itself when it is contiguous, and otherwise a packed
// row-major copy of its elements, of the same dtype, that shares nothing
// with t.
func (t *Tensor) Contiguous() *Tensor {
	if t.view == nil {
		return t
	}
	return t.pack()
}

// contig is Contiguous that passes nil through: the entry of every function
// of this package that reads raw storage and cannot read strides.
func contig(t *Tensor) *Tensor {
	if t == nil || t.view == nil {
		return t
	}
	return t.pack()
}

// Strides returns, for each dimension, how many storage elements apart
// consecutive indices along it lie: the row-major strides for a contiguous
// tensor, 0 along a dimension that Expand broadcast. The caller must not
// modify the result.
func (t *Tensor) Strides() []int {
	if t.view != nil {
		return t.view.strides
	}
	return stridesOf(t.shape)
}

// IsView reports whether t's storage belongs to another tensor: t is a
// Transpose, Permute, Narrow or Expand of it, or a Reshape of such a view.
// Recycle leaves such tensors alone. A Reshape of a contiguous tensor
// shares its storage too but is not marked, as before views existed:
// whoever recycles one of the two promises that the other is dead
// (package autograd passes that ownership along explicitly).
func (t *Tensor) IsView() bool { return t.borrowed }

// layout returns where t's elements lie: the offset of element 0 and the
// strides, for any tensor.
func (t *Tensor) layout() (off int, strides []int) {
	if t.view != nil {
		return t.view.off, t.view.strides
	}
	return 0, stridesOf(t.shape)
}

// viewOf returns a tensor of the given shape and strides over t's storage
// starting at off (offsets and strides are absolute in that storage). When
// the layout is row-major it is an ordinary contiguous tensor over a slice
// of the storage, so that every kernel reads it as it is; otherwise a
// strided view. Either way it is marked as a view (never recycled).
func viewOf(t *Tensor, shape, strides []int, off int) *Tensor {
	n := checkShape("view", shape)
	out := &Tensor{shape: shape, dtype: t.dtype, borrowed: true}
	var s32 []float32
	var s64 []float64
	var si []int64
	if t.view != nil {
		s32, s64, si = t.view.data, t.view.f64, t.view.i64
	} else {
		s32, s64, si = t.data, t.f64, t.i64
	}
	if rowMajor(shape, strides) {
		switch t.dtype {
		case Float64:
			out.f64 = s64[off : off+n : off+n]
		case Int64:
			out.i64 = si[off : off+n : off+n]
		default:
			out.data = s32[off : off+n : off+n]
		}
		return out
	}
	out.view = &strided{strides: strides, off: off, data: s32, f64: s64, i64: si}
	return out
}

// rowMajor reports whether strides are the row-major strides of shape,
// ignoring dimensions of size 1 (whose stride is never used); an empty
// shape is row-major whatever the strides.
func rowMajor(shape, strides []int) bool {
	want := 1
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] == 0 {
			return true
		}
		if shape[d] != 1 && strides[d] != want {
			return false
		}
		want *= shape[d]
	}
	return true
}

// pack copies a strided view's elements into a new row-major tensor.
func (t *Tensor) pack() *Tensor {
	v := t.view
	switch t.dtype {
	case Float64:
		out := ZerosOf(Float64, t.shape...)
		gatherStrided(out.f64, v.f64, t.shape, v.strides, v.off)
		return out
	case Int64:
		out := ZerosOf(Int64, t.shape...)
		gatherStrided(out.i64, v.i64, t.shape, v.strides, v.off)
		return out
	}
	out := Empty(t.shape...)
	gatherStrided(out.data, v.data, t.shape, v.strides, v.off)
	return out
}

// materialise turns a strided view into an ordinary tensor with storage of
// its own (Data's fallback): it stops aliasing its base.
func (t *Tensor) materialise() {
	p := t.pack()
	t.data, t.f64, t.i64 = p.data, p.f64, p.i64
	t.view, t.borrowed = nil, false
}

// gatherStrided copies the elements of a strided layout (shape, strides,
// off over src) into dst in row-major order, a row of the last dimension
// at a time.
func gatherStrided[E float32 | float64 | int64](dst, src []E, shape, strides []int, off int) {
	forEachRow(shape, strides, off, func(o, s, n, step int) {
		d := dst[o : o+n]
		if step == 1 {
			copy(d, src[s:s+n])
			return
		}
		for i := range d {
			d[i] = src[s]
			s += step
		}
	})
}

// scatterStrided is gatherStrided's reverse: it writes src (row-major)
// into the strided layout over dst, for writes through a view.
func scatterStrided[E float32 | float64 | int64](dst, src []E, shape, strides []int, off int) {
	forEachRow(shape, strides, off, func(o, s, n, step int) {
		r := src[o : o+n]
		for i := range r {
			dst[s] = r[i]
			s += step
		}
	})
}

// forEachRow calls f(rowMajorOffset, storageOffset, length, stride) for each
// row along the last dimension of a strided layout, in row-major order.
func forEachRow(shape, strides []int, off int, f func(o, s, n, step int)) {
	r := len(shape)
	total := 1
	for _, d := range shape {
		total *= d
	}
	if total == 0 {
		return
	}
	if r == 0 {
		f(0, off, 1, 1)
		return
	}
	n, step := shape[r-1], strides[r-1]
	idx := make([]int, r-1)
	s := off
	for o := 0; o < total; o += n {
		f(o, s, n, step)
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			s += strides[d]
			if idx[d] < shape[d] {
				break
			}
			s -= strides[d] * shape[d]
			idx[d] = 0
		}
	}
}

// writeThrough runs f on a contiguous tensor holding t's elements and, when
// t is a strided view, writes the result back through the view: in-place
// operations on views reach their base's storage.
func writeThrough(t *Tensor, f func(c *Tensor)) {
	if t.view == nil {
		f(t)
		return
	}
	c := t.pack()
	f(c)
	v := t.view
	switch t.dtype {
	case Float64:
		scatterStrided(v.f64, c.f64, t.shape, v.strides, v.off)
	case Int64:
		scatterStrided(v.i64, c.i64, t.shape, v.strides, v.off)
	default:
		scatterStrided(v.data, c.data, t.shape, v.strides, v.off)
	}
}

// Expand returns a view of t broadcast to shape, as torch.Tensor.expand:
// dimensions of size 1 grow to any size with stride 0 (every index reads
// the same element), new leading dimensions may be added, and -1 keeps a
// dimension's size. Nothing is copied; the element-wise operations read the
// view as it is.
func Expand(t *Tensor, shape ...int) *Tensor {
	t = contig(t)
	r := len(shape)
	if r < t.Dims() {
		panic(fmt.Sprintf("tensor.Expand: shape %v has fewer dimensions than %v", shape, t.shape))
	}
	off, st := t.layout()
	outShape := make([]int, r)
	outStrides := make([]int, r)
	lead := r - t.Dims()
	for i := range r {
		want := shape[i]
		if i < lead {
			if want < 0 {
				panic(fmt.Sprintf("tensor.Expand: -1 for new dimension %d of %v", i, shape))
			}
			outShape[i] = want
			continue
		}
		have := t.shape[i-lead]
		switch {
		case want == -1 || want == have:
			outShape[i], outStrides[i] = have, st[i-lead]
		case have == 1 && want >= 0:
			outShape[i] = want
		default:
			panic(fmt.Sprintf("tensor.Expand: shape %v cannot be expanded to %v", t.shape, shape))
		}
	}
	return viewOf(t, outShape, outStrides, off)
}

// reshapeStrides returns the strides with which a layout (shape, strides)
// reads as newShape without moving elements, or false when no such strides
// exist (then Reshape copies). It is PyTorch's view rule: each run of
// dimensions that are contiguous with each other may be split or merged.
func reshapeStrides(shape, strides, newShape []int) ([]int, bool) {
	out := make([]int, len(newShape))
	if len(shape) == 0 || checkShape("Reshape", shape) == 0 {
		return stridesOf(newShape), true
	}
	viewD := len(newShape) - 1
	chunk := strides[len(strides)-1]
	tensorN, viewN := 1, 1
	for d := len(shape) - 1; d >= 0; d-- {
		tensorN *= shape[d]
		if d == 0 || (shape[d-1] != 1 && strides[d-1] != tensorN*chunk) {
			for viewD >= 0 && (viewN < tensorN || newShape[viewD] == 1) {
				out[viewD] = viewN * chunk
				viewN *= newShape[viewD]
				viewD--
			}
			if viewN != tensorN {
				return nil, false
			}
			if d > 0 {
				chunk, tensorN, viewN = strides[d-1], 1, 1
			}
		}
	}
	return out, viewD == -1
}

// contigAll is contig over a list, copying the list only when one of its
// tensors is a strided view.
func contigAll(ts []*Tensor) []*Tensor {
	for i, t := range ts {
		if t != nil && t.view != nil {
			out := append([]*Tensor(nil), ts...)
			for j := i; j < len(out); j++ {
				out[j] = contig(out[j])
			}
			return out
		}
	}
	return ts
}

// store64 is store32 for float64 storage (without the offset).
func (t *Tensor) store64() []float64 {
	if t.view != nil {
		return t.view.f64
	}
	return t.f64
}
