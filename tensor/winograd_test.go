package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// winoConv is Conv2d through the Winograd path (where winograd allows).
func winoConv(x, w, bias *Tensor, p ConvParams) *Tensor {
	g := newConvGeom(x, w, p)
	out := Empty(g.n, g.o, g.oh, g.ow)
	for i := range out.data {
		out.data[i] = float32(math.NaN()) // every element must be written
	}
	g.winoForward(x, w, bias, convOut{out: out.data})
	return out
}

// directConv64 is the convolution summed directly in float64 (stride and
// dilation 1, one group).
func directConv64(x, w, bias *Tensor, p ConvParams) []float64 {
	g := newConvGeom(x, w, p)
	out := make([]float64, g.n*g.o*g.oh*g.ow)
	for n := range g.n {
		for o := range g.o {
			for oy := range g.oh {
				for ox := range g.ow {
					var s float64
					if bias != nil {
						s = float64(bias.data[o])
					}
					for c := range g.c {
						for ki := range 3 {
							for kj := range 3 {
								iy, ix := oy+ki-g.p.Padding[0], ox+kj-g.p.Padding[1]
								if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
									continue
								}
								s += float64(x.data[((n*g.c+c)*g.h+iy)*g.w+ix]) * float64(w.data[((o*g.c+c)*3+ki)*3+kj])
							}
						}
					}
					out[((n*g.o+o)*g.oh+oy)*g.ow+ox] = s
				}
			}
		}
	}
	return out
}

// maxErr returns the largest |got - want| relative to the largest |want|.
func maxErr(got []float32, want []float64) float64 {
	var big, d float64
	for i, v := range want {
		big = max(big, math.Abs(v))
		d = max(d, math.Abs(float64(got[i])-v))
		if got[i] != got[i] {
			return math.Inf(1)
		}
	}
	return d / max(big, 1e-30)
}

// TestWinogradMatchesDirect checks F(2×2, 3×3) against the direct sum in
// float64 on awkward sizes (odd and even outputs, planes smaller than a
// tile, padding 0 to 2, channel counts that are not multiples of 8, a
// batch of one and batches that take several blocks), with and without a
// bias, and that its error is of the order of the im2col path's.
func TestWinogradMatchesDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	cases := []struct{ n, c, h, w, o, pad int }{
		{1, 16, 14, 14, 64, 1},
		{3, 17, 7, 9, 5, 1},
		{2, 32, 3, 3, 1, 0},
		{1, 16, 1, 1, 3, 1},
		{5, 24, 8, 5, 9, 2},
		{13, 32, 14, 14, 64, 1},
		{2, 20, 11, 4, 7, 0},
	}
	for _, c := range cases {
		p := ConvParams{Padding: [2]int{c.pad, c.pad}}
		x := randTensor(r, c.n, c.c, c.h, c.w)
		w := randTensor(r, c.o, c.c, 3, 3)
		for _, bias := range []*Tensor{nil, randTensor(r, c.o)} {
			name := fmt.Sprintf("%+v bias=%v", c, bias != nil)
			g := newConvGeom(x, w, p)
			if !g.winograd() {
				t.Fatalf("%s: not taken by the Winograd path", name)
			}
			got := winoConv(x, w, bias, p)
			want := directConv64(x, w, bias, p)
			im := Conv2d(x, w, bias, p)
			if !EqualShapes(got.shape, im.shape) {
				t.Fatalf("%s: shape %v, want %v", name, got.shape, im.shape)
			}
			ew, ei := maxErr(got.data, want), maxErr(im.data, want)
			t.Logf("%s: error relative to the largest output: Winograd %.3g, im2col %.3g", name, ew, ei)
			// F(2×2, 3×3) rounds a few more times than the direct sum;
			// float32 sums of ~300 terms err by ~1e-7 relative.
			if ew > 2e-6 || ew > 8*max(ei, 1e-7) {
				t.Fatalf("%s: error %.3g relative to the largest output (im2col %.3g)", name, ew, ei)
			}
		}
	}
}

