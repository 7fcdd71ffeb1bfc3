package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/backprop-go/backprop/tensor"
)

// chunkSize bounds the scratch buffer used to read tensor data, so that
// reading never holds a second copy of a large tensor's bytes.
const chunkSize = 1 << 20

// Read reads a safetensors file of size bytes from r. Taking an io.ReaderAt
// and the size (rather than an io.Reader) lets the claimed header length and
// every data offset be checked against the real size before anything of the
// claimed size is allocated. For bytes in memory, pass bytes.NewReader(b) and
// len(b); for an *os.File, its Stat().Size(), or use Load.
//
// See the package documentation for the dtypes accepted and the checks made.
func Read(r io.ReaderAt, size int64) (*File, error) {
	f, err := read(r, size)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

// Load reads the safetensors file at path. Its errors name the file.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err) // *PathError names the file
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("safetensors: %s: %w", path, errorf("not a regular file"))
	}
	f, err := read(fh, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return f, nil
}

func read(r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, errorf("file has %d bytes, too short for the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if err := readAt(r, lenBuf[:], 0); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, errorf("header length %d is larger than the limit of %d bytes", n, MaxHeaderSize)
	}
	if int64(n) > size-8 {
		return nil, errorf("header length %d is larger than the %d bytes that follow it", n, size-8)
	}
	hdrBytes := make([]byte, n)
	if err := readAt(r, hdrBytes, 8); err != nil {
		return nil, err
	}
	dataStart := 8 + int64(n)
	h, err := parseHeader(hdrBytes, size-dataStart)
	if err != nil {
		return nil, err
	}

	f := &File{
		Tensors:  map[string]*tensor.Tensor{},
		Ints:     map[string]*IntTensor{},
		DTypes:   map[string]DType{},
		Metadata: h.metadata,
	}
	// Every entry has been checked against the real size, so the
	// allocations below are bounded by the file (at most 8 bytes of int64
	// per byte of U8 or BOOL).
	buf := make([]byte, min(chunkSize, size-dataStart))
	for _, e := range h.entries {
		f.DTypes[e.name] = e.dtype
		off := dataStart + e.begin
		if e.dtype.IsFloat() {
			data := make([]float32, e.n)
			err := readChunks(r, off, e, buf, func(b []byte, i int) error {
				decodeFloats(e.dtype, b, data[i:])
				return nil
			})
			if err != nil {
				return nil, err
			}
			f.Tensors[e.name] = tensor.New(data, e.shape...)
			continue
		}
		data := make([]int64, e.n)
		err := readChunks(r, off, e, buf, func(b []byte, i int) error {
			return decodeInts(e, b, data[i:], i)
		})
		if err != nil {
			return nil, err
		}
		f.Ints[e.name] = &IntTensor{Shape: e.shape, Data: data}
	}
	return f, nil
}

// readChunks reads entry e's bytes, starting at file offset off, through
// buf, and calls decode with each chunk and the index of its first element.
func readChunks(r io.ReaderAt, off int64, e entry, buf []byte, decode func(b []byte, first int) error) error {
	size := e.dtype.Size()
	per := len(buf) / size // whole elements per chunk; chunkSize is a multiple of 8
	for i := 0; i < e.n; i += per {
		k := min(per, e.n-i)
		b := buf[:k*size]
		if err := readAt(r, b, off+int64(i)*int64(size)); err != nil {
			return fmt.Errorf("tensor %q: %w", short(e.name), err)
		}
		if err := decode(b, i); err != nil {
			return err
		}
	}
	return nil
}

// readAt fills b from offset off. A reader that returns fewer bytes than
// asked means the size given to Read was larger than the data.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil // io.ReaderAt may report io.EOF along with the last byte
	}
	if err == nil || errors.Is(err, io.EOF) {
		return errorf("data ends at byte %d, before the %d bytes at offset %d", off+int64(n), len(b), off)
	}
	return fmt.Errorf("read at offset %d: %w", off, err)
}

// decodeFloats converts little-endian elements of a floating dtype to
// float32.
func decodeFloats(dt DType, b []byte, dst []float32) {
	le := binary.LittleEndian
	switch dt {
	case F32:
		for i := range len(b) / 4 {
			dst[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case F64:
		for i := range len(b) / 8 {
			dst[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case F16:
		for i := range len(b) / 2 {
			dst[i] = halfToFloat32(le.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range len(b) / 2 {
			dst[i] = bfloat16ToFloat32(le.Uint16(b[2*i:]))
		}
	default:
		panic("safetensors: decodeFloats: " + string(dt)) // parseEntry admits only the above
	}
}

// decodeInts converts little-endian elements of an integer dtype, or BOOL,
// to int64. first is the index of b's first element in the tensor, for
// error messages. U64 values beyond int64 and BOOL bytes other than 0 and 1
// are refused rather than wrapped or guessed.
func decodeInts(e entry, b []byte, dst []int64, first int) error {
	le := binary.LittleEndian
	switch e.dtype {
	case BOOL:
		for i, v := range b {
			if v > 1 {
				return errorf("tensor %q: BOOL element %d is %d, want 0 or 1", short(e.name), first+i, v)
			}
			dst[i] = int64(v)
		}
	case U8:
		for i, v := range b {
			dst[i] = int64(v)
		}
	case I8:
		for i, v := range b {
			dst[i] = int64(int8(v))
		}
	case U16:
		for i := range len(b) / 2 {
			dst[i] = int64(le.Uint16(b[2*i:]))
		}
	case I16:
		for i := range len(b) / 2 {
			dst[i] = int64(int16(le.Uint16(b[2*i:])))
		}
	case U32:
		for i := range len(b) / 4 {
			dst[i] = int64(le.Uint32(b[4*i:]))
		}
	case I32:
		for i := range len(b) / 4 {
			dst[i] = int64(int32(le.Uint32(b[4*i:])))
		}
	case U64:
		for i := range len(b) / 8 {
			v := le.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return errorf("tensor %q: U64 element %d is %d, beyond int64", short(e.name), first+i, v)
			}
			dst[i] = int64(v)
		}
	case I64:
		for i := range len(b) / 8 {
			dst[i] = int64(le.Uint64(b[8*i:]))
		}
	default:
		panic("safetensors: decodeInts: " + string(e.dtype)) // parseEntry admits only the above
	}
	return nil
}
