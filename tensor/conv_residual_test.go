package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// residualOps is Conv2dBatchNormResidual by the separate ops.
func residualOps(x, w, b *Tensor, p ConvParams, st NormStats, bw, bb, res *Tensor, relu bool) *Tensor {
	y := BatchNorm(Conv2d(x, w, b, p), bw, bb, st)
	if res != nil {
		y = Add(y, res)
	}
	if relu {
		y = ReLU(y)
	}
	return y
}

// randStats is a batch norm's random running statistics and affine
// parameters for o channels.
func randStats(r *rand.Rand, o int) (NormStats, *Tensor, *Tensor) {
	mean := randTensor(r, o)
	v := FromFunc(func(int) float32 { return 0.5 + r.Float32() }, o)
	return RunningStats(mean, v, 1e-5), randTensor(r, o), randTensor(r, o)
}

// TestConv2dBatchNormResidual checks the fused op against the separate
// ops: bit for bit where it takes im2col (a 1×1 or strided kernel, few
// channels, a batch of fewer than 32 tiles), and to float32 rounding where it
// takes Winograd; with and
// without a residual, ReLU, bias and affine parameters.
func TestConv2dBatchNormResidual(t *testing.T) {
	for _, c := range []struct {
		n, c, o, h, k, stride int
		bias, affine, res     bool
		relu, exact           bool
	}{
		{2, 16, 16, 6, 3, 1, false, true, true, true, true},
		{3, 8, 24, 9, 3, 1, true, true, true, false, true},
		{2, 16, 32, 8, 1, 2, false, true, false, false, true},
		{2, 16, 32, 9, 3, 2, false, false, false, true, true},
		{1, 3, 16, 20, 7, 2, false, true, false, true, true},
		{8, 16, 16, 7, 3, 1, false, true, true, true, false},
		{8, 24, 16, 6, 3, 1, true, false, false, true, false},
		{1, 16, 16, 40, 3, 1, false, true, true, true, false},
	} {
		name := fmt.Sprintf("%+v", c)
		r := rand.New(rand.NewPCG(uint64(c.n), uint64(c.h*c.k)))
		p := ConvParams{Stride: [2]int{c.stride, c.stride}, Padding: [2]int{c.k / 2, c.k / 2}}
		x, w := randTensor(r, c.n, c.c, c.h, c.h), randTensor(r, c.o, c.c, c.k, c.k)
		var b, bw, bb, res *Tensor
		if c.bias {
			b = randTensor(r, c.o)
		}
		st, sw, sb := randStats(r, c.o)
		if c.affine {
			bw, bb = sw, sb
		}
		oh := ConvOutSize(c.h, c.k, c.stride, c.k/2, 1)
		if c.res {
			res = randTensor(r, c.n, c.o, oh, oh)
		}
		got := Conv2dBatchNormResidual(x, w, b, p, st, bw, bb, res, c.relu)
		want := residualOps(x, w, b, p, st, bw, bb, res, c.relu)
		if !EqualShapes(got.shape, want.shape) {
			t.Fatalf("%s: shape %v, want %v", name, got.shape, want.shape)
		}
		if c.exact {
			for i := range want.data {
				if math.Float32bits(got.data[i]) != math.Float32bits(want.data[i]) {
					t.Fatalf("%s: element %d is %v, want %v bit for bit", name, i, got.data[i], want.data[i])
				}
			}
			continue
		}
		w64 := make([]float64, len(want.data))
		for i, v := range want.data {
			w64[i] = float64(v)
		}
		if err := maxErr(got.data, w64); err > 1e-5 {
			t.Errorf("%s: max relative error %.2g against the separate ops", name, err)
		}
	}
}

// TestConv2dBatchNormResidualPanics checks that a residual of the wrong
// shape is refused.
func TestConv2dBatchNormResidualPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x, w := randTensor(r, 1, 4, 5, 5), randTensor(r, 4, 4, 3, 3)
	st, _, _ := randStats(r, 4)
	defer func() {
		if recover() == nil {
			t.Error("no panic for a residual of the wrong shape")
		}
	}()
	Conv2dBatchNormResidual(x, w, nil, ConvParams{Padding: [2]int{1, 1}}, st, nil, nil, randTensor(r, 1, 4, 4, 4), true)
}

// TestMaxPool2dValues checks MaxPool2dValues against MaxPool2d's values
// on ResNet's 3×3 stride-2 window and others (even and odd sizes, ceil
// mode, 3-D input, planes of one row or column), with NaN in some windows.
func TestMaxPool2dValues(t *testing.T) {
	for _, c := range []struct {
		shape        []int
		k, s, pad    int
		ceil, nanned bool
	}{
		{[]int{2, 3, 9, 9}, 3, 2, 1, false, false},
		{[]int{2, 3, 10, 8}, 3, 2, 1, false, true},
		{[]int{1, 2, 1, 7}, 3, 2, 1, false, false},
		{[]int{1, 2, 6, 1}, 3, 2, 1, false, false},
		{[]int{3, 7, 7}, 3, 2, 1, true, false},
		{[]int{1, 2, 11, 12}, 2, 2, 0, false, true},
		{[]int{1, 2, 11, 12}, 3, 1, 1, false, false},
		{[]int{1, 1, 13, 10}, 5, 3, 2, true, true},
	} {
		name := fmt.Sprintf("%+v", c)
		r := rand.New(rand.NewPCG(uint64(len(c.shape)), uint64(c.k*c.s)))
		x := randTensor(r, c.shape...)
		if c.nanned {
			x.data[len(x.data)/3] = float32(math.NaN())
			x.data[len(x.data)-1] = float32(math.NaN())
		}
		p := PoolParams{Kernel: [2]int{c.k, c.k}, Stride: [2]int{c.s, c.s}, Padding: [2]int{c.pad, c.pad}, CeilMode: c.ceil}
		got := MaxPool2dValues(x, p)
		want, arg := MaxPool2d(x, p)
		RecycleInt32s(arg)
		if !EqualShapes(got.shape, want.shape) {
			t.Fatalf("%s: shape %v, want %v", name, got.shape, want.shape)
		}
		for i, v := range want.data {
			if g := got.data[i]; g != v && !(g != g && v != v) {
				t.Fatalf("%s: element %d is %v, want %v", name, i, g, v)
			}
		}
	}
}

