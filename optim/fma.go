package optim

import "math"

// fma32 returns a·b + c rounded once to float32, as a fused multiply-add
// does. PyTorch's CPU kernels for add with alpha (x.add_(y, alpha=a)) and
// addcmul fuse, so the updates use fma32 wherever PyTorch calls them, which
// keeps them bit-identical to PyTorch's.
//
// The product of two float32s is exact in float64. The sum is rounded to
// float64 "to odd" (an inexact result gets an odd last bit), which with its
// 29 spare bits makes the final rounding to float32 correct (Boldo and
// Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms
// using rounding to odd", 2008). The rounding error of the float64 sum is
// found exactly with Knuth's two-sum.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	t := s - p
	if e := (p - (s - t)) + (float64(c) - t); e < 0 || e > 0 { // s + e == p + c; NaN when s is not finite
		// Round to odd: of s and its neighbour towards the exact sum (down
		// in magnitude when e and s differ in sign), take the odd one.
		// (e·s cannot underflow: both are multiples of 2^-298.)
		down := math.Float64bits(e*s) >> 63
		s = math.Float64frombits((math.Float64bits(s) - down) | 1)
	}
	return float32(s)
}