// TestWinogradBitIdentical checks that the Winograd path gives the same
// bits on 1 and 2 threads and whatever the block size.
func TestWinogradBitIdentical(t *testing.T) {
	defer func(v int) { l2Floats = v }(l2Floats)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 13} {
		p := ConvParams{Padding: [2]int{1, 1}}
		x := randTensor(r, n, 32, 14, 13)
		w := randTensor(r, 24, 32, 3, 3)
		b := randTensor(r, 24)
		var ref *Tensor
		for _, v := range []struct{ procs, lf int }{{1, 1 << 18}, {2, 1 << 18}, {4, 1 << 18}, {2, 1}, {1, 1 << 40}} {
			runtime.GOMAXPROCS(v.procs)
			l2Floats = v.lf
			got := winoConv(x, w, b, p)
			if ref == nil {
				ref = got
				continue
			}
			for i, u := range got.data {
				if math.Float32bits(u) != math.Float32bits(ref.data[i]) {
					t.Fatalf("batch %d %+v: [%d] = %v, want %v", n, v, i, u, ref.data[i])
				}
			}
		}
	}
}

// TestConv2dBatchNormReLUWinograd checks the fused inference op on the
// Winograd path against the separate ops (to rounding) with and without
// pooling, and that convolutions Winograd does not take give
// Conv2dBatchNormReLU's bits.
func TestConv2dBatchNormReLUWinograd(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct {
		n, c, h, o int
		p          ConvParams
		wino       bool
	}{
		{16, 32, 14, 64, ConvParams{Padding: [2]int{1, 1}}, true},
		{17, 16, 9, 8, ConvParams{}, true},
		{8, 16, 6, 8, ConvParams{Padding: [2]int{1, 1}}, true},
		{3, 16, 9, 8, ConvParams{}, winoBatch() <= 3}, // too small a batch without winoMul
		{2, 3, 14, 8, ConvParams{Padding: [2]int{1, 1}}, false},
		{2, 32, 12, 8, ConvParams{Padding: [2]int{1, 1}, Stride: [2]int{2, 2}}, false},
	} {
		x := randTensor(r, c.n, c.c, c.h, c.h)
		w := randTensor(r, c.o, c.c, 3, 3)
		bias, bw, bb := randTensor(r, c.o), randTensor(r, c.o), randTensor(r, c.o)
		mean, vr := randTensor(r, c.o), randTensor(r, c.o)
		for i := range vr.data {
			vr.data[i] = float32(math.Abs(float64(vr.data[i]))) + 0.1
		}
		st := RunningStats(mean, vr, 1e-5)
		for _, pool := range []bool{false, true} {
			name := fmt.Sprintf("%+v pool=%v", c, pool)
			want, _ := Conv2dBatchNormReLU(x, w, bias, c.p, st, bw, bb, true, pool)
			got, _ := Conv2dBatchNormReLUWinograd(x, w, bias, c.p, st, bw, bb, true, pool)
			if !EqualShapes(got.shape, want.shape) {
				t.Fatalf("%s: shape %v, want %v", name, got.shape, want.shape)
			}
			if c.wino {
				closeTo(t, name, got.data, want.data)
				continue
			}
			for i, v := range want.data {
				if math.Float32bits(got.data[i]) != math.Float32bits(v) {
					t.Fatalf("%s: [%d] = %v, want %v", name, i, got.data[i], v)
				}
			}
		}
	}
}

// filtered is Conv2dBatchNormReLUWinogradFilter with f.
func filtered(f *WinogradFilter) func(x, w, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias *Tensor, relu, pool bool) (*Tensor, []int32) {
	return func(x, w, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias *Tensor, relu, pool bool) (*Tensor, []int32) {
		return Conv2dBatchNormReLUWinogradFilter(x, w, f, bias, p, st, bnWeight, bnBias, relu, pool)
	}
}