// BenchmarkConvResidualPaths times the 3×3 convolutions of ResNet-18's
// four stages at 224×224 (batch 1 and 8), with batch norm, residual and
// ReLU, by im2col and by Winograd, in wall and CPU time: the figures
// behind winoMinInferTiles.
func BenchmarkConvResidualPaths(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 8} {
		for _, sz := range []struct{ c, hw int }{{64, 56}, {128, 28}, {256, 14}, {512, 7}} {
			p := ConvParams{Padding: [2]int{1, 1}}
			x, w := randTensor(r, n, sz.c, sz.hw, sz.hw), randTensor(r, sz.c, sz.c, 3, 3)
			res := randTensor(r, n, sz.c, sz.hw, sz.hw)
			st, bw, bb := randStats(r, sz.c)
			g := newConvGeom(x, w, p)
			for _, wino := range []bool{false, true} {
				b.Run(fmt.Sprintf("n%d/c%d_%dx%d/wino=%v", n, sz.c, sz.hw, sz.hw, wino), func(b *testing.B) {
					bn := &convBN{mean: st.Mean, scale: make([]float32, sz.c), shift: bb.data}
					for c := range bn.scale {
						bn.scale[c] = st.InvStd[c] * bw.data[c]
					}
					out := Empty(n, sz.c, sz.hw, sz.hw)
					dst := convOut{relu: true, out: out.data, bn: bn, res: res.data}
					c0 := cpuTime()
					for b.Loop() {
						if wino {
							g.winoForward(x, w, nil, dst)
						} else {
							g.forward(x, w, nil, false, dst)
						}
					}
					b.ReportMetric((cpuTime()-c0)*1e3/float64(b.N), "cpu-ms/op")
				})
			}
		}
	}
}

// resnet18Convs lists ResNet-18's convolutions for images of size×size:
// input channels, output channels, kernel, stride and input size.
func resnet18Convs(size int) [][5]int {
	s := size / 2
	convs := [][5]int{{3, 64, 7, 2, size}}
	s = (s + 1) / 2 // the stem's 3×3 stride-2 pooling
	in := 64
	for stage := range 4 {
		planes := 64 << stage
		for blk := range 2 {
			stride := 1
			if stage > 0 && blk == 0 {
				stride = 2
			}
			convs = append(convs, [5]int{in, planes, 3, stride, s})
			if stride == 2 || in != planes {
				convs = append(convs, [5]int{in, planes, 1, stride, s})
			}
			s = ConvOutSize(s, 3, stride, 1, 1)
			convs = append(convs, [5]int{planes, planes, 3, 1, s})
			in = planes
		}
	}
	return convs
}

// TestResNet18ConvPaths counts which of ResNet-18's convolutions take
// Winograd, by the tests its paths make: in inference (Conv2dBatchNormResidual)
// at 224×224 for batches of 1 and 32, in training (Conv2dWinogradKeep)
// for a batch of 32 at 64×64. Every 3×3 stride-1 convolution should, but
// for layer4's at batch 1 (7×7 outputs: 16 tiles, where im2col is faster).
func TestResNet18ConvPaths(t *testing.T) {
	for _, c := range []struct {
		n, size  int
		training bool
		want     int
	}{{1, 224, false, 10}, {32, 224, false, 13}, {32, 64, true, 13}} {
		wino, all := 0, 0
		for _, cv := range resnet18Convs(c.size) {
			x := &Tensor{shape: []int{c.n, cv[0], cv[4], cv[4]}}
			w := &Tensor{shape: []int{cv[1], cv[0], cv[2], cv[2]}}
			p := ConvParams{Stride: [2]int{cv[3], cv[3]}, Padding: [2]int{cv[2] / 2, cv[2] / 2}}
			g := newConvGeom(x, w, p)
			tiles := g.n * ((g.oh + 1) / 2) * ((g.ow + 1) / 2)
			took := g.winoTrainable()
			if !c.training {
				took = g.winograd() && tiles >= winoMinInferTiles
			}
			all++
			if took {
				wino++
			}
		}
		t.Logf("batch %d of %d×%d, training %v: %d of %d convolutions by Winograd", c.n, c.size, c.size, c.training, wino, all)
		if all != 20 || wino != c.want {
			t.Errorf("batch %d of %d×%d, training %v: %d of %d convolutions by Winograd, want %d of 20", c.n, c.size, c.size, c.training, wino, all, c.want)
		}
	}
}
