// Package safetensors reads and writes the safetensors file format, the one
// PyTorch (safetensors.torch.save_file) and Hugging Face use for weights.
// backprop stores checkpoints and state dicts in it, with PyTorch's
// state_dict names ("0.weight", "fc1.bias").
//
// A file is an 8-byte little-endian header length N, N bytes of JSON header
// mapping each tensor name to {"dtype", "shape", "data_offsets"} (offsets
// relative to the data buffer) plus an optional "__metadata__" object of
// string values, and then the data buffer, little-endian.
//
// # Reading
//
// Read and Load accept the floating dtypes F32, F64, F16 and BF16, all
// converted to float32 (F64 rounds to nearest; values beyond float32's range
// become ±Inf). The integer dtypes I8, I16, I32, I64, U8, U16, U32, U64 and
// BOOL are kept exactly, widened to int64, in File.Ints; they are common in
// PyTorch state dicts (BatchNorm's num_batches_tracked is an I64 scalar), so
// refusing them would refuse ordinary files. The 8-bit float dtypes and any
// other dtype are refused with an error naming the tensor and the dtype.
//
// Files are treated as untrusted input. The header is checked in full before
// any tensor memory is allocated, and the claimed header length is checked
// against the real file size (and MaxHeaderSize) before the header itself is
// allocated, so a hostile file cannot make the reader allocate more than a
// small multiple of its own size. Like the reference implementation, the
// reader requires the tensors to tile the data buffer exactly: overlapping
// tensors, gaps between tensors and bytes after the last tensor are all
// refused. It also refuses duplicate keys, unknown fields in a tensor entry,
// and non-string metadata values.
//
// # Writing
//
// Write and Save write float32 tensors as F32 with the keys in sorted order,
// the metadata first, and the header padded with spaces to a multiple of 8
// bytes as the reference implementation does, so the same input always gives
// the same bytes. Save replaces its file atomically (temporary file, fsync,
// rename), so a crash never leaves a half-written checkpoint.
//
// # Errors
//
// Read, Load, Write and Save return errors; nothing in this package panics
// on bad input. An error about the file's contents names the tensor (or
// metadata key) and what was expected and found, and matches ErrFormat under
// errors.Is; Load's errors also name the file. I/O errors are wrapped, so
// errors.Is works on them too.
package safetensors

import (
	"errors"
	"fmt"
	"slices"

	"github.com/backprop-go/backprop/tensor"
)

// MaxHeaderSize is the largest JSON header the reader accepts, in bytes. It
// matches the reference implementation's limit; real headers are a few
// hundred bytes per tensor.
const MaxHeaderSize = 100_000_000

// MaxDims is the most dimensions a tensor may have. The format sets no
// limit, but PyTorch models use a handful; the bound keeps a header of one
// shape with millions of dimensions from costing a hundred bytes of memory
// per header byte.
const MaxDims = 64

// ErrFormat is matched (with errors.Is) by every error that reports a
// malformed or unsupported file, as opposed to an I/O error.
var ErrFormat = errors.New("safetensors: invalid file")

// formatError is an error about the file's contents.
type formatError struct{ msg string }

func (e *formatError) Error() string        { return e.msg }
func (e *formatError) Is(target error) bool { return target == ErrFormat }

// errorf returns a formatError; callers add the "safetensors:" prefix and
// the file name, once, at the API boundary.
func errorf(format string, args ...any) error {
	return &formatError{fmt.Sprintf(format, args...)}
}

// File is the contents of a safetensors file. Every tensor name appears in
// exactly one of Tensors and Ints.
type File struct {
	// Tensors holds the floating-point tensors, converted to float32.
	Tensors map[string]*tensor.Tensor
	// Ints holds the integer and BOOL tensors, widened to int64.
	Ints map[string]*IntTensor
	// DTypes records each tensor's dtype as stored in the file, so that a
	// caller can tell, for example, that a weight was converted from BF16.
	DTypes map[string]DType
	// Metadata is the header's "__metadata__" object; empty, not nil, when
	// the file has none.
	Metadata map[string]string
}

// IntTensor is an integer (or BOOL, as 0 and 1) tensor, which the float32
// tensor type cannot hold exactly.
type IntTensor struct {
	Shape []int   // dimensions; empty for a 0-d scalar
	Data  []int64 // row-major elements
}

// Names returns the names of all tensors in the file, floating and integer,
// in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors)+len(f.Ints))
	for name := range f.Tensors {
		names = append(names, name)
	}
	for name := range f.Ints {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
