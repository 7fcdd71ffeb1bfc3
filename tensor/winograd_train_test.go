package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// winoTrainCases are convolutions the training path takes: odd and even
// outputs, planes smaller than a tile, padding 0 to 2, channel counts that
// are not multiples of 8, one block and several.
var winoTrainCases = []struct {
	n, c, o, h, w, pad int
	bias, relu         bool
}{
	{8, 64, 64, 5, 7, 1, false, false},
	{8, 64, 72, 6, 6, 1, true, false},
	{9, 65, 67, 7, 4, 0, true, true},
	{8, 66, 64, 3, 3, 2, false, true},
	{10, 64, 96, 2, 2, 1, false, false},
	{8, 96, 64, 1, 1, 1, true, false},
	{8, 72, 68, 13, 9, 1, false, true},
	{8, 64, 64, 16, 17, 1, true, true},
}

// TestWinogradTrainMatchesIm2col checks Conv2dWinogradKeep's output and
// Conv2dGradsKeep's (Conv2dReLUGradsKeep's) three gradients from its saved
// transforms against the float64 convolution, and that their error is of
// the order of float32 rounding.
func TestWinogradTrainMatchesIm2col(t *testing.T) {
	for _, c := range winoTrainCases {
		name := fmt.Sprintf("%+v", c)
		r := rand.New(rand.NewPCG(uint64(c.n*c.c), uint64(c.h*c.w+c.pad)))
		p := ConvParams{Padding: [2]int{c.pad, c.pad}}
		x := randTensor(r, c.n, c.c, c.h, c.w)
		w := randTensor(r, c.o, c.c, 3, 3)
		var b *Tensor
		if c.bias {
			b = randTensor(r, c.o)
		}
		if g := newConvGeom(x, w, p); !g.winoTrainable() {
			t.Fatalf("%s: not a Winograd case", name)
		}
		var y *Tensor
		var cols *ConvCols
		if c.relu {
			y, cols = Conv2dReLUWinogradKeep(x, w, b, p)
		} else {
			y, cols = Conv2dWinogradKeep(x, w, b, p)
		}
		if cols == nil || cols.wino == nil {
			t.Fatalf("%s: no Winograd transforms kept", name)
		}
		gy := randTensor(r, y.shape...)
		var dx, dw, db *Tensor
		if c.relu {
			dx, dw, db = Conv2dReLUGradsKeep(x, w, y, gy, p, cols, true, true, c.bias)
		} else {
			dx, dw, db = Conv2dGradsKeep(x, w, gy, p, cols, true, true, c.bias)
		}
		if cols.wino != nil {
			t.Errorf("%s: the transforms were not released", name)
		}

		// The float64 reference: the same ops on float64 copies.
		x64, w64, gy64 := x.To(Float64), w.To(Float64), gy.To(Float64)
		var b64 *Tensor
		if b != nil {
			b64 = b.To(Float64)
		}
		y64 := Conv2d(x64, w64, b64, p)
		g64 := gy64
		if c.relu {
			y64 = ReLU(y64)
			g64 = ReLUGrad(gy64, y64)
		}
		dx64, dw64, db64 := Conv2dGrads(x64, w64, g64, p, true, true, c.bias)
		const tol = 2e-5
		for _, e := range []struct {
			what      string
			got, want *Tensor
		}{{"output", y, y64}, {"dx", dx, dx64}, {"dw", dw, dw64}, {"db", db, db64}} {
			if e.want == nil {
				continue
			}
			if e.got == nil {
				t.Errorf("%s: no %s", name, e.what)
				continue
			}
			if err := maxErr(e.got.data, e.want.Data64()); err > tol {
				t.Errorf("%s: %s max relative error %.2g, want ≤ %g", name, e.what, err, tol)
			}
		}
	}
}

// TestWinogradTrainErrorLikeIm2col checks on a ResNet-sized layer that
// the training path's error against float64 is of the order of the
// im2col path's (both are float32 sums; Winograd's transforms add a few
// roundings), for the output and both gradients.
func TestWinogradTrainErrorLikeIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	p := ConvParams{Padding: [2]int{1, 1}}
	x, w := randTensor(r, 8, 64, 8, 8), randTensor(r, 64, 64, 3, 3)
	gy := randTensor(r, 8, 64, 8, 8)
	yw, cols := Conv2dWinogradKeep(x, w, nil, p)
	dxw, dww, _ := Conv2dGradsKeep(x, w, gy, p, cols, true, true, false)
	yi, cols := Conv2dKeep(x, w, nil, p)
	dxi, dwi, _ := Conv2dGradsKeep(x, w, gy, p, cols, true, true, false)
	x64, w64 := x.To(Float64), w.To(Float64)
	y64 := Conv2d(x64, w64, nil, p)
	dx64, dw64, _ := Conv2dGrads(x64, w64, gy.To(Float64), p, true, true, false)
	for _, e := range []struct {
		what      string
		wino, i2c *Tensor
		reference *Tensor
	}{{"output", yw, yi, y64}, {"dx", dxw, dxi, dx64}, {"dw", dww, dwi, dw64}} {
		ew, ei := maxErr(e.wino.data, e.reference.Data64()), maxErr(e.i2c.data, e.reference.Data64())
		t.Logf("%s: max relative error Winograd %.2g, im2col %.2g", e.what, ew, ei)
		if ew > 8*ei+1e-7 {
			t.Errorf("%s: Winograd's error %.2g is far above im2col's %.2g", e.what, ew, ei)
		}
	}
}

