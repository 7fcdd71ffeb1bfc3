package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convCase is one geometry for the lowering tests.
type convCase struct {
	n, c, h, w, o, kh, kw int
	p                     ConvParams
}

// awkwardConvCases covers 1, 7, 17, 33 and 255 channels or positions,
// non-square images and kernels, stride, padding, dilation and groups, and
// kernels larger than the padded input in one direction's valid range.
var awkwardConvCases = []convCase{
	{1, 1, 1, 1, 1, 1, 1, ConvParams{}},
	{2, 1, 7, 5, 7, 3, 3, ConvParams{Padding: [2]int{1, 1}}},
	{3, 7, 17, 9, 17, 3, 2, ConvParams{Padding: [2]int{2, 0}, Stride: [2]int{2, 1}}},
	{1, 33, 6, 11, 1, 2, 3, ConvParams{Dilation: [2]int{2, 3}, Padding: [2]int{1, 3}}},
	{2, 4, 15, 17, 6, 3, 3, ConvParams{Groups: 2, Stride: [2]int{3, 2}, Padding: [2]int{1, 1}}},
	{1, 255, 3, 4, 7, 1, 1, ConvParams{}},
	{5, 3, 1, 255, 2, 1, 5, ConvParams{Padding: [2]int{0, 2}}},
	{2, 6, 8, 8, 9, 3, 3, ConvParams{Groups: 3, Padding: [2]int{1, 1}}},
	{1, 2, 4, 4, 2, 3, 3, ConvParams{Padding: [2]int{2, 2}, Stride: [2]int{5, 5}}},
	{3, 2, 5, 5, 4, 5, 5, ConvParams{Padding: [2]int{4, 4}}},
	{64, 3, 9, 9, 5, 3, 3, ConvParams{Padding: [2]int{1, 1}}},
}

// closeTo compares two results with a tolerance for summation order: long
// sums that cancel are compared relative to the largest result.
func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	var big float64
	for _, v := range want {
		big = max(big, math.Abs(float64(v)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i])))+1e-5*big || got[i] != got[i] {
			t.Fatalf("%s: element %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestConvLoweringMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, cc := range awkwardConvCases {
		name := fmt.Sprintf("%d,%d,%dx%d->%d,%dx%d,%+v", cc.n, cc.c, cc.h, cc.w, cc.o, cc.kh, cc.kw, cc.p)
		t.Run(name, func(t *testing.T) {
			groups := max(cc.p.Groups, 1)
			x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
			w := randTensor(r, cc.o, cc.c/groups, cc.kh, cc.kw)
			b := randTensor(r, cc.o)
			y := Conv2d(x, w, b, cc.p)
			closeTo(t, "forward", y.data, refConv2d(x, w, b, cc.p).data)
			gy := randTensor(r, y.shape...)
			dx, dw, db := Conv2dGrads(x, w, gy, cc.p, true, true, true)
			rdx, rdw := refConv2dBackward(x, w, gy, cc.p, true, true)
			closeTo(t, "dx", dx.data, rdx.data)
			closeTo(t, "dw", dw.data, rdw.data)
			rdb := SumDim(SumDim(Reshape(gy, cc.n, cc.o, -1), 2, false), 0, false)
			closeTo(t, "db", db.data, rdb.data)
			// The same through the kept columns, bit for bit.
			y2, cols := Conv2dKeep(x, w, b, cc.p)
			kdx, kdw, kdb := Conv2dGradsKeep(x, w, gy, cc.p, cols, true, true, true)
			for _, pair := range [][2]*Tensor{{y2, y}, {kdx, dx}, {kdw, dw}, {kdb, db}} {
				for i := range pair[0].data {
					if math.Float32bits(pair[0].data[i]) != math.Float32bits(pair[1].data[i]) {
						t.Fatalf("kept columns: element %d = %v, want %v", i, pair[0].data[i], pair[1].data[i])
					}
				}
			}
		})
	}
}

// TestConvChunks runs a batch that needs several lowering chunks (with a
// remainder) against the reference.
func TestConvChunks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	p := ConvParams{Padding: [2]int{1, 1}}
	// 64·9·16·16 floats per image: maxColsFloats/per = 113 images a chunk.
	x := randTensor(r, 115, 64, 16, 16)
	w := randTensor(r, 3, 64, 3, 3)
	g := newConvGeom(x, w, p)
	if nb := g.chunk(); nb >= g.n {
		t.Fatalf("chunk %d covers the whole batch of %d; the test needs several chunks", nb, g.n)
	}
	y := Conv2d(x, w, nil, p)
	closeTo(t, "forward", y.data, refConv2d(x, w, nil, p).data)
	gy := randTensor(r, y.shape...)
	dx, dw := Conv2dBackward(x, w, gy, p, true, true)
	rdx, rdw := refConv2dBackward(x, w, gy, p, true, true)
	closeTo(t, "dx", dx.data, rdx.data)
	closeTo(t, "dw", dw.data, rdw.data)
}

