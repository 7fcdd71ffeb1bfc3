package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv2dBatchNormResidualFilter checks that a prepared Winograd weight
// gives Conv2dBatchNormResidual's values bit for bit: fresh, stale (made
// from other values), nil, and for convolutions that do not take Winograd.
func TestConv2dBatchNormResidualFilter(t *testing.T) {
	for _, c := range []struct {
		n, c, o, h, k, stride int
		res                   bool
		filter                string // "fresh", "stale" or "nil"
	}{
		{1, 16, 16, 40, 3, 1, true, "fresh"},
		{8, 24, 16, 7, 3, 1, false, "fresh"},
		{1, 32, 20, 13, 3, 1, true, "fresh"},
		{1, 32, 20, 13, 3, 1, true, "stale"},
		{1, 32, 20, 13, 3, 1, false, "nil"},
		{1, 32, 16, 7, 3, 1, true, "fresh"}, // 16 tiles
		{2, 16, 32, 9, 3, 2, false, "fresh"},
		{1, 8, 24, 9, 3, 1, true, "fresh"},
	} {
		name := fmt.Sprintf("%+v", c)
		r := rand.New(rand.NewPCG(uint64(c.n), uint64(c.h*c.k)))
		p := ConvParams{Stride: [2]int{c.stride, c.stride}, Padding: [2]int{c.k / 2, c.k / 2}}
		x, w := randTensor(r, c.n, c.c, c.h, c.h), randTensor(r, c.o, c.c, c.k, c.k)
		st, bw, bb := randStats(r, c.o)
		oh := ConvOutSize(c.h, c.k, c.stride, c.k/2, 1)
		var res *Tensor
		if c.res {
			res = randTensor(r, c.n, c.o, oh, oh)
		}
		var f *WinogradFilter
		switch c.filter {
		case "fresh":
			f = NewWinogradFilter(w, p)
		case "stale":
			f = NewWinogradFilter(randTensor(r, c.o, c.c, c.k, c.k), p)
		}
		if c.filter != "nil" && f == nil && c.k == 3 && c.stride == 1 && c.c >= winoMinChannels {
			t.Fatalf("%s: no filter for a Winograd convolution", name)
		}
		got := Conv2dBatchNormResidualFilter(x, w, f, nil, p, st, bw, bb, res, true)
		want := Conv2dBatchNormResidual(x, w, nil, p, st, bw, bb, res, true)
		if f != nil && f.madeFrom(w) && g16(x, w, p) {
			// where the prepared path lowers the tile threshold, the
			// reference is Winograd's with the weight transformed per call
			want = winoResidualRef(x, w, p, st, bw, bb, res)
		}
		if !EqualShapes(got.shape, want.shape) {
			t.Fatalf("%s: shape %v, want %v", name, got.shape, want.shape)
		}
		for i := range want.data {
			if math.Float32bits(got.data[i]) != math.Float32bits(want.data[i]) {
				t.Fatalf("%s: element %d is %v, want %v bit for bit", name, i, got.data[i], want.data[i])
			}
		}
	}
}

// g16 reports whether the convolution takes Winograd with a prepared
// weight but not without.
func g16(x, w *Tensor, p ConvParams) bool {
	g := newConvGeom(x, w, p)
	tiles := g.n * ((g.oh + 1) / 2) * ((g.ow + 1) / 2)
	return g.winograd() && tiles < winoMinInferTiles && tiles >= winoMinInferTilesPrepared
}

// winoResidualRef is Conv2dBatchNormResidual by winoForward with the weight
// transformed in the call.
func winoResidualRef(x, w *Tensor, p ConvParams, st NormStats, bw, bb, res *Tensor) *Tensor {
	g := newConvGeom(x, w, p)
	bn := &convBN{mean: st.Mean, scale: make([]float32, g.o), shift: bb.data}
	for c := range bn.scale {
		bn.scale[c] = st.InvStd[c] * bw.data[c]
	}
	out := Empty(g.n, g.o, g.oh, g.ow)
	dst := convOut{relu: true, out: out.data, bn: bn}
	if res != nil {
		dst.res = res.data
	}
	g.winoForward(x, w, nil, dst)
	return out
}

