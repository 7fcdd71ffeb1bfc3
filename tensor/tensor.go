// Package tensor holds dense, row-major n-dimensional arrays and the maths
// on them: element-wise operations with NumPy/PyTorch broadcasting,
// reductions, matrix products, convolution, pooling and normalisation.
//
// It knows nothing of gradients; package autograd builds on it.
//
// # Element types
//
// A tensor has a DType. Float32 is the working type: every constructor and
// accessor that existed before dtypes (New, Zeros, Data, At, Item, ...)
// makes and reads float32 tensors, and the float32 code paths (the GEMM
// kernels, im2col, the vectorised loops, the pooled scratch storage) are
// the same as before, bit for bit. Float64 exists for gradient checks and
// for users who want it: New64, Zeros64, Data64 and To(Float64) make and
// read it, and every function that package autograd calls accepts it,
// through plain Go code written for correctness rather than speed (a
// straightforward triple-loop GEMM, direct convolution, closures per
// element); a float64 operation returns float64 tensors. Int64 tensors
// (NewInt64, Int64s) hold indices, class labels, token ids and masks
// (0/1); they take part in no arithmetic, only in the functions that index
// with them (Gather, IndexSelect, MaskedFill, Where, and autograd's
// Embedding and losses).
//
// The element types never mix implicitly: an operation given tensors of
// different float dtypes panics with a message naming the operation and
// both dtypes, and Data on a non-float32 tensor panics rather than hand out
// a converted copy that writes would not reach. Convert with To. Results of
// float64 operations never come from the float32 scratch pool; Recycle
// ignores tensors that are not float32.
//
// # Views
//
// A tensor is a shape over storage. Transpose, Permute, Narrow and Expand
// return views that share their input's storage and copy nothing; Reshape
// does too whenever the layout allows (always for a contiguous tensor),
// and copies otherwise, as torch.reshape. A view whose elements happen to
// lie row-major in one stretch of the storage (a batch narrowed along
// dimension 0, a transpose of a dimension of size 1) is an ordinary
// contiguous tensor over that stretch; any other view is strided: it holds
// per-dimension strides (0 along the dimensions Expand repeats) and the
// offset of its first element, and IsContiguous reports false.
//
// Consumers read views as follows. MatMul and MatMulT feed a view that
// transposes the last two dimensions of contiguous matrices to the GEMM
// through its transposed flag, so A·Bᵀ written with Transpose copies
// nothing; the element-wise binaries (Add, Sub, Mul, Div, Pow) walk both
// operands by their strides, so an expanded operand is read with stride 0
// rather than materialised; Sum and SumDim walk a view in row-major order,
// adding each output's terms in the packed copy's order. Every other
// function calls Contiguous on its
// inputs at entry, which costs nothing for contiguous tensors and packs a
// strided view into a temporary copy. Results are those of the packed
// copy, bit for bit, whichever way a view is read.
//
// Aliasing: writes through a view reach the storage it shares, as in
// PyTorch. Set, Fill, CopyFrom, AddInPlace, NarrowInto, ReLUInPlace and
// UpdateRunningStats write through strided views; writing through an
// Expand view writes the one element each repeated position shares. Data
// (and Data64, Int64s) cannot hand out a strided view's elements as one
// row-major slice: it packs the view into storage of its own first, after
// which the tensor no longer aliases its base (Data on a contiguous view,
// such as a Reshape or a batch Narrow, returns the shared storage).
// No function of this package writes its inputs, except those named for
// it (…InPlace, …Into, CopyFrom, Fill, Set, UpdateRunningStats).
//
// Storage recycling: a view never owns its storage. Recycle ignores views
// (IsView) other than a Reshape of a contiguous tensor, which package
// autograd hands ownership to explicitly; recycling a base while a view of
// it is alive is the caller's bug, as before.
//
// Errors and panics: functions that take data from outside (New with a data
// slice of the wrong length, shapes parsed from files) are checked and report
// through a panic naming the function and the shapes, because a mismatch is a
// programming error in the caller. Nothing in this package returns an error;
// file formats and user input are checked by the packages that read them.
package tensor

import (
	"fmt"
	"strings"
)

// Tensor is a dense row-major array of one DType (float32 unless made
// otherwise). The zero value is not useful; build tensors with New, Zeros,
// Full, Scalar or FromFunc (float32), New64, Zeros64 (float64), NewInt64
// (int64), or ZerosOf and To for any dtype.
//
// A Tensor returned by Reshape, Transpose, Permute, Narrow or Expand is a
// view that shares its storage with the original: writing through one is
// seen through the other (see the package comment, Views). Every other
// operation returns a tensor with data of its own.
type Tensor struct {
	shape []int
	data  []float32 // the storage of a Float32 tensor
	f64   []float64 // the storage of a Float64 tensor
	i64   []int64   // the storage of an Int64 tensor
	dtype DType
	// view is set for a strided view, whose elements are not row-major in
	// storage of their own; data, f64 and i64 are nil then, so that a
	// kernel that forgot to call contig fails loudly instead of reading
	// the wrong elements.
	view *strided
	// borrowed marks storage that belongs to another tensor (any view but a
	// Reshape of a contiguous tensor): Recycle leaves it alone.
	borrowed bool
}

