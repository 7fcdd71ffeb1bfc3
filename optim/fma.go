package optim

import "math"

// fma32 returns a·b + c with a single multiply-add, as PyTorch's CPU kernels
// compute add with alpha (x.add_(y, alpha=a)) and addcmul; the updates use
// it wherever PyTorch does, which keeps them equal to PyTorch's on the
// golden cases.
//
// The product of two float32s is exact in float64, so the one float64
// fused multiply-add (a hardware instruction on amd64 and arm64) rounds
// once to float64 and then to float32. That second rounding can differ
// from a true float32 FMA by one unit in the last place, only when the
// float64 result falls exactly halfway between two float32s: rare enough
// to be worth the speed (a branch-free exact emulation by rounding to odd
// measured 3.5× slower per parameter).
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}