// BenchmarkConvResidualPrepared times the 3×3 convolutions of ResNet-18's
// four stages at 224×224 for one image, with batch norm, residual and
// ReLU, by im2col, by Winograd transforming the weight in the call, and
// by Winograd with a prepared weight (WinogradFilter), in CPU time: the
// figures behind winoMinInferTilesPrepared.
func BenchmarkConvResidualPrepared(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, sz := range []struct{ c, hw int }{{64, 56}, {128, 28}, {256, 14}, {512, 7}} {
		p := ConvParams{Padding: [2]int{1, 1}}
		x, w := randTensor(r, 1, sz.c, sz.hw, sz.hw), randTensor(r, sz.c, sz.c, 3, 3)
		res := randTensor(r, 1, sz.c, sz.hw, sz.hw)
		st, bw, bb := randStats(r, sz.c)
		g := newConvGeom(x, w, p)
		f := NewWinogradFilter(w, p)
		for _, path := range []string{"im2col", "wino", "prepared"} {
			b.Run(fmt.Sprintf("c%d_%dx%d/%s", sz.c, sz.hw, sz.hw, path), func(b *testing.B) {
				bn := &convBN{mean: st.Mean, scale: make([]float32, sz.c), shift: bb.data}
				for c := range bn.scale {
					bn.scale[c] = st.InvStd[c] * bw.data[c]
				}
				out := Empty(1, sz.c, sz.hw, sz.hw)
				dst := convOut{relu: true, out: out.data, bn: bn, res: res.data}
				c0 := cpuTime()
				for b.Loop() {
					switch path {
					case "im2col":
						g.forward(x, w, nil, false, dst)
					case "wino":
						g.winoForward(x, w, nil, dst)
					default:
						d := dst
						if f.madeFrom(w) {
							d.wu = f.u
						}
						g.winoForward(x, w, nil, d)
					}
				}
				b.ReportMetric((cpuTime()-c0)*1e3/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// TestWinogradFilterMatchesParallel checks the split comparison of a
// prepared weight with the present one: a change anywhere (the first
// float, one in each worker's range, the last, a sign of zero) makes the
// filter stale, for a weight large enough to be split and a small one.
func TestWinogradFilterMatchesParallel(t *testing.T) {
	p := ConvParams{Padding: [2]int{1, 1}}
	for _, shape := range [][]int{{64, 256, 3, 3}, {20, 32, 3, 3}} {
		r := rand.New(rand.NewPCG(7, uint64(shape[0])))
		w := randTensor(r, shape...)
		w.data[len(w.data)/2] = 0
		f := NewWinogradFilter(w, p)
		if !f.matchesParallel(w) {
			t.Fatalf("%v: a fresh filter does not match its weight", shape)
		}
		n := len(w.data)
		for _, i := range []int{0, n/4 + 1, n / 2, 3*n/4 - 1, n - 1} {
			old := w.data[i]
			if old == 0 {
				w.data[i] = float32(math.Copysign(0, -1))
			} else {
				w.data[i] = old * 1.0000001
			}
			if f.matchesParallel(w) {
				t.Errorf("%v: element %d changed from %v to %v, but the filter still matches", shape, i, old, w.data[i])
			}
			w.data[i] = old
		}
		if !f.matchesParallel(w) {
			t.Errorf("%v: the weight restored, the filter does not match", shape)
		}
	}
	var nilFilter *WinogradFilter
	if nilFilter.matchesParallel(randTensor(rand.New(rand.NewPCG(1, 1)), 16, 16, 3, 3)) {
		t.Error("a nil filter matches")
	}
}