// New returns a tensor of the given shape that uses data as its storage
// (no copy). It panics when len(data) does not equal the shape's size.
func New(data []float32, shape ...int) *Tensor {
	n := checkShape("New", shape)
	if len(data) != n {
		panic(fmt.Sprintf("tensor.New: data has %d elements, shape %v needs %d", len(data), shape, n))
	}
	return &Tensor{shape: append([]int(nil), shape...), data: data}
}

// Zeros returns a tensor of the given shape filled with zeros.
func Zeros(shape ...int) *Tensor {
	n := checkShape("Zeros", shape)
	return &Tensor{shape: append([]int(nil), shape...), data: make([]float32, n)}
}

// Full returns a tensor of the given shape with every element set to v.
func Full(v float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = v
	}
	return t
}

// Ones returns a tensor of the given shape filled with ones.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Scalar returns a 0-dimensional tensor holding v.
func Scalar(v float32) *Tensor { return &Tensor{shape: []int{}, data: []float32{v}} }

// FromFunc returns a tensor of the given shape whose i-th element (in
// row-major order) is f(i).
func FromFunc(f func(i int) float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = f(i)
	}
	return t
}

// ZerosLike returns a zero tensor of t's shape.
func ZerosLike(t *Tensor) *Tensor { return Zeros(t.shape...) }

func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor.%s: negative dimension in shape %v", op, shape))
		}
		n *= d
	}
	return n
}

// Shape returns the tensor's dimensions. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Dims returns the number of dimensions (0 for a scalar).
func (t *Tensor) Dims() int { return len(t.shape) }

// Dim returns the size of dimension d; negative d counts from the end.
func (t *Tensor) Dim(d int) int { return t.shape[NormDim("Dim", d, len(t.shape))] }

// Size returns the number of elements.
func (t *Tensor) Size() int {
	if t.view != nil {
		return checkShape("Size", t.shape)
	}
	switch t.dtype {
	case Float64:
		return len(t.f64)
	case Int64:
		return len(t.i64)
	}
	return len(t.data)
}

// Data returns the underlying float32 storage in row-major order. Writes
// through it change the tensor. It panics for a tensor of another dtype
// (use Data64, Int64s or To).
//
// A strided view (IsContiguous false) has no such storage: Data first
// gives it a packed copy of its own, after which t is an ordinary tensor
// that no longer aliases its base. Write through a view with Set, Fill or
// CopyFrom instead. Because Data may change t, it must not be called on a
// strided view that other goroutines read.
func (t *Tensor) Data() []float32 {
	if t.dtype != Float32 {
		panic(fmt.Sprintf("tensor.Data: tensor of shape %v is %v, not float32 (use Data64, Int64s or To)", t.shape, t.dtype))
	}
	if t.view != nil {
		t.materialise()
	}
	return t.data
}

// Item returns the value of a one-element float32 tensor. It panics
// otherwise (Item64 reads any dtype).
func (t *Tensor) Item() float32 {
	if t.dtype != Float32 {
		panic(fmt.Sprintf("tensor.Item: tensor of shape %v is %v, not float32 (use Item64)", t.shape, t.dtype))
	}
	if t.Size() != 1 {
		panic(fmt.Sprintf("tensor.Item: tensor of shape %v has %d elements, want 1", t.shape, t.Size()))
	}
	s, off := t.store32()
	return s[off]
}

// At returns the element at the given index, one coordinate per dimension,
// of a float32 tensor (a view reads its base's storage).
func (t *Tensor) At(idx ...int) float32 {
	if t.dtype != Float32 {
		panic(fmt.Sprintf("tensor.At: tensor of shape %v is %v, not float32", t.shape, t.dtype))
	}
	s, off := t.store32()
	return s[off+t.offset("At", idx)]
}

// Set writes v at the given index of a float32 tensor; on a view it writes
// through to the storage shared with the base.
func (t *Tensor) Set(v float32, idx ...int) {
	if t.dtype != Float32 {
		panic(fmt.Sprintf("tensor.Set: tensor of shape %v is %v, not float32", t.shape, t.dtype))
	}
	s, off := t.store32()
	s[off+t.offset("Set", idx)] = v
}