// TestWinogradTrainThreads checks that the training path's output and
// gradients are the same bits for 1, 2 and 3 threads.
func TestWinogradTrainThreads(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	p := ConvParams{Padding: [2]int{1, 1}}
	x, w, b := randTensor(r, 16, 64, 9, 10), randTensor(r, 72, 64, 3, 3), randTensor(r, 72)
	gy := randTensor(r, 16, 72, 9, 10)
	run := func() [][]float32 {
		y, cols := Conv2dWinogradKeep(x, w, b, p)
		dx, dw, db := Conv2dGradsKeep(x, w, gy, p, cols, true, true, true)
		return [][]float32{y.data, dx.data, dw.data, db.data}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	want := run()
	for _, procs := range []int{2, 3} {
		runtime.GOMAXPROCS(procs)
		got := run()
		for k := range want {
			for i := range want[k] {
				if math.Float32bits(got[k][i]) != math.Float32bits(want[k][i]) {
					t.Fatalf("GOMAXPROCS=%d: result %d differs at %d: %v, want %v", procs, k, i, got[k][i], want[k][i])
				}
			}
		}
	}
}

// TestWinogradTrainFallback checks that convolutions the training path
// does not take (a 1×1 or strided kernel, few channels, a small batch,
// float64) are Conv2dKeep's bit for bit and keep no transforms, and that
// one whose transform would be too large to keep takes im2col.
func TestWinogradTrainFallback(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		n, c, k, stride int
	}{{8, 64, 1, 1}, {8, 64, 3, 2}, {8, 32, 3, 1}, {4, 64, 3, 1}} {
		p := ConvParams{Stride: [2]int{c.stride, c.stride}, Padding: [2]int{c.k / 2, c.k / 2}}
		x, w := randTensor(r, c.n, c.c, 6, 6), randTensor(r, 64, c.c, c.k, c.k)
		got, cols := Conv2dWinogradKeep(x, w, nil, p)
		if cols != nil && cols.wino != nil {
			t.Errorf("%+v: took the Winograd path", c)
		}
		cols.Release()
		want := Conv2d(x, w, nil, p)
		for i := range want.data {
			if math.Float32bits(got.data[i]) != math.Float32bits(want.data[i]) {
				t.Fatalf("%+v: output differs at %d from Conv2d's", c, i)
			}
		}
	}
	// a transform too large to keep: 16·64·(8·56·56/4 + …) floats
	big := newConvGeom(&Tensor{shape: []int{160, 64, 56, 56}}, &Tensor{shape: []int{64, 64, 3, 3}}, ConvParams{Padding: [2]int{1, 1}})
	if big.winoTrainable() {
		t.Errorf("a batch of 160 of 64×56×56 would keep more than %d floats, yet takes Winograd", winoKeepMaxFloats)
	}
	x64 := randTensor(r, 8, 64, 5, 5).To(Float64)
	w64 := randTensor(r, 64, 64, 3, 3).To(Float64)
	y, cols := Conv2dWinogradKeep(x64, w64, nil, ConvParams{Padding: [2]int{1, 1}})
	if cols != nil || y.DType() != Float64 {
		t.Errorf("float64: got %v and columns %v, want float64 and none", y.DType(), cols)
	}
}

