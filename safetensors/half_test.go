package safetensors

import (
	"math"
	"testing"
)

func TestHalfToFloat32Table(t *testing.T) {
	// Expected values worked out by hand from the binary16 layout
	// (1 sign, 5 exponent bits biased by 15, 10 mantissa bits).
	cases := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0x4000, 2},
		{0xc000, -2},
		{0x3800, 0.5},
		{0x3e00, 1.5},
		{0x3555, 0.333251953125},         // 1.0101010101b × 2^-2
		{0x7bff, 65504},                  // largest finite
		{0x0400, 6.103515625e-05},        // 2^-14, smallest normal
		{0x0001, 5.9604644775390625e-08}, // 2^-24, smallest subnormal
		{0x03ff, 6.097555160522461e-05},  // 1023 × 2^-24, largest subnormal
		{0x0200, 3.0517578125e-05},       // 2^-15
		{0x8001, -5.9604644775390625e-08},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := halfToFloat32(c.h); math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("halfToFloat32(%#04x) = %g (%#08x), want %g (%#08x)",
				c.h, got, math.Float32bits(got), c.want, math.Float32bits(c.want))
		}
	}
	if got := math.Float32bits(halfToFloat32(0x8000)); got != 0x80000000 {
		t.Errorf("halfToFloat32(0x8000) bits %#08x, want -0 (0x80000000)", got)
	}
	for _, h := range []uint16{0x7e00, 0x7c01, 0xfe00, 0x7fff} {
		got := halfToFloat32(h)
		if !math.IsNaN(float64(got)) {
			t.Errorf("halfToFloat32(%#04x) = %g, want NaN", h, got)
		}
		// The sign and payload carry over into the top of the mantissa.
		if want := uint32(h&0x8000)<<16 | 0x7f800000 | uint32(h&0x3ff)<<13; math.Float32bits(got) != want {
			t.Errorf("halfToFloat32(%#04x) bits %#08x, want %#08x", h, math.Float32bits(got), want)
		}
	}
}

// TestHalfToFloat32All checks every binary16 value against the value
// computed another way, in float64 arithmetic from the definition.
func TestHalfToFloat32All(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		exp := int(h>>10) & 0x1f
		mant := float64(h & 0x3ff)
		var want float64
		switch exp {
		case 0:
			want = sign * math.Ldexp(mant, -24)
		case 0x1f:
			if mant == 0 {
				want = math.Inf(int(sign))
			} else {
				want = math.NaN()
			}
		default:
			want = sign * math.Ldexp(1+mant/1024, exp-15)
		}
		got := halfToFloat32(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("halfToFloat32(%#04x) = %g, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("halfToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

func TestBfloat16ToFloat32(t *testing.T) {
	cases := []struct {
		b    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3f80, 1},
		{0xc040, -3},
		{0x4049, 3.140625}, // 1.1001001b × 2
		{0x3e80, 0.25},
		{0x7f7f, 3.3895313892515355e+38}, // largest finite
		{0x0080, 1.1754943508222875e-38}, // smallest normal, 2^-126
		{0x0001, 9.183549615799121e-41},  // smallest subnormal, 2^-133
		{0x7f80, float32(math.Inf(1))},
		{0xff80, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := bfloat16ToFloat32(c.b); math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("bfloat16ToFloat32(%#04x) = %g, want %g", c.b, got, c.want)
		}
	}
	if got := bfloat16ToFloat32(0x7fc0); !math.IsNaN(float64(got)) {
		t.Errorf("bfloat16ToFloat32(0x7fc0) = %g, want NaN", got)
	}
	if got := math.Float32bits(bfloat16ToFloat32(0x8000)); got != 0x80000000 {
		t.Errorf("bfloat16ToFloat32(0x8000) bits %#08x, want -0", got)
	}
}
