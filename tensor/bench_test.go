package tensor

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkConvFused times the fused Conv2d-ReLU-MaxPool2d passes of the
// two W-CNN convolutions at batch 64 (conv1: 1→32 channels on 28×28,
// conv2: 32→64 on 14×14, 3×3 kernels, padding 1): forward, and backward
// with the gradients a training step asks for (conv1's input is data, so
// no input gradient there).
func BenchmarkConvFused(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(s float64, shape ...int) *Tensor {
		return FromFunc(func(int) float32 { return float32(r.NormFloat64() * s) }, shape...)
	}
	p := ConvParams{Padding: [2]int{1, 1}}
	for _, c := range []struct {
		name          string
		cin, cout, hw int
		wantX         bool
	}{{"conv1", 1, 32, 28, false}, {"conv2", 32, 64, 14, true}} {
		x := rnd(1, 64, c.cin, c.hw, c.hw)
		w := rnd(0.1, c.cout, c.cin, 3, 3)
		bias := rnd(0.01, c.cout)
		b.Run(c.name+"/forward", func(b *testing.B) {
			for b.Loop() {
				pooled, arg, cols := Conv2dReLUMaxPool2Keep(x, w, bias, p)
				cols.Release()
				RecycleInt32s(arg)
				Recycle(pooled)
			}
		})
		pooled, arg, _ := Conv2dReLUMaxPool2Keep(x, w, bias, p)
		gp := rnd(0.1, pooled.shape...)
		b.Run(c.name+"/backward", func(b *testing.B) {
			for b.Loop() {
				dx, dw, db := Conv2dReLUMaxPool2GradsKeep(x, w, pooled, gp, arg, p, nil, c.wantX, true, true)
				if dx != nil {
					Recycle(dx)
				}
				Recycle(dw)
				Recycle(db)
			}
		})
	}
}
