package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVecMatchesScalar checks the vector loops against Go's scalar
// expressions bit for bit (NaN only as NaN), on awkward lengths and values
// that include ±0, denormals, infinities and NaN, with guard values after
// the end that must not change.
func TestVecMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	val := func() float32 {
		switch r.IntN(10) {
		case 0:
			return float32(math.Copysign(0, r.Float64()-0.5))
		case 1:
			return math.Float32frombits(r.Uint32() & 0x807fffff)
		case 2:
			return float32(math.Inf(1 - 2*r.IntN(2)))
		case 3:
			return float32(math.NaN())
		}
		return float32(r.NormFloat64())
	}
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
	}
	const guard = 12345.5
	for _, n := range []int{1, 7, 15, 16, 17, 33, 255, 1000} {
		src, dst := make([]float32, n), make([]float32, n+3)
		for i := range src {
			src[i], dst[i] = val(), val()
		}
		dst[n], dst[n+1], dst[n+2] = guard, guard, guard
		want := append([]float32(nil), dst...)
		for i := range src {
			want[i] += src[i]
		}
		done := addVec(dst[:n], src)
		for i := done; i < n; i++ {
			dst[i] += src[i]
		}
		for i := range want {
			if !same(dst[i], want[i]) {
				t.Fatalf("addVec n=%d: [%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
		for _, b := range []float32{0, float32(math.Copysign(0, -1)), 0.75, -1e-40} {
			for _, relu := range []bool{false, true} {
				for i := range dst[:n] {
					want[i] = src[i] + b
					if relu {
						want[i] = max(want[i], 0)
					}
				}
				biasReLU(dst[:n], src, 1, b, true, relu)
				for i := range want {
					if !same(dst[i], want[i]) {
						t.Fatalf("biasReLU n=%d b=%v relu=%v: [%d] = %v, want %v (src %v)", n, b, relu, i, dst[i], want[i], src[i%n])
					}
				}
			}
		}
		// Without a bias, ReLU still equals max(x, 0).
		for i := range dst[:n] {
			want[i] = max(src[i], 0)
		}
		biasReLU(dst[:n], src, 1, 0, false, true)
		for i := range want {
			if !same(dst[i], want[i]) {
				t.Fatalf("ReLU n=%d: [%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
	}
}

// TestSumLanes checks the vector sum against sumLanesGo bit for bit.
func TestSumLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{0, 1, 7, 15, 16, 17, 33, 196, 255, 784, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
		}
		if got, want := sumLanes(x), sumLanesGo(x); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("n=%d: sumLanes %v, sumLanesGo %v", n, got, want)
		}
	}
}
