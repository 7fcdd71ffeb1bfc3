package safetensors

import (
	"encoding/binary"
	"math"
)

// raw builds a safetensors file from a header, given verbatim (no padding
// added), and a data buffer.
func raw(hdr string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	b = append(b, hdr...)
	return append(b, data...)
}

// f32le returns the little-endian bytes of vs as F32.
func f32le(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// u16le returns the little-endian bytes of the 16-bit patterns hs.
func u16le(hs ...uint16) []byte {
	var b []byte
	for _, h := range hs {
		b = binary.LittleEndian.AppendUint16(b, h)
	}
	return b
}