// BenchmarkConv2dBatchNormReLU compares the im2col and Winograd paths (the
// weight transformed each call, and once, by a WinogradFilter) on the
// second convolution of the CNN preset (32→64 channels, 14×14).
func BenchmarkConv2dBatchNormReLU(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 4, 8, 32} {
		x := randTensor(r, n, 32, 14, 14)
		w := randTensor(r, 64, 32, 3, 3)
		bias, mean, vr := randTensor(r, 64), randTensor(r, 64), Full(1, 64)
		st := RunningStats(mean, vr, 1e-5)
		p := ConvParams{Padding: [2]int{1, 1}}
		for _, v := range []struct {
			name string
			f    func(x, w, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias *Tensor, relu, pool bool) (*Tensor, []int32)
		}{{"im2col", Conv2dBatchNormReLU}, {"winograd", Conv2dBatchNormReLUWinograd}, {"winograd-filter", filtered(NewWinogradFilter(w, p))}} {
			b.Run(fmt.Sprintf("%s/batch%d", v.name, n), func(b *testing.B) {
				c0 := cpuTime()
				for b.Loop() {
					y, arg := v.f(x, w, bias, p, st, nil, nil, true, true)
					RecycleInt32s(arg)
					Recycle(y)
				}
				// CPU time: steadier than wall time on a shared machine.
				b.ReportMetric((cpuTime()-c0)*1e6/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// TestWinogradPooledMatchesLayout checks the fused Winograd-batch norm-ReLU-
// pooling pass against the Winograd outputs laid out and pooled by
// layoutRange, bit for bit with the argmax indices, on odd and even
// outputs, with and without a bias, with tied windows (a ReLU's zeros)
// and with NaN in one image's input, on one and two threads.
func TestWinogradPooledMatchesLayout(t *testing.T) {
	defer func(v bool) { winoFusePool = v }(winoFusePool)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ n, c, h, w, o, pad int }{
		{16, 32, 14, 14, 64, 1}, {17, 16, 9, 7, 5, 1}, {1, 16, 5, 6, 3, 0}, {3, 20, 12, 12, 9, 1},
	} {
		p := ConvParams{Padding: [2]int{c.pad, c.pad}}
		x := randTensor(r, c.n, c.c, c.h, c.w)
		w := randTensor(r, c.o, c.c, 3, 3)
		g := newConvGeom(x, w, p)
		bn := &convBN{mean: randTensor(r, c.o).data, scale: randTensor(r, c.o).data, shift: randTensor(r, c.o).data}
		for nan := range 2 {
			if nan == 1 {
				x.data[len(x.data)/2] = float32(math.NaN())
			}
			for _, bias := range []*Tensor{nil, randTensor(r, c.o)} {
				var ref *Tensor
				var refArg []int32
				for _, v := range []struct {
					fuse  bool
					procs int
				}{{false, 1}, {true, 1}, {true, 2}} {
					winoFusePool = v.fuse
					runtime.GOMAXPROCS(v.procs)
					ph, pw := g.oh/2, g.ow/2
					pooled := Full(-7, c.n, c.o, ph, pw)
					arg := make([]int32, len(pooled.data))
					g.winoForward(x, w, bias, convOut{relu: true, pool: true, pooled: pooled.data, arg: arg, ph: ph, pw: pw, bn: bn})
					if ref == nil {
						ref, refArg = pooled, arg
						continue
					}
					name := fmt.Sprintf("%+v nan=%d bias=%v %+v", c, nan, bias != nil, v)
					for i, u := range pooled.data {
						if math.Float32bits(u) != math.Float32bits(ref.data[i]) || arg[i] != refArg[i] {
							t.Fatalf("%s: [%d] = %v at %d, want %v at %d", name, i, u, arg[i], ref.data[i], refArg[i])
						}
					}
				}
			}
		}
	}
}
