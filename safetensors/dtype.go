package safetensors

// DType is an element type, spelt as in the safetensors header.
type DType string

// The dtypes of the safetensors format that this package knows. The reader
// converts the floating ones to float32 and the integer ones to int64, and
// refuses F8_E4M3 and F8_E5M2; the writer writes F32 only.
const (
	BOOL    DType = "BOOL"
	U8      DType = "U8"
	I8      DType = "I8"
	U16     DType = "U16"
	I16     DType = "I16"
	U32     DType = "U32"
	I32     DType = "I32"
	U64     DType = "U64"
	I64     DType = "I64"
	F16     DType = "F16"
	BF16    DType = "BF16"
	F32     DType = "F32"
	F64     DType = "F64"
	F8_E4M3 DType = "F8_E4M3"
	F8_E5M2 DType = "F8_E5M2"
)

// dtypeSizes maps each known dtype to its element size in bytes.
var dtypeSizes = map[DType]int{
	BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
	U16: 2, I16: 2, F16: 2, BF16: 2,
	U32: 4, I32: 4, F32: 4,
	U64: 8, I64: 8, F64: 8,
}

// Size returns the size of one element in bytes, or 0 for a dtype this
// package does not know.
func (d DType) Size() int { return dtypeSizes[d] }

// IsFloat reports whether the reader converts d to float32 (into
// File.Tensors).
func (d DType) IsFloat() bool {
	switch d {
	case F16, BF16, F32, F64:
		return true
	}
	return false
}

// IsInt reports whether the reader converts d to int64 (into File.Ints).
func (d DType) IsInt() bool {
	switch d {
	case BOOL, U8, I8, U16, I16, U32, I32, U64, I64:
		return true
	}
	return false
}