func TestValidRange(t *testing.T) {
	for out := 1; out < 9; out++ {
		for size := 1; size < 9; size++ {
			for stride := 1; stride < 4; stride++ {
				for off := -5; off < 6; off++ {
					lo, hi := validRange(out, size, stride, off)
					for o := range out {
						in := o*stride + off
						inside := in >= 0 && in < size
						if inside != (o >= lo && o < hi) {
							t.Fatalf("validRange(%d,%d,%d,%d) = [%d,%d): index %d wrong", out, size, stride, off, lo, hi, o)
						}
					}
				}
			}
		}
	}
}

// TestMaxPool2x2MatchesGeneral checks the 2×2 fast path against the
// general window loop on odd sizes, ties and NaN.
func TestMaxPool2x2MatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, hw := range [][2]int{{2, 2}, {7, 5}, {17, 33}, {1, 255}, {28, 28}} {
		x := FromFunc(func(int) float32 { return float32(r.IntN(4)) }, 3, hw[0], hw[1])
		for i := 0; i < len(x.data); i += 7 {
			x.data[i] = float32(math.NaN())
		}
		p := PoolParams{Kernel: [2]int{2, 2}}
		if hw[0] < 2 {
			continue
		}
		y, arg := MaxPool2d(x, p)
		g := newPoolGeom("test", x, p)
		for c := range g.nc {
			want := make([]float32, g.oh*g.ow)
			warg := make([]int32, g.oh*g.ow)
			g.maxPoolPlane(x.data[c*g.h*g.w:][:g.h*g.w], want, warg)
			for i := range want {
				o := c*g.oh*g.ow + i
				if arg[o] != warg[i] || math.Float32bits(y.data[o]) != math.Float32bits(want[i]) {
					t.Fatalf("%v plane %d output %d: got %v at %d, want %v at %d", hw, c, i, y.data[o], arg[o], want[i], warg[i])
				}
			}
		}
	}
}

// TestConvBlocksBitIdentical checks that the per-worker blocks of images
// (l2Floats) do not change a bit of the fused conv's outputs or input
// gradient (every element is the same sum whatever the block), pos-major
// (32 input channels) and channel-major (1 input channel) products alike,
// with groups; and that the weight gradient, summed block by block, stays
// close to the batch-wide product of the kept-columns path.
func TestConvBlocksBitIdentical(t *testing.T) {
	defer func(v int, k bool) { l2Floats, keepColumns = v, k }(l2Floats, keepColumns)
	r := rand.New(rand.NewPCG(7, 8))
	for _, cc := range []struct{ n, c, o, groups int }{{13, 32, 64, 1}, {13, 1, 32, 1}, {9, 8, 16, 2}} {
		p := ConvParams{Padding: [2]int{1, 1}, Groups: cc.groups}
		x := randTensor(r, cc.n, cc.c, 14, 14)
		w := randTensor(r, cc.o, cc.c/cc.groups, 3, 3)
		b := randTensor(r, cc.o)
		var ref []*Tensor
		for _, v := range []struct {
			lf   int
			keep bool
		}{{1 << 40, false}, {1 << 18, false}, {1, false}, {1 << 18, true}, {1, true}} {
			l2Floats, keepColumns = v.lf, v.keep
			pooled, arg, cols := Conv2dReLUMaxPool2Keep(x, w, b, p)
			if (cols != nil) != v.keep {
				t.Fatalf("keepColumns=%v but columns kept: %v", v.keep, cols != nil)
			}
			gp := randTensor(rand.New(rand.NewPCG(1, 1)), pooled.shape...)
			dx, dw, db := Conv2dReLUMaxPool2GradsKeep(x, w, pooled, gp, arg, p, cols, true, true, true)
			y := Conv2d(x, w, b, p)
			got := []*Tensor{pooled, dx, dw, db, y}
			if ref == nil {
				ref = got
				continue
			}
			for i := range got {
				if i == 2 {
					closeTo(t, "dw", got[i].data, ref[i].data)
					continue
				}
				for j, u := range got[i].data {
					if math.Float32bits(u) != math.Float32bits(ref[i].data[j]) {
						t.Fatalf("%+v %+v: output %d element %d = %v, want %v", cc, v, i, j, u, ref[i].data[j])
					}
				}
			}
		}
	}
}
