package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBiasReLUStridedMatchesScalar checks biasReLU's strided case (the
// gathers of a position-major GEMM result) against its definition bit for
// bit, with and without the bias and the ReLU, on lengths 0..40 (every
// tail after the groups of 8) and strides from 2 to 600, with NaN, zeros
// of both signs and values that the bias turns negative.
func TestBiasReLUStridedMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, stride := range []int{2, 3, 17, 64, 600} {
		for n := 0; n <= 40; n++ {
			src := make([]float32, max(0, (n-1)*stride+1))
			for i := range src {
				switch i % 7 {
				case 2:
					src[i] = float32(math.NaN())
				case 4:
					src[i] = float32(math.Copysign(0, -1))
				case 5:
					src[i] = 0
				default:
					src[i] = float32(r.NormFloat64())
				}
			}
			for mode := range 4 {
				hasBias, relu := mode&1 != 0, mode&2 != 0
				const b = 0.25
				d := make([]float32, n)
				biasReLU(d, src, stride, b, hasBias, relu)
				for j := range d {
					want := src[j*stride]
					if hasBias {
						want += b
					}
					if relu {
						want = max(want, 0)
					}
					if math.Float32bits(d[j]) != math.Float32bits(want) {
						t.Fatalf("stride %d n=%d bias=%v relu=%v: d[%d] = %v, want %v", stride, n, hasBias, relu, j, d[j], want)
					}
				}
			}
		}
	}
}

// BenchmarkBiasReLUStrided lays out a position-major GEMM result as
// ResNet-18's layer 3 and 4 convolutions give it at batch 32: every
// channel's positions read og floats apart.
func BenchmarkBiasReLUStrided(b *testing.B) {
	for _, c := range []struct {
		name    string
		og, ohw int
	}{{"layer3-256x64", 256, 64}, {"layer4-512x16", 512, 16}} {
		b.Run(c.name, func(b *testing.B) {
			y := make([]float32, c.og*c.ohw*32)
			for i := range y {
				y[i] = float32(i%13) - 6
			}
			d := make([]float32, c.ohw)
			for b.Loop() {
				for img := range 32 {
					for o := range c.og {
						src := y[img*c.ohw*c.og+o:][:(c.ohw-1)*c.og+1]
						biasReLU(d, src, c.og, 0.5, true, true)
					}
				}
			}
		})
	}
}
