package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// direct1Case is one geometry for the tests of the one-input-channel
// direct convolution.
type direct1Case struct{ n, h, w, o, pad int }

// direct1Cases are awkward sizes: odd and even outputs, rows of fewer
// than 8 windows and of more than 8 but not a multiple, output channels
// that are not multiples of 8, padding 0 to 2, batches 1 to 9.
var direct1Cases = []direct1Case{
	{1, 28, 28, 32, 1}, {2, 9, 7, 5, 1}, {3, 5, 6, 1, 0}, {4, 27, 20, 7, 1},
	{5, 4, 4, 3, 0}, {7, 13, 35, 9, 2}, {9, 28, 28, 32, 1}, {1, 2, 40, 2, 1},
}

// direct1Inputs makes the input, weight, bias and batch norm of a case.
func direct1Inputs(r *rand.Rand, c direct1Case) (x, w, bias *Tensor, p ConvParams, st NormStats, bw, bb *Tensor) {
	x = randTensor(r, c.n, 1, c.h, c.w)
	w = randTensor(r, c.o, 1, 3, 3)
	bias, bw, bb = randTensor(r, c.o), randTensor(r, c.o), randTensor(r, c.o)
	mean, vr := randTensor(r, c.o), randTensor(r, c.o)
	for i := range vr.data {
		vr.data[i] = float32(math.Abs(float64(vr.data[i]))) + 0.1
	}
	return x, w, bias, ConvParams{Padding: [2]int{c.pad, c.pad}}, RunningStats(mean, vr, 1e-5), bw, bb
}

// TestDirect1MatchesIm2col checks the inference op on a one-channel input
// (the direct convolution) against the im2col path's, with and without a
// bias and the batch norm's affine factors, pooled values to rounding and
// indices where the values agree.
func TestDirect1MatchesIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range direct1Cases {
		x, w, bias, p, st, bw, bb := direct1Inputs(r, c)
		for _, affine := range []bool{true, false} {
			b, wt, bs := bias, bw, bb
			if !affine {
				b, wt, bs = nil, nil, nil
			}
			name := fmt.Sprintf("%+v affine=%v", c, affine)
			if g := newConvGeom(x, w, p); !g.direct1() {
				t.Fatalf("%s: not taken by the direct path", name)
			}
			want, wantArg := Conv2dBatchNormReLU(x, w, b, p, st, wt, bs, true, true)
			got, arg := Conv2dBatchNormReLUWinograd(x, w, b, p, st, wt, bs, true, true)
			if !EqualShapes(got.shape, want.shape) {
				t.Fatalf("%s: shape %v, want %v", name, got.shape, want.shape)
			}
			closeTo(t, name, got.data, want.data)
			same := 0
			for i, v := range want.data {
				if math.Float32bits(got.data[i]) == math.Float32bits(v) {
					same++
					if arg[i] != wantArg[i] {
						t.Fatalf("%s: [%d] = %v at %d, want at %d", name, i, v, arg[i], wantArg[i])
					}
				}
			}
			t.Logf("%s: %d of %d pooled values bit for bit im2col's", name, same, len(want.data))
		}
	}
}

// TestDirect1VecMatchesGo checks the vector kernel against the Go path bit
// for bit, with the argmax indices, with tied windows (a ReLU's zeros) and
// with NaN in one image, on one and two threads, and that each image's
// result is the one it gets alone in a batch of one.
func TestDirect1VecMatchesGo(t *testing.T) {
	defer func(v bool) { useDirect1Vec = v }(useDirect1Vec)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(23, 24))
	for _, c := range direct1Cases {
		x, w, bias, p, st, bw, bb := direct1Inputs(r, c)
		for nan := range 2 {
			if nan == 1 {
				x.data[len(x.data)/2] = float32(math.NaN())
			}
			var ref *Tensor
			var refArg []int32
			for _, v := range []struct {
				vec   bool
				procs int
			}{{false, 1}, {true, 1}, {true, 2}, {false, 2}} {
				useDirect1Vec = v.vec
				runtime.GOMAXPROCS(v.procs)
				got, arg := Conv2dBatchNormReLUWinograd(x, w, bias, p, st, bw, bb, true, true)
				if ref == nil {
					ref, refArg = got, arg
					continue
				}
				name := fmt.Sprintf("%+v nan=%d %+v", c, nan, v)
				for i, u := range got.data {
					if math.Float32bits(u) != math.Float32bits(ref.data[i]) || arg[i] != refArg[i] {
						t.Fatalf("%s: [%d] = %v at %d, want %v at %d", name, i, u, arg[i], ref.data[i], refArg[i])
					}
				}
			}
			// image by image, as a batch of one
			per := len(ref.data) / c.n
			hw := c.h * c.w
			for i := range c.n {
				xi := New(append([]float32(nil), x.data[i*hw:(i+1)*hw]...), 1, 1, c.h, c.w)
				got, arg := Conv2dBatchNormReLUWinograd(xi, w, bias, p, st, bw, bb, true, true)
				for j, u := range got.data {
					if math.Float32bits(u) != math.Float32bits(ref.data[i*per+j]) || arg[j] != refArg[i*per+j] {
						t.Fatalf("%+v nan=%d image %d alone: [%d] = %v, want %v", c, nan, i, j, u, ref.data[i*per+j])
					}
				}
			}
		}
	}
}

// BenchmarkDirect1 compares the im2col and direct paths on the first
// convolution of the CNN preset (1→32 channels, 28×28, pooled).
func BenchmarkDirect1(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 32} {
		x, w, bias, p, st, bw, bb := direct1Inputs(r, direct1Case{n, 28, 28, 32, 1})
		for _, v := range []struct {
			name string
			f    func(x, w, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias *Tensor, relu, pool bool) (*Tensor, []int32)
		}{{"im2col", Conv2dBatchNormReLU}, {"direct", Conv2dBatchNormReLUWinograd}} {
			b.Run(fmt.Sprintf("%s/batch%d", v.name, n), func(b *testing.B) {
				c0 := cpuTime()
				for b.Loop() {
					y, arg := v.f(x, w, bias, p, st, bw, bb, true, true)
					RecycleInt32s(arg)
					Recycle(y)
				}
				b.ReportMetric((cpuTime()-c0)*1e6/float64(b.N), "cpu-µs/op")
			})
		}
	}
}
