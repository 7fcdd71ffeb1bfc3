package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// IDXType is the element type code of an IDX file (the third byte of its
// magic number).
type IDXType byte

// The element types of the IDX format. Multi-byte values are big-endian.
const (
	IDXUint8   IDXType = 0x08
	IDXInt8    IDXType = 0x09
	IDXInt16   IDXType = 0x0B
	IDXInt32   IDXType = 0x0C
	IDXFloat32 IDXType = 0x0D
	IDXFloat64 IDXType = 0x0E
)

// Size returns the number of bytes of one element, or 0 for an unknown type.
func (t IDXType) Size() int {
	switch t {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

// String returns the type's name, such as "uint8".
func (t IDXType) String() string {
	switch t {
	case IDXUint8:
		return "uint8"
	case IDXInt8:
		return "int8"
	case IDXInt16:
		return "int16"
	case IDXInt32:
		return "int32"
	case IDXFloat32:
		return "float32"
	case IDXFloat64:
		return "float64"
	}
	return fmt.Sprintf("IDXType(0x%02x)", byte(t))
}

// MaxIDXBytes is the largest data section, in bytes, that the IDX readers
// accept. A header that claims more is refused before anything of that size
// is allocated.
var MaxIDXBytes int64 = 1 << 32

// maxIDXDims is the largest number of dimensions accepted in an IDX header.
const maxIDXDims = 16

// IDX is the content of an IDX file: an n-dimensional array of one element
// type, its elements stored in Data as big-endian bytes in row-major order.
type IDX struct {
	Type IDXType
	Dims []int
	Data []byte
}

// Len returns the size of the first dimension (the number of items in an
// MNIST file).
func (m *IDX) Len() int {
	if len(m.Dims) == 0 {
		return 0
	}
	return m.Dims[0]
}

// Float32s converts len(dst) elements, starting at element off, to float32
// and writes them to dst. Integer types are converted as they are, without
// scaling.
func (m *IDX) Float32s(dst []float32, off int) {
	switch m.Type {
	case IDXUint8:
		for i, b := range m.Data[off : off+len(dst)] {
			dst[i] = float32(b)
		}
	case IDXInt8:
		for i, b := range m.Data[off : off+len(dst)] {
			dst[i] = float32(int8(b))
		}
	case IDXInt16:
		b := m.Data[2*off : 2*(off+len(dst))]
		for i := range dst {
			dst[i] = float32(int16(binary.BigEndian.Uint16(b[2*i:])))
		}
	case IDXInt32:
		b := m.Data[4*off : 4*(off+len(dst))]
		for i := range dst {
			dst[i] = float32(int32(binary.BigEndian.Uint32(b[4*i:])))
		}
	case IDXFloat32:
		b := m.Data[4*off : 4*(off+len(dst))]
		for i := range dst {
			dst[i] = math.Float32frombits(binary.BigEndian.Uint32(b[4*i:]))
		}
	case IDXFloat64:
		b := m.Data[8*off : 8*(off+len(dst))]
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.BigEndian.Uint64(b[8*i:])))
		}
	default:
		panic(fmt.Sprintf("data: IDX.Float32s: unknown element type %v", m.Type))
	}
}

// dataSize checks dims and returns the byte length of the data section
// they describe, refusing sizes over MaxIDXBytes.
func idxDataSize(t IDXType, dims []int) (int64, error) {
	n := int64(t.Size())
	if n == 0 {
		return 0, fmt.Errorf("unknown element type 0x%02x", byte(t))
	}
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in %v", dims)
		}
		if d != 0 && n > MaxIDXBytes/int64(d) {
			return 0, fmt.Errorf("dimensions %v describe more than %d bytes of data (MaxIDXBytes)", dims, MaxIDXBytes)
		}
		n *= int64(d)
	}
	return n, nil
}

// idxHeader parses the magic number and dimensions at the start of b,
// which holds at least the first 4 bytes. It returns the element type, the
// number of dimensions and an error naming the offending byte.
func idxMagic(name string, b []byte) (IDXType, int, error) {
	if b[0] != 0 || b[1] != 0 {
		return 0, 0, fileErr(name, 0, "bad magic number 0x%02x%02x%02x%02x: an IDX file starts with two zero bytes", b[0], b[1], b[2], b[3])
	}
	t := IDXType(b[2])
	if t.Size() == 0 {
		return 0, 0, fileErr(name, 2, "bad element type 0x%02x: want one of 0x08 (uint8), 0x09 (int8), 0x0b (int16), 0x0c (int32), 0x0d (float32), 0x0e (float64)", b[2])
	}
	nd := int(b[3])
	if nd == 0 || nd > maxIDXDims {
		return 0, 0, fileErr(name, 3, "bad number of dimensions %d: want 1 to %d", nd, maxIDXDims)
	}
	return t, nd, nil
}

