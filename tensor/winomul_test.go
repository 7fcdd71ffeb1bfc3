package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestWinoMulMatchesReference checks the Winograd products' kernels against
// a float64 product on awkward sizes: output channels that are not
// multiples of 6 (the packed blocks' spare rows), tile counts with tails of
// 1..15 past the 16-column blocks, short and long sums, and that the spare
// columns of V do not reach the tiles.
func TestWinoMulMatchesReference(t *testing.T) {
	if !winoMulOK() {
		t.Skip("no AVX2 and FMA: winoMul does not run on this machine")
	}
	r := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct{ o, k, nt int }{
		{64, 32, 49}, {1, 1, 1}, {5, 16, 7}, {6, 3, 8}, {7, 17, 15}, {13, 32, 16},
		{64, 32, 1568}, {12, 20, 31}, {3, 40, 33}, {18, 9, 57},
	} {
		name := fmt.Sprintf("%+v", c)
		w := randTensor(r, c.o, c.k, 3, 3)
		u := winoWeightsPacked(w.data, c.o, c.k)
		plain := winoWeights(w.data, c.o, c.k)
		lay := newWinoLayout(c.nt, c.o, true)
		v := make([]float32, 16*c.k*lay.ldv)
		for i := range v {
			v[i] = float32(math.NaN()) // the spare columns: never to reach a tile
		}
		for i := range 16 * c.k {
			for j := range c.nt {
				v[i*lay.ldv+j] = float32(r.NormFloat64())
			}
			clear(v[i*lay.ldv+c.nt : (i+1)*lay.ldv])
		}
		m := make([]float32, 16*lay.om*lay.ldm)
		for xi := range 16 {
			winoMulVec(u[xi*lay.om*c.k:][:lay.om*c.k], v[xi*c.k*lay.ldv:][:c.k*lay.ldv], lay.ldv, c.k,
				m[xi*lay.om*lay.ldm:][:lay.om*lay.ldm], lay.ldm, c.nt)
			for o := range c.o {
				for j := range c.nt {
					var want, big float64
					for kk := range c.k {
						p := float64(plain[xi*winoUStride(c.o, c.k)+o*c.k+kk]) * float64(v[(xi*c.k+kk)*lay.ldv+j])
						want += p
						big += math.Abs(p)
					}
					got := float64(m[(xi*lay.om+o)*lay.ldm+j])
					if math.Abs(got-want) > 1e-6*big+1e-30 || got != got {
						t.Fatalf("%s: ξ %d, M[%d][%d] = %v, want %v", name, xi, o, j, got, want)
					}
				}
			}
		}
		putFloats(u)
		putFloats(plain)
	}
}
