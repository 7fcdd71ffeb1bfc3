package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/backprop-go/backprop/internal/fsutil"
	"github.com/backprop-go/backprop/tensor"
)

// Write writes tensors, as F32, and metadata in the safetensors format.
// Tensors are laid out in the sorted order of their names and the header is
// padded with spaces to a multiple of 8 bytes, so equal input gives equal
// bytes and every tensor's data is 4-byte aligned when the file is mapped.
// metadata may be nil; it is omitted from the header when empty.
//
// Names must be non-empty, valid UTF-8 and not "__metadata__"; tensors must
// not be nil; metadata keys and values must be valid UTF-8 (JSON cannot
// carry other bytes unchanged). Nothing is written when a check fails.
func Write(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	hdr, names, err := encodeHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := writeData(w, hdr, names, tensors); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// Save writes tensors and metadata to the file at path, as Write does,
// replacing any file there atomically: a crash or error leaves either the
// old file or the complete new one. The input is checked before the file
// system is touched. Errors name the file.
func Save(path string, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	hdr, names, err := encodeHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: save %s: %w", path, err)
	}
	err = fsutil.WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		return writeData(w, hdr, names, tensors)
	})
	if err != nil {
		return fmt.Errorf("safetensors: %w", err) // fsutil's errors name the path
	}
	return nil
}

// encodeHeader checks the input and returns the complete header (length
// prefix, JSON, padding) and the tensor names in the order of their data.
func encodeHeader(tensors map[string]*tensor.Tensor, metadata map[string]string) ([]byte, []string, error) {
	names := slices.Sorted(maps.Keys(tensors))
	var js bytes.Buffer
	js.WriteByte('{')
	if len(metadata) > 0 {
		// First, as the reference writes it, so a reader of the raw file
		// sees the architecture before the tensors.
		js.WriteString(`"` + metadataKey + `":{`)
		for i, k := range slices.Sorted(maps.Keys(metadata)) {
			v := metadata[k]
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, nil, fmt.Errorf("metadata %q: key or value is not valid UTF-8", k)
			}
			if i > 0 {
				js.WriteByte(',')
			}
			writeJSONString(&js, k)
			js.WriteByte(':')
			writeJSONString(&js, v)
		}
		js.WriteByte('}')
	}
	var pos int64
	for i, name := range names {
		t := tensors[name]
		switch {
		case name == "":
			return nil, nil, fmt.Errorf("tensor name is empty")
		case name == metadataKey:
			return nil, nil, fmt.Errorf("tensor name %q is reserved for the metadata", name)
		case !utf8.ValidString(name):
			return nil, nil, fmt.Errorf("tensor name %q is not valid UTF-8", name)
		case t == nil:
			return nil, nil, fmt.Errorf("tensor %q is nil", name)
		}
		if i > 0 || len(metadata) > 0 {
			js.WriteByte(',')
		}
		writeJSONString(&js, name)
		js.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape() {
			if j > 0 {
				js.WriteByte(',')
			}
			js.WriteString(strconv.Itoa(d))
		}
		end := pos + 4*int64(len(t.Data()))
		fmt.Fprintf(&js, `],"data_offsets":[%d,%d]}`, pos, end)
		pos = end
	}
	js.WriteByte('}')
	// Pad so that the data starts at a multiple of 8 from the file start.
	for js.Len()%8 != 0 {
		js.WriteByte(' ')
	}
	if js.Len() > MaxHeaderSize {
		return nil, nil, fmt.Errorf("header would be %d bytes, over the %d-byte limit readers accept", js.Len(), MaxHeaderSize)
	}
	out := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+js.Len()), uint64(js.Len()))
	return append(out, js.Bytes()...), names, nil
}

// writeJSONString writes s as a JSON string. json.Marshal of a string
// cannot fail; it escapes <, > and & too, which is valid JSON.
func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s)
	b.Write(q)
}

// writeData writes the header and then each tensor's elements, converted to
// little-endian bytes a chunk at a time.
func writeData(w io.Writer, hdr []byte, names []string, tensors map[string]*tensor.Tensor) error {
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for _, name := range names {
		for _, v := range tensors[name].Data() {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}
