//go:build amd64 && !noasm

package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestWinoInTilesMatchesPasses checks the one-pass input transform
// (winoInTiles) against the scalar row and column passes, bit for bit, on
// odd and even outputs, rows of fewer and more than 8 tiles, planes
// smaller than a tile and padding 0 to 2, several images a block.
func TestWinoInTilesMatchesPasses(t *testing.T) {
	if !hasWinoVec {
		t.Skip("no AVX2 on this machine")
	}
	defer func() { hasWinoVec = true }()
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ n, c, h, w, pad int }{
		{1, 16, 14, 14, 1}, {3, 17, 7, 9, 1}, {2, 16, 5, 30, 0}, {2, 16, 1, 1, 1}, {1, 16, 20, 3, 2}, {4, 16, 33, 17, 1},
	} {
		x := randTensor(r, c.n, c.c, c.h, c.w)
		w := randTensor(r, 5, c.c, 3, 3)
		g := newConvGeom(x, w, ConvParams{Padding: [2]int{c.pad, c.pad}})
		th, tw := (g.oh+1)/2, (g.ow+1)/2
		nt := c.n * th * tw
		ldv := nt + 8
		run := func(vec bool) []float32 {
			hasWinoVec = vec
			v := make([]float32, 16*c.c*ldv)
			buf := make([]float32, 16*(th+1)*(tw+1))
			g.winoInput(x.data, 0, c.n, v, ldv, buf)
			return v
		}
		got, want := run(true), run(false)
		for k := range 16 {
			for ci := range c.c {
				for j := range nt {
					i := (k*c.c+ci)*ldv + j
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: ξ %d, channel %d, tile %d: %v, want %v", fmt.Sprintf("%+v", c), k, ci, j, got[i], want[i])
					}
				}
			}
		}
	}
}
