package safetensors

import "math"

// halfToFloat32 converts an IEEE 754 binary16 value to float32. Every
// binary16 value is exactly representable in float32, so this is exact,
// including subnormals, infinities, signed zeros and NaN payloads.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		if mant == 0 {
			return math.Float32frombits(sign) // ±0
		}
		// Subnormal: mant × 2^-24. float32 has the range to hold it as a
		// normal number, so shift the leading one up to the implicit-bit
		// position (0x400), lowering the exponent once per shift. The
		// starting exponent is that of 2^-14, binary16's smallest normal.
		e := uint32(127 - 14)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	case 0x1f:
		// Inf when mant is 0, else NaN; the payload is kept (shifted into
		// the top of float32's mantissa, so a quiet NaN stays quiet).
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	// Normal: rebias the exponent from 15 to 127, widen the mantissa.
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// bfloat16ToFloat32 converts a bfloat16 value, which is the top half of a
// float32, to float32. It is exact.
func bfloat16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}