// store32 returns the float32 storage that t's offsets index and the
// offset of element 0 in it.
func (t *Tensor) store32() ([]float32, int) {
	if t.view != nil {
		return t.view.data, t.view.off
	}
	return t.data, 0
}

// offset returns the storage offset of idx relative to element 0,
// following t's strides.
func (t *Tensor) offset(op string, idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor.%s: index %v for shape %v", op, idx, t.shape))
	}
	var st []int
	if t.view != nil {
		st = t.view.strides
	}
	off := 0
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			panic(fmt.Sprintf("tensor.%s: index %v out of range for shape %v", op, idx, t.shape))
		}
		if st != nil {
			off += v * st[i]
		} else {
			off = off*t.shape[i] + v
		}
	}
	return off
}

// Clone returns a deep copy, of the same dtype; the copy of a view is an
// ordinary contiguous tensor.
func (t *Tensor) Clone() *Tensor {
	if t.view != nil {
		return t.pack()
	}
	switch t.dtype {
	case Float64:
		return &Tensor{shape: append([]int(nil), t.shape...), f64: append([]float64(nil), t.f64...), dtype: Float64}
	case Int64:
		return &Tensor{shape: append([]int(nil), t.shape...), i64: append([]int64(nil), t.i64...), dtype: Int64}
	}
	return &Tensor{shape: append([]int(nil), t.shape...), data: append([]float32(nil), t.data...)}
}

// CopyFrom copies src's elements (in row-major order) into t. The shapes
// must hold the same number of elements and the dtypes must agree. When t
// is a view the elements are written through to its base's storage.
func (t *Tensor) CopyFrom(src *Tensor) {
	sameDType("tensor.CopyFrom", t, src)
	if src.Size() != t.Size() {
		panic(fmt.Sprintf("tensor.CopyFrom: shapes %v and %v differ in size", t.shape, src.shape))
	}
	src = contig(src)
	if t.view != nil {
		writeThrough(t, func(c *Tensor) { c.CopyFrom(src) })
		return
	}
	copy(t.data, src.data)
	copy(t.f64, src.f64)
	copy(t.i64, src.i64)
}

// Fill sets every element to v (converted to t's dtype); on a view it
// writes through to the base's storage.
func (t *Tensor) Fill(v float32) {
	if t.view != nil {
		writeThrough(t, func(c *Tensor) { c.Fill(v) })
		return
	}
	for i := range t.data {
		t.data[i] = v
	}
	for i := range t.f64 {
		t.f64[i] = float64(v)
	}
	for i := range t.i64 {
		t.i64[i] = int64(v)
	}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool { return EqualShapes(a.shape, b.shape) }

// EqualShapes reports whether two shapes are identical.
func EqualShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// NormDim turns a possibly negative dimension index into 0..rank-1 and
// panics, naming op, when it is out of range.
func NormDim(op string, d, rank int) int {
	if d < -rank || d >= rank || (rank == 0 && d != 0 && d != -1) {
		panic(fmt.Sprintf("%s: dimension %d out of range for rank %d", op, d, rank))
	}
	if d < 0 {
		d += rank
	}
	if rank == 0 {
		return 0
	}
	return d
}

// String formats small tensors in full and large ones by shape.
func (t *Tensor) String() string {
	dt := ""
	if t.dtype != Float32 {
		dt = "(" + t.dtype.String() + ")"
	}
	if t.Size() > 64 {
		return fmt.Sprintf("Tensor%s%v", dt, t.shape)
	}
	t = contig(t)
	var b strings.Builder
	switch t.dtype {
	case Float64:
		fmt.Fprintf(&b, "Tensor%s%v%v", dt, t.shape, t.f64)
	case Int64:
		fmt.Fprintf(&b, "Tensor%s%v%v", dt, t.shape, t.i64)
	default:
		fmt.Fprintf(&b, "Tensor%v%v", t.shape, t.data)
	}
	return b.String()
}

// AddInPlace adds src to dst element-wise; the shapes must have equal sizes.
func AddInPlace(dst, src *Tensor) {
	src = contig(src)
	if dst.view != nil {
		writeThrough(dst, func(c *Tensor) { AddInPlace(c, src) })
		return
	}
	if dst.dtype != Float32 || src.dtype != Float32 {
		sameDType("tensor.AddInPlace", dst, src)
		if dst.Size() != src.Size() {
			panic(fmt.Sprintf("tensor.AddInPlace: shapes %v and %v differ in size", dst.shape, src.shape))
		}
		addInto(dst.f64, src.f64)
		return
	}
	if len(dst.data) != len(src.data) {
		panic(fmt.Sprintf("tensor.AddInPlace: shapes %v and %v differ in size", dst.shape, src.shape))
	}
	d, s := dst.data, src.data[:len(dst.data)]
	for i := range d {
		d[i] += s[i]
	}
}
