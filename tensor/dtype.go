package tensor

import (
	"fmt"
	"math"
)

// DType is the element type of a tensor.
type DType uint8

const (
	// Float32 is the working type: the default of every constructor that
	// names no dtype, and the only one with the fast kernels.
	Float32 DType = iota
	// Float64 is for gradient checks and for users who want the precision.
	Float64
	// Int64 holds indices, class labels, token ids and 0/1 masks.
	Int64
)

// String returns PyTorch's name of the dtype ("float32", "float64", "int64").
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int64:
		return "int64"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// ParseDType turns "float32", "float64" or "int64" into a DType.
func ParseDType(s string) (DType, error) {
	switch s {
	case "float32":
		return Float32, nil
	case "float64":
		return Float64, nil
	case "int64":
		return Int64, nil
	}
	return 0, fmt.Errorf("tensor: unknown dtype %q (want float32, float64 or int64)", s)
}

// DType returns t's element type.
func (t *Tensor) DType() DType { return t.dtype }

// New64 returns a float64 tensor of the given shape that uses data as its
// storage (no copy). It panics when len(data) does not equal the shape's
// size.
func New64(data []float64, shape ...int) *Tensor {
	n := checkShape("New64", shape)
	if len(data) != n {
		panic(fmt.Sprintf("tensor.New64: data has %d elements, shape %v needs %d", len(data), shape, n))
	}
	return &Tensor{shape: append([]int(nil), shape...), f64: data, dtype: Float64}
}

// NewInt64 returns an int64 tensor of the given shape that uses data as its
// storage (no copy). It panics when len(data) does not equal the shape's
// size.
func NewInt64(data []int64, shape ...int) *Tensor {
	n := checkShape("NewInt64", shape)
	if len(data) != n {
		panic(fmt.Sprintf("tensor.NewInt64: data has %d elements, shape %v needs %d", len(data), shape, n))
	}
	return &Tensor{shape: append([]int(nil), shape...), i64: data, dtype: Int64}
}

// FromInts returns an int64 tensor holding the given ints (a copy).
func FromInts(v []int, shape ...int) *Tensor {
	d := make([]int64, len(v))
	for i, x := range v {
		d[i] = int64(x)
	}
	return NewInt64(d, shape...)
}

// Zeros64 returns a float64 tensor of the given shape filled with zeros.
func Zeros64(shape ...int) *Tensor { return ZerosOf(Float64, shape...) }

// ZerosOf returns a zero tensor of the given dtype and shape.
func ZerosOf(dt DType, shape ...int) *Tensor {
	n := checkShape("ZerosOf", shape)
	t := &Tensor{shape: append([]int(nil), shape...), dtype: dt}
	switch dt {
	case Float32:
		t.data = make([]float32, n)
	case Float64:
		t.f64 = make([]float64, n)
	case Int64:
		t.i64 = make([]int64, n)
	default:
		panic(fmt.Sprintf("tensor.ZerosOf: unknown dtype %v", dt))
	}
	return t
}

// FullOf returns a tensor of the given dtype and shape with every element
// v (converted to the dtype).
func FullOf(dt DType, v float64, shape ...int) *Tensor {
	t := ZerosOf(dt, shape...)
	for i := range t.data {
		t.data[i] = float32(v)
	}
	for i := range t.f64 {
		t.f64[i] = v
	}
	for i := range t.i64 {
		t.i64[i] = int64(v)
	}
	return t
}

// ScalarOf returns a 0-dimensional tensor of the given dtype holding v.
func ScalarOf(dt DType, v float64) *Tensor { return FullOf(dt, v) }

// Data64 returns the storage of a float64 tensor in row-major order; writes
// through it change the tensor. It panics for another dtype.
func (t *Tensor) Data64() []float64 {
	if t.dtype != Float64 {
		panic(fmt.Sprintf("tensor.Data64: tensor of shape %v is %v, not float64 (use To(tensor.Float64))", t.shape, t.dtype))
	}
	if t.view != nil {
		t.materialise() // as Data does
	}
	return t.f64
}

// Int64s returns the storage of an int64 tensor in row-major order; writes
// through it change the tensor. It panics for another dtype.
func (t *Tensor) Int64s() []int64 {
	if t.dtype != Int64 {
		panic(fmt.Sprintf("tensor.Int64s: tensor of shape %v is %v, not int64 (use To(tensor.Int64))", t.shape, t.dtype))
	}
	if t.view != nil {
		t.materialise() // as Data does
	}
	return t.i64
}

