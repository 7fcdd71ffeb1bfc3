package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWinoWeightsPackedLayout checks winoWeightsPacked against
// winoWeights element by element, bit for bit, the last block's spare
// rows 0, on sizes that leave partial blocks of output channels and
// partial chunks of input channels.
func TestWinoWeightsPackedLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sz := range []struct{ o, c int }{{1, 1}, {5, 3}, {6, 64}, {7, 65}, {13, 130}, {64, 16}, {18, 200}} {
		t.Run(fmt.Sprintf("%dx%d", sz.o, sz.c), func(t *testing.T) {
			w := make([]float32, 9*sz.o*sz.c)
			for i := range w {
				w[i] = float32(r.NormFloat64())
			}
			ref := winoWeights(w, sz.o, sz.c)
			got := winoWeightsPacked(w, sz.o, sz.c)
			defer putFloats(ref)
			defer putFloats(got)
			om := (sz.o + 5) / 6 * 6
			us := winoUStride(sz.o, sz.c)
			for k := range 16 {
				for oi := range om {
					for ci := range sz.c {
						g := got[k*om*sz.c+oi/6*6*sz.c+ci*6+oi%6]
						want := float32(0)
						if oi < sz.o {
							want = ref[k*us+oi*sz.c+ci]
						}
						if g != want && !(g != g && want != want) {
							t.Fatalf("ξ %d, output %d, input %d: %v, want %v", k, oi, ci, g, want)
						}
					}
				}
			}
		})
	}
}

// BenchmarkWinoWeightsPacked times the packed F(2×2, 3×3) weight
// transform that a convolution without a prepared weight makes per call.
func BenchmarkWinoWeightsPacked(b *testing.B) {
	for _, c := range []int{64, 512} {
		w := make([]float32, 9*c*c)
		for i := range w {
			w[i] = float32(i%7) - 3
		}
		b.Run(fmt.Sprint(c), func(b *testing.B) {
			for b.Loop() {
				putFloats(winoWeightsPacked(w, c, c))
			}
		})
	}
}
