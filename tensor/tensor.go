// Package tensor holds dense, row-major float32 n-dimensional arrays and the
// maths on them: element-wise operations with NumPy/PyTorch broadcasting,
// reductions, matrix products, convolution, pooling and normalisation.
//
// It knows nothing of gradients; package autograd builds on it.
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

// Tensor is a dense row-major float32 array. The zero value is not useful;
// build tensors with New, Zeros, Full, Scalar or FromFunc.
//
// A Tensor returned by Reshape shares its data with the original: writing
// through one is seen through the other. Every other operation returns a
// tensor with data of its own.
type Tensor struct {
	shape []int
	data  []float32
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
func (t *Tensor) Size() int { return len(t.data) }

// Data returns the underlying storage in row-major order. Writes through it
// change the tensor.
func (t *Tensor) Data() []float32 { return t.data }

// Item returns the value of a one-element tensor. It panics otherwise.
func (t *Tensor) Item() float32 {
	if len(t.data) != 1 {
		panic(fmt.Sprintf("tensor.Item: tensor of shape %v has %d elements, want 1", t.shape, len(t.data)))
	}
	return t.data[0]
}

// At returns the element at the given index, one coordinate per dimension.
func (t *Tensor) At(idx ...int) float32 { return t.data[t.offset("At", idx)] }

// Set writes v at the given index.
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.offset("Set", idx)] = v }

func (t *Tensor) offset(op string, idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor.%s: index %v for shape %v", op, idx, t.shape))
	}
	off := 0
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			panic(fmt.Sprintf("tensor.%s: index %v out of range for shape %v", op, idx, t.shape))
		}
		off = off*t.shape[i] + v
	}
	return off
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{shape: append([]int(nil), t.shape...), data: append([]float32(nil), t.data...)}
}

// CopyFrom copies src's elements into t. The shapes must hold the same number
// of elements.
func (t *Tensor) CopyFrom(src *Tensor) {
	if len(src.data) != len(t.data) {
		panic(fmt.Sprintf("tensor.CopyFrom: shapes %v and %v differ in size", t.shape, src.shape))
	}
	copy(t.data, src.data)
}

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.data {
		t.data[i] = v
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
	if len(t.data) > 64 {
		return fmt.Sprintf("Tensor%v", t.shape)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v%v", t.shape, t.data)
	return b.String()
}

// AddInPlace adds src to dst element-wise; the shapes must have equal sizes.
func AddInPlace(dst, src *Tensor) {
	if len(dst.data) != len(src.data) {
		panic(fmt.Sprintf("tensor.AddInPlace: shapes %v and %v differ in size", dst.shape, src.shape))
	}
	d, s := dst.data, src.data[:len(dst.data)]
	for i := range d {
		d[i] += s[i]
	}
}
