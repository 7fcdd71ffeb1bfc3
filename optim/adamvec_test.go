package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamVectorMatchesScalar checks that adamUpdate's vectorised and
// split common case (Adam without weight decay, AdamW) gives the scalar
// loop's bits for the parameters and both moments, on lengths with every
// tail 0..7 after the vector part and one that is split over goroutines,
// on awkward values (denormals, zeros of both signs, infinities, NaN),
// ordinary ones and ones whose results underflow.
func TestAdamVectorMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	lengths := []int{2*minParallelParams + 13}
	for n := 0; n <= 40; n++ {
		lengths = append(lengths, n)
	}
	for _, decoupled := range []bool{false, true} {
		for _, n := range lengths {
			for mode := range 3 {
				p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range p {
					p[i], g[i], m[i] = awkwardFloat(r, mode), awkwardFloat(r, mode), awkwardFloat(r, mode)
					v[i] = float32(math.Abs(float64(awkwardFloat(r, mode))))
					if i%17 == 5 {
						v[i] = -v[i] // a negative second moment: √ gives NaN
					}
				}
				k := adamConsts{b1: 0.9, omb1: float32(1 - 0.9), b2: 0.999, omb2: float32(1 - 0.999), eps: 1e-8,
					nstep: -0.0123, bc2sqrt: 0.0447}
				if decoupled {
					k.decay = 0.99
				}
				wp, wg, wm, wv := append([]float32(nil), p...), g, append([]float32(nil), m...), append([]float32(nil), v...)
				adamRange(wp, wg, wm, wv, wv, &k, decoupled)
				adamUpdate(p, g, m, v, v, &k, decoupled)
				for i := range p {
					for _, c := range [][3]any{{"p", p[i], wp[i]}, {"m", m[i], wm[i]}, {"v", v[i], wv[i]}} {
						got, want := c[1].(float32), c[2].(float32)
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("decoupled=%v n=%d mode=%d i=%d: %s = %v (%#x), want %v (%#x)", decoupled, n, mode, i, c[0], got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			}
		}
	}
}

// TestRMSpropVectorMatchesScalar is TestAdamVectorMatchesScalar for
// RMSprop's common case (not centered, no weight decay), with momentum and
// without.
func TestRMSpropVectorMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	lengths := []int{2*minParallelParams + 13}
	for n := 0; n <= 40; n++ {
		lengths = append(lengths, n)
	}
	for _, momentum := range []bool{false, true} {
		for _, n := range lengths {
			for mode := range 3 {
				p, g, sq, buf := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range p {
					p[i], g[i], buf[i] = awkwardFloat(r, mode), awkwardFloat(r, mode), awkwardFloat(r, mode)
					sq[i] = float32(math.Abs(float64(awkwardFloat(r, mode))))
					if i%17 == 5 {
						sq[i] = -sq[i] // a negative mean square: √ gives NaN
					}
				}
				k := rmsConsts{nlr: -0.0123, alpha: 0.99, oma: float32(1 - 0.99), eps: 1e-8, mu: 0.9}
				wp, wsq, wbuf := append([]float32(nil), p...), append([]float32(nil), sq...), append([]float32(nil), buf...)
				rmspropRange(wp, g, wsq, wbuf, wbuf, momentum, false, &k)
				rmspropUpdate(p, g, sq, buf, buf, momentum, false, &k)
				for i := range p {
					for _, c := range [][3]any{{"p", p[i], wp[i]}, {"sq", sq[i], wsq[i]}, {"buf", buf[i], wbuf[i]}} {
						got, want := c[1].(float32), c[2].(float32)
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("momentum=%v n=%d mode=%d i=%d: %s = %v (%#x), want %v (%#x)", momentum, n, mode, i, c[0], got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			}
		}
	}
}