func idxDims(name string, b []byte, t IDXType) ([]int, int64, error) {
	dims := make([]int, len(b)/4)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(b[4*i:]))
	}
	need, err := idxDataSize(t, dims)
	if err != nil {
		return nil, 0, fileErr(name, 4, "%v", err)
	}
	return dims, need, nil
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// ParseIDX parses an IDX file held in memory, raw or gzip-compressed (told
// apart by the gzip magic bytes). name is used in error messages. For a raw
// file the returned IDX shares b (no copy).
func ParseIDX(b []byte, name string) (*IDX, error) {
	if isGzip(b) {
		return ReadIDX(bytes.NewReader(b), name)
	}
	if len(b) < 4 {
		return nil, fileErr(name, int64(len(b)), "truncated header: %d bytes, an IDX header has at least 8", len(b))
	}
	t, nd, err := idxMagic(name, b)
	if err != nil {
		return nil, err
	}
	hdr := 4 + 4*nd
	if len(b) < hdr {
		return nil, fileErr(name, int64(len(b)), "truncated header: %d dimensions need %d header bytes, file has %d", nd, hdr, len(b))
	}
	dims, need, err := idxDims(name, b[4:hdr], t)
	if err != nil {
		return nil, err
	}
	have := int64(len(b) - hdr)
	if have < need {
		return nil, fileErr(name, int64(len(b)), "truncated data: dimensions %v of %v need %d bytes after the header, file has %d", dims, t, need, have)
	}
	if have > need {
		return nil, fileErr(name, int64(hdr)+need, "wrong element count: dimensions %v of %v need %d bytes after the header, file has %d (%d extra)", dims, t, need, have, have-need)
	}
	return &IDX{Type: t, Dims: dims, Data: b[hdr:]}, nil
}

// ReadIDX reads an IDX file, raw or gzip-compressed, from r. name is used in
// error messages. Memory grows with the data actually read, so a header
// claiming huge dimensions over a short stream costs nothing.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	br := bufio.NewReader(r)
	if p, _ := br.Peek(2); isGzip(p) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fileErr(name, 0, "bad gzip header: %v", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
		name += " (decompressed)"
	}
	var head [4 + 4*maxIDXDims]byte
	if n, err := io.ReadFull(br, head[:4]); err != nil {
		return nil, readErr(name, int64(n), err, "truncated header: %d bytes, an IDX header has at least 8", n)
	}
	t, nd, err := idxMagic(name, head[:4])
	if err != nil {
		return nil, err
	}
	hdr := 4 + 4*nd
	if n, err := io.ReadFull(br, head[4:hdr]); err != nil {
		return nil, readErr(name, int64(4+n), err, "truncated header: %d dimensions need %d header bytes, file has %d", nd, hdr, 4+n)
	}
	dims, need, err := idxDims(name, head[4:hdr], t)
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, min(need, 1<<20))
	for int64(len(data)) < need {
		if len(data) == cap(data) {
			grown := make([]byte, len(data), min(need, 2*int64(cap(data))))
			copy(grown, data)
			data = grown
		}
		n, err := br.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fileErr(name, int64(hdr+len(data)), "%v", err)
		}
	}
	if have := int64(len(data)); have < need {
		return nil, fileErr(name, int64(hdr)+have, "truncated data: dimensions %v of %v need %d bytes after the header, file has %d", dims, t, need, have)
	}
	// Read to the end: this makes gzip check its CRC, and finds extra bytes.
	extra, err := io.Copy(io.Discard, br)
	if err != nil {
		return nil, fileErr(name, int64(hdr)+need+extra, "%v", err)
	}
	if extra > 0 {
		return nil, fileErr(name, int64(hdr)+need, "wrong element count: dimensions %v of %v need %d bytes after the header, file has %d (%d extra)", dims, t, need, need+extra, extra)
	}
	return &IDX{Type: t, Dims: dims, Data: data}, nil
}

func readErr(name string, off int64, err error, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fileErr(name, off, format, args...)
	}
	return fileErr(name, off, "%v", err)
}

// ReadIDXFile reads the IDX file at path, decompressing it when it is
// gzip-compressed.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [2]byte
	n, _ := io.ReadFull(f, magic[:])
	if isGzip(magic[:n]) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return ReadIDX(f, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseIDX(b, path)
}

// WriteTo writes m in the IDX format to w. It returns an error when Data
// does not hold exactly the elements that Type and Dims describe.
func (m *IDX) WriteTo(w io.Writer) (int64, error) {
	need, err := idxDataSize(m.Type, m.Dims)
	if err != nil {
		return 0, fmt.Errorf("data: IDX.WriteTo: %v", err)
	}
	if int64(len(m.Data)) != need {
		return 0, fmt.Errorf("data: IDX.WriteTo: %d data bytes, dimensions %v of %v need %d", len(m.Data), m.Dims, m.Type, need)
	}
	if len(m.Dims) == 0 || len(m.Dims) > maxIDXDims {
		return 0, fmt.Errorf("data: IDX.WriteTo: %d dimensions, want 1 to %d", len(m.Dims), maxIDXDims)
	}
	head := make([]byte, 4+4*len(m.Dims))
	head[2], head[3] = byte(m.Type), byte(len(m.Dims))
	for i, d := range m.Dims {
		if int64(d) > math.MaxUint32 {
			return 0, fmt.Errorf("data: IDX.WriteTo: dimension %d does not fit in 32 bits", d)
		}
		binary.BigEndian.PutUint32(head[4+4*i:], uint32(d))
	}
	n, err := w.Write(head)
	if err != nil {
		return int64(n), err
	}
	k, err := w.Write(m.Data)
	return int64(n + k), err
}

// WriteIDXFile writes m to path, gzip-compressed when the path ends in
// ".gz".
func WriteIDXFile(path string, m *IDX) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	_, err = m.WriteTo(w)
	if zw != nil {
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
