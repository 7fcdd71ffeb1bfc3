package tensor

import (
	"math"
	"testing"
)

// TestGather2Vec checks the stride-2 gather of im2col's strided rows
// against the scalar loop on every length from 0 to 40, with src as
// short as the gather allows (2n-1 elements) and longer, NaN included.
func TestGather2Vec(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for _, extra := range []int{-1, 0, 7} {
			m := max(2*n+extra, 0)
			src := make([]float32, m)
			for i := range src {
				src[i] = float32(i) + 0.5
			}
			if m > 3 {
				src[3] = float32(math.NaN())
				src[2] = float32(math.Inf(-1))
			}
			d := make([]float32, n)
			for j := gather2Vec(d, src); j < n; j++ {
				d[j] = src[2*j]
			}
			for j := range d {
				if math.Float32bits(d[j]) != math.Float32bits(src[2*j]) {
					t.Fatalf("n=%d, len(src)=%d: d[%d] = %v, want %v", n, m, j, d[j], src[2*j])
				}
			}
		}
	}
}
