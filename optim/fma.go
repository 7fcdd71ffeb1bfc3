package optim

import "math"

// fma32 returns a·b + c rounded once to float32, as a fused multiply-add
// does. PyTorch's CPU kernel for add with alpha (x.add_(y, alpha=a)) is
// fused, so the updates use fma32 wherever PyTorch calls it, which keeps
// them bit-identical to PyTorch's.
//
// The product of two float32s is exact in float64, so s = a·b + c rounded to
// float64 is off by less than half a float64 unit; rounding s to float32 is
// then correct except when s lies exactly halfway between two float32s,
// which fma32Tie settles with the exact error of the sum.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	bits := math.Float64bits(s)
	// A float32 halfway point in the normal range has the 29 low mantissa
	// bits 1000...0; below 2^-126 the float32 spacing differs.
	if bits&(1<<29-1) != 1<<28 && math.Abs(s) >= 0x1p-126 {
		return float32(s)
	}
	return fma32Tie(p, float64(c), s)
}

func fma32Tie(p, c, s float64) float32 {
	r := float32(s)
	if float64(r) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return r
	}
	var other float32
	if float64(r) < s {
		other = math.Nextafter32(r, float32(math.Inf(1)))
	} else {
		other = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	if s-float64(r) != float64(other)-s {
		return r // not a halfway point: rounding s is rounding p+c
	}
	// Exact error of s = p + c (Knuth's two-sum).
	bb := s - p
	e := (p - (s - bb)) + (c - bb)
	switch {
	case e > 0:
		return max(r, other)
	case e < 0:
		return min(r, other)
	}
	return r // a true tie: float32(s) rounded it to even
}
