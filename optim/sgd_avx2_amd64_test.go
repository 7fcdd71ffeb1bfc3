//go:build amd64 && !noasm

package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSGDAVX2MatchesScalar checks the AVX2 SGD loops against the scalar
// fma32 loop bit for bit, whichever set the CPU would choose, on every
// length up to 40 (tails 1..7 after the vector part) and on awkward values.
func TestSGDAVX2MatchesScalar(t *testing.T) {
	if !hasSGD256 {
		t.Skip("the CPU has no AVX2 with FMA")
	}
	r := rand.New(rand.NewPCG(5, 6))
	const nlr, mu, damp = -0.05, 0.9, 0.75
	for n := 0; n <= 40; n++ {
		for mode := range 3 {
			p, g, b := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range p {
				p[i], g[i], b[i] = awkwardFloat(r, mode), awkwardFloat(r, mode), awkwardFloat(r, mode)
			}
			wp, wb := append([]float32(nil), p...), append([]float32(nil), b...)
			for i := range wp {
				wb[i] = fma32(damp, g[i], float32(wb[i]*mu))
				wp[i] = fma32(nlr, wb[i], wp[i])
			}
			k := sgdMom256(p, g, b, nlr, mu, damp)
			if k != n&^7 {
				t.Fatalf("n=%d: sgdMom256 did %d, want %d", n, k, n&^7)
			}
			for i := range k {
				if math.Float32bits(p[i]) != math.Float32bits(wp[i]) || math.Float32bits(b[i]) != math.Float32bits(wb[i]) {
					t.Fatalf("momentum n=%d mode=%d i=%d: got p=%v b=%v, want p=%v b=%v", n, mode, i, p[i], b[i], wp[i], wb[i])
				}
			}
			for i := range wp {
				wp[i] = fma32(nlr, g[i], p[i])
			}
			k = sgdPlain256(p, g, nlr)
			for i := range k {
				if math.Float32bits(p[i]) != math.Float32bits(wp[i]) {
					t.Fatalf("plain n=%d mode=%d i=%d: got %v, want %v", n, mode, i, p[i], wp[i])
				}
			}
		}
	}
}
