package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSGDVectorMatchesScalar checks that the vectorised SGD loops give the
// scalar fma32 loop's bits, on awkward lengths and on values that include
// denormals, zeros of both signs, infinities and NaN, on ordinary values,
// and on normal values whose results underflow to denormals.
func TestSGDVectorMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	mode := 0
	val := func() float32 { return awkwardFloat(r, mode) }
	for i, n := range []int{1, 7, 15, 16, 17, 33, 255, 1000, 1000, 1000, 2*minParallelParams + 17} {
		mode = max(0, i-7) % 3
		p, g, b := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range p {
			p[i], g[i], b[i] = val(), val(), val()
		}
		wp, wb := append([]float32(nil), p...), append([]float32(nil), b...)
		const nlr, mu, damp = -0.05, 0.9, 0.75
		for i := range wp {
			wb[i] = fma32(damp, g[i], float32(wb[i]*mu))
			wp[i] = fma32(nlr, wb[i], wp[i])
		}
		sgdMomentum(p, g, b, nlr, 0, mu, damp, false, false, false)
		for i := range p {
			if math.Float32bits(p[i]) != math.Float32bits(wp[i]) || math.Float32bits(b[i]) != math.Float32bits(wb[i]) {
				t.Fatalf("momentum n=%d i=%d: got p=%v b=%v, want p=%v b=%v", n, i, p[i], b[i], wp[i], wb[i])
			}
		}
		for i := range wp {
			wp[i] = fma32(nlr, g[i], wp[i])
		}
		sgdPlain(p, g, nlr, 0, false)
		for i := range p {
			if math.Float32bits(p[i]) != math.Float32bits(wp[i]) {
				t.Fatalf("plain n=%d i=%d: got %v, want %v", n, i, p[i], wp[i])
			}
		}
	}
}

// awkwardFloat returns a test value for the vector loops: with mode 1 an
// ordinary one, with mode 2 a normal one near the bottom of the range
// (results underflow), otherwise a mix of denormals, zeros of both signs,
// infinities, NaN and values across twelve decades.
func awkwardFloat(r *rand.Rand, mode int) float32 {
	switch mode {
	case 1: // ordinary values: the fast path
		return float32(r.NormFloat64())
	case 2: // normal inputs near the bottom of the range: results underflow
		return float32(r.NormFloat64() * 1e-37)
	}
	switch r.IntN(12) {
	case 0:
		return math.Float32frombits(r.Uint32() & 0x807fffff) // denormal
	case 1:
		return float32(math.Copysign(0, r.Float64()-0.5))
	case 2:
		return float32(math.Inf(1 - 2*r.IntN(2)))
	case 3:
		return float32(math.NaN())
	default:
		return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(12)-6)))
	}
}

// TestSGDOptionsVectorMatchesScalar checks SGD's update with every
// combination of its options (maximize, weight decay, first step,
// Nesterov; with momentum and without) against the scalar loops bit for
// bit, on every length up to 40 (tails 1..3 after the vector part) and on
// awkward values.
func TestSGDOptionsVectorMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const nlr, mu, damp, wd = -0.05, 0.9, 0.75, 1e-2
	for combo := range 32 {
		maximize, decay, momentum, first, nesterov := combo&1 != 0, combo&2 != 0, combo&4 != 0, combo&8 != 0, combo&16 != 0
		if !momentum && (first || nesterov) {
			continue
		}
		w := float32(0)
		if decay {
			w = wd
		}
		for n := 0; n <= 40; n++ {
			mode := n % 3
			p, g, b := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range p {
				p[i], g[i], b[i] = awkwardFloat(r, mode), awkwardFloat(r, mode), awkwardFloat(r, mode)
			}
			wp, wb := append([]float32(nil), p...), append([]float32(nil), b...)
			if momentum {
				sgdMomentumGeneral(wp, g, wb, nlr, w, mu, damp, first, nesterov, maximize)
				sgdMomentum(p, g, b, nlr, w, mu, damp, first, nesterov, maximize)
			} else {
				sgdPlainGeneral(wp, g, nlr, w, maximize)
				sgdPlain(p, g, nlr, w, maximize)
			}
			for i := range p {
				if math.Float32bits(p[i]) != math.Float32bits(wp[i]) || math.Float32bits(b[i]) != math.Float32bits(wb[i]) {
					t.Fatalf("options %05b n=%d i=%d: got p=%v b=%v, want p=%v b=%v", combo, n, i, p[i], b[i], wp[i], wb[i])
				}
			}
		}
	}
}