// BenchmarkConvTrainWinograd times the 3×3 convolutions of ResNet-18's
// four stages on 3×64×64 images (batch 32) and W-CNN's second (32→64
// channels, 14×14, batch 64) forward and backward, Winograd against
// im2col, in wall and CPU time.
func BenchmarkConvTrainWinograd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, sz := range []struct{ n, c, o, hw int }{{32, 64, 64, 16}, {32, 128, 128, 8}, {32, 256, 256, 4}, {32, 512, 512, 2}, {64, 32, 64, 14}} {
		p := ConvParams{Padding: [2]int{1, 1}}
		x, w := randTensor(r, sz.n, sz.c, sz.hw, sz.hw), randTensor(r, sz.o, sz.c, 3, 3)
		gy := randTensor(r, sz.n, sz.o, sz.hw, sz.hw)
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("n%d_c%d_o%d_%dx%d/wino=%v", sz.n, sz.c, sz.o, sz.hw, sz.hw, on), func(b *testing.B) {
				defer func(v bool) { winoTrain = v }(winoTrain)
				winoTrain = on
				c0 := cpuTime()
				for b.Loop() {
					y, cols := Conv2dWinogradKeep(x, w, nil, p)
					dx, dw, _ := Conv2dGradsKeep(x, w, gy, p, cols, true, true, false)
					Recycle(y)
					Recycle(dx)
					Recycle(dw)
				}
				b.ReportMetric((cpuTime()-c0)*1e3/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// TestWinogradTrainVectorPasses checks the AVX2 passes of the training
// transforms against the scalar ones bit for bit, for tile rows of 1 to
// 20 tiles (the tails the vector passes leave), with NaN and infinities
// among the values.
func TestWinogradTrainVectorPasses(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	val := func() float32 {
		switch r.IntN(40) {
		case 0:
			return float32(math.NaN())
		case 1:
			return float32(math.Inf(1 - 2*r.IntN(2)))
		}
		return float32(r.NormFloat64())
	}
	same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b) }
	for tw := 1; tw <= 20; tw++ {
		// the input gradient's patches
		cs, pw := 3*tw+5, 2*tw+2
		x := make([]float32, 16*cs)
		for i := range x {
			x[i] = val()
		}
		got, want := make([]float32, 4*pw+16), make([]float32, 4*pw+16)
		for i := range got {
			got[i] = val()
			want[i] = got[i]
		}
		for t0 := winoDXVec(x, cs, tw, got, pw); t0 < tw; t0 += 8 {
			winoDXGroup(x, cs, t0, min(t0+8, tw), got, pw)
		}
		for t0 := 0; t0 < tw; t0 += 8 {
			winoDXGroup(x, cs, t0, min(t0+8, tw), want, pw)
		}
		for i := range want {
			if !same(got[i], want[i]) {
				t.Fatalf("input gradient, %d tiles: element %d is %v, want %v", tw, i, got[i], want[i])
			}
		}

		// the output gradient's transform
		r0, r1 := make([]float32, 2*tw), make([]float32, 2*tw)
		for i := range r0 {
			r0[i], r1[i] = val(), val()
		}
		stride := tw + 3
		y := make([]float32, 16*stride)
		k := winoGradVec(r0, r1, tw, y, stride)
		for tx := range k {
			a, b, c, d := r0[2*tx], r0[2*tx+1], r1[2*tx], r1[2*tx+1]
			p := [4]float32{a, a + c, a - c, -c}
			q := [4]float32{b, b + d, b - d, -d}
			for i := range 4 {
				w := [4]float32{p[i], p[i] + q[i], p[i] - q[i], -q[i]}
				for j := range 4 {
					if g := y[(4*i+j)*stride+tx]; !same(g, w[j]) {
						t.Fatalf("output gradient, %d tiles: tile %d value %d is %v, want %v", tw, tx, 4*i+j, g, w[j])
					}
				}
			}
		}
	}
}

// ExampleConv2dWinogradKeep runs a ResNet-sized 3×3 convolution forward
// and backward by Winograd and compares it with im2col's.
func ExampleConv2dWinogradKeep() {
	r := rand.New(rand.NewPCG(1, 2))
	normal := func(int) float32 { return float32(r.NormFloat64()) }
	x, w := FromFunc(normal, 8, 64, 8, 8), FromFunc(normal, 64, 64, 3, 3)
	gy := FromFunc(normal, 8, 64, 8, 8)
	p := ConvParams{Padding: [2]int{1, 1}}

	y, cols := Conv2dWinogradKeep(x, w, nil, p)
	dx, dw, _ := Conv2dGradsKeep(x, w, gy, p, cols, true, true, false) // releases cols

	ref, refCols := Conv2dKeep(x, w, nil, p)
	rdx, rdw, _ := Conv2dGradsKeep(x, w, gy, p, refCols, true, true, false)
	close := func(a, b *Tensor) bool {
		var big, d float64
		for i, v := range b.Data() {
			big = max(big, math.Abs(float64(v)))
			d = max(d, math.Abs(float64(a.Data()[i]-v)))
		}
		return d <= 1e-5*big
	}
	fmt.Println(y.Shape(), dx.Shape(), dw.Shape())
	fmt.Println(close(y, ref), close(dx, rdx), close(dw, rdw))
	// Output:
	// [8 64 8 8] [8 64 8 8] [64 64 3 3]
	// true true true
}
