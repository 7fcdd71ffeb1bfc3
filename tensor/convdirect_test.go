package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestConvDirectMatchesIm2col checks the direct product of short kernels
// against im2col and GEMM (rowByRow turns the direct path off), bit for
// bit, with the bias, ReLU and pooling that follow, on awkward sizes
// (odd planes, planes narrower than the kernel's padding, 1×1 to 5×5
// kernels, 1 to 3 channels, padding 0 to 2, one image or many), on one and
// two threads.
func TestConvDirectMatchesIm2col(t *testing.T) {
	if !hasConvDirect {
		t.Skip("no direct product on this CPU or build: nothing to compare")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct{ n, c, h, w, o, k, pad int }{
		{32, 1, 28, 28, 32, 3, 1}, {1, 1, 28, 28, 32, 3, 1}, {3, 3, 9, 7, 5, 3, 1}, {2, 1, 5, 5, 7, 5, 2},
		{5, 2, 6, 11, 4, 3, 0}, {1, 3, 2, 3, 3, 3, 2}, {4, 1, 7, 7, 16, 1, 0}, {2, 1, 1, 1, 3, 3, 1},
	} {
		p := ConvParams{Padding: [2]int{c.pad, c.pad}}
		x := randTensor(r, c.n, c.c, c.h, c.w)
		x.data[0] = float32(math.Copysign(0, -1))
		w := randTensor(r, c.o, c.c, c.k, c.k)
		b := randTensor(r, c.o)
		g := newConvGeom(x, w, p)
		if !g.direct() {
			t.Fatalf("%+v: not taken by the direct path", c)
		}
		for _, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			for _, pool := range []bool{false, true} {
				if pool && (g.oh < 2 || g.ow < 2) {
					continue
				}
				name := fmt.Sprintf("%+v procs=%d pool=%v", c, procs, pool)
				run := func(rowByRow bool) ([]float32, []int32) {
					gg := g
					gg.rowByRow = rowByRow
					if !pool {
						out := Full(-7, g.n, g.o, g.oh, g.ow)
						gg.forward(x, w, b, false, convOut{out: out.data})
						return out.data, nil
					}
					ph, pw := g.oh/2, g.ow/2
					pooled := Full(-7, g.n, g.o, ph, pw)
					arg := make([]int32, len(pooled.data))
					gg.forward(x, w, b, false, convOut{relu: true, pool: true, pooled: pooled.data, arg: arg, ph: ph, pw: pw})
					return pooled.data, arg
				}
				got, garg := run(false)
				want, warg := run(true)
				for i, v := range want {
					if math.Float32bits(got[i]) != math.Float32bits(v) || (pool && garg[i] != warg[i]) {
						t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], v)
					}
				}
			}
		}
	}
}
