package optim

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fmaRef computes a·b + c exactly with big.Float and rounds once to float32.
func fmaRef(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(0).SetFloat64(float64(a))
	y := new(big.Float).SetPrec(0).SetFloat64(float64(b))
	z := new(big.Float).SetPrec(0).SetFloat64(float64(c))
	prod := new(big.Float).SetPrec(2000).Mul(x, y)
	sum := new(big.Float).SetPrec(2000).Add(prod, z)
	if sum.Sign() == 0 {
		return float32(float64(a)*float64(b) + float64(c))
	}
	f, _ := sum.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(a, b, c float32) {
		t.Helper()
		got, want := fma32(a, b, c), fmaRef(a, b, c)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%x), want %g (%x)", a, b, c, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	for range 200000 {
		a := float32(r.NormFloat64())
		b := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(60)-30)))
		c := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(60)-30)))
		check(a, b, c)
	}
	// Halfway cases: c is a float32 and a·b is half its unit plus a tiny bit.
	for range 20000 {
		c := float32(1 + r.Float64())
		ulp := math.Nextafter32(c, 2) - c
		half := ulp / 2
		tiny := float32(math.Ldexp(1, -60-r.IntN(20)))
		check(half, 1, c)
		check(-half, 1, c)
		check(half+tiny*half, 1, c) // not exact: a·b rounding
		check(1+tiny, half, c)
		check(1-tiny, half, c)
		check(-(1 + tiny), half, c)
		check(-(1 - tiny), half, c)
	}
	// Subnormal results.
	for range 20000 {
		a := float32(math.Ldexp(r.Float64(), -70))
		b := float32(math.Ldexp(r.Float64(), -70))
		c := float32(math.Ldexp(r.NormFloat64(), -140))
		check(a, b, c)
	}
	check(float32(math.Inf(1)), 1, 1)
	check(3e38, 10, -3e38)
}