// Ints returns the elements of an int64 tensor as ints (a copy), or, for a
// float tensor, its elements truncated towards zero: indices that arrived
// as floats. Every element must be a whole number then; it panics
// otherwise, naming op.
func (t *Tensor) Ints(op string) []int {
	t = contig(t)
	out := make([]int, t.Size())
	for i := range out {
		v := t.Float(i)
		if t.dtype != Int64 && v != math.Trunc(v) {
			panic(fmt.Sprintf("%s: index %v at position %d is not a whole number", op, v, i))
		}
		out[i] = int(v)
		if t.dtype == Int64 {
			out[i] = int(t.i64[i])
		}
	}
	return out
}

// Float returns element i (row-major) of a tensor of any dtype as a
// float64.
func (t *Tensor) Float(i int) float64 {
	if v := t.view; v != nil {
		s := v.off // unravel i over the shape, following the strides
		for d := len(t.shape) - 1; d >= 0; d-- {
			s += (i % t.shape[d]) * v.strides[d]
			i /= t.shape[d]
		}
		switch t.dtype {
		case Float64:
			return v.f64[s]
		case Int64:
			return float64(v.i64[s])
		}
		return float64(v.data[s])
	}
	switch t.dtype {
	case Float64:
		return t.f64[i]
	case Int64:
		return float64(t.i64[i])
	}
	return float64(t.data[i])
}

// Item64 returns the value of a one-element tensor of any dtype as a
// float64. It panics for other sizes.
func (t *Tensor) Item64() float64 {
	if t.Size() != 1 {
		panic(fmt.Sprintf("tensor.Item64: tensor of shape %v has %d elements, want 1", t.shape, t.Size()))
	}
	return t.Float(0)
}

// To returns t converted to dtype dt: t itself when it already has it,
// otherwise a new tensor (float to int truncates towards zero).
func (t *Tensor) To(dt DType) *Tensor {
	if t.dtype == dt {
		return t
	}
	t = contig(t)
	out := ZerosOf(dt, t.shape...)
	n := t.Size()
	for i := range n {
		v := t.Float(i)
		switch dt {
		case Float32:
			out.data[i] = float32(v)
		case Float64:
			out.f64[i] = v
		case Int64:
			out.i64[i] = int64(v)
		}
	}
	return out
}

// AsType is To under NumPy's name.
func (t *Tensor) AsType(dt DType) *Tensor { return t.To(dt) }

// sameDType panics, naming op and the dtypes, unless every non-nil tensor
// has the dtype of the first.
func sameDType(op string, ts ...*Tensor) {
	var first *Tensor
	for _, t := range ts {
		if t == nil {
			continue
		}
		if first == nil {
			first = t
			continue
		}
		if t.dtype != first.dtype {
			panic(fmt.Sprintf("%s: dtypes %v and %v differ (shapes %v and %v); convert with To", op, first.dtype, t.dtype, first.shape, t.shape))
		}
	}
}

// is64 reports whether the first tensor is float64 after checking that all
// the non-nil ones share its dtype and that it is a float dtype, naming op:
// the dispatch at the top of every function with a float64 path.
func is64(op string, ts ...*Tensor) bool {
	var dt DType
	found := false
	for _, t := range ts {
		if t == nil {
			continue
		}
		if !found {
			dt, found = t.dtype, true
		} else if t.dtype != dt {
			sameDType(op, ts...)
		}
	}
	if !found || dt == Float32 {
		return false
	}
	if dt != Float64 {
		panic(fmt.Sprintf("%s: %v tensors take no arithmetic (convert with To)", op, dt))
	}
	return true
}

// only32 panics, naming op, unless every non-nil tensor is float32: the
// guard of the functions that have no float64 path.
func only32(op string, ts ...*Tensor) {
	for _, t := range ts {
		if t != nil && t.dtype != Float32 {
			panic(fmt.Sprintf("%s: takes float32 tensors only, got %v of shape %v", op, t.dtype, t.shape))
		}
	}
}

// new64 returns an uninitialised-looking (zero) float64 tensor.
func new64(shape ...int) *Tensor { return ZerosOf(Float64, shape...) }

func addInto[F float32 | float64](dst, src []F) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}
