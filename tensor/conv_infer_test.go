package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv2dBatchNormReLUMatchesOps checks the fused inference op against
// Conv2d, BatchNorm, ReLU and MaxPool2d applied one after another, bit
// for bit, on awkward sizes (planes narrower than a vector's windows, odd
// widths), with and without biases, affine weights, ReLU and pooling,
// grouped and strided convolutions, and ±0 and NaN among the inputs.
func TestConv2dBatchNormReLUMatchesOps(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	randT := func(shape ...int) *Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(r.NormFloat64())
		}
		return New(d, shape...)
	}
	type tc struct {
		n, c, h, w, o, k int
		p                ConvParams
	}
	cases := []tc{
		{1, 1, 6, 6, 4, 3, ConvParams{Padding: [2]int{1, 1}}},
		{3, 2, 9, 13, 5, 3, ConvParams{}},
		{2, 4, 14, 14, 8, 3, ConvParams{Padding: [2]int{1, 1}, Groups: 2}},
		{2, 3, 28, 28, 16, 3, ConvParams{Padding: [2]int{1, 1}}},
		{1, 8, 11, 11, 64, 3, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{4, 32, 8, 8, 64, 3, ConvParams{Padding: [2]int{1, 1}}},
	}
	for ci, c := range cases {
		x := randT(c.n, c.c, c.h, c.w)
		if ci == 1 {
			x.data[3] = float32(math.NaN())
			x.data[5] = float32(math.Copysign(0, -1))
		}
		g := max(1, c.p.Groups)
		w := randT(c.o, c.c/g, c.k, c.k)
		mean, vr := randT(c.o), randT(c.o)
		for i := range vr.data {
			vr.data[i] = float32(math.Abs(float64(vr.data[i]))) + 0.1
		}
		st := RunningStats(mean, vr, 1e-5)
		for variant := range 8 {
			bias, bw, bb := randT(c.o), randT(c.o), randT(c.o)
			if variant&1 != 0 {
				bias = nil
			}
			if variant&2 != 0 {
				bw, bb = nil, nil
			}
			relu, pool := variant&4 != 0, variant >= 4 && ci%2 == 0
			name := fmt.Sprintf("case %d variant %d", ci, variant)
			want := BatchNorm(Conv2d(x, w, bias, c.p), bw, bb, st)
			if relu || pool {
				want = ReLU(want)
			}
			var warg []int32
			if pool {
				want, warg = MaxPool2d(want, PoolParams{Kernel: [2]int{2, 2}})
			}
			got, arg := Conv2dBatchNormReLU(x, w, bias, c.p, st, bw, bb, relu, pool)
			if !EqualShapes(got.Shape(), want.Shape()) {
				t.Fatalf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
			}
			for i, v := range want.data {
				if math.Float32bits(got.data[i]) != math.Float32bits(v) && !(v != v && got.data[i] != got.data[i]) {
					t.Fatalf("%s: [%d] = %v, want %v", name, i, got.data[i], v)
				}
				if pool && arg[i] != warg[i] {
					t.Fatalf("%s: argmax [%d] = %d, want %d", name, i, arg[i], warg[i])
				}
			}
			if (arg != nil) != pool {
				t.Fatalf("%s: argmax %v with pool %v", name, arg != nil, pool)
			}
		}
	}
}

// TestWinogradFilter checks which convolutions NewWinogradFilter prepares,
// that the prepared op gives Conv2dBatchNormReLUWinograd's bits, and that
// a filter made from other values (or nil) is not used.
func TestWinogradFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, c := range []struct {
		name  string
		w     *Tensor
		p     ConvParams
		wants bool
	}{
		{"3×3 16 channels", randTensor(r, 8, 16, 3, 3), ConvParams{Padding: [2]int{1, 1}}, true},
		{"too few channels", randTensor(r, 8, 15, 3, 3), ConvParams{}, false},
		{"5×5", randTensor(r, 8, 16, 5, 5), ConvParams{}, false},
		{"stride 2", randTensor(r, 8, 16, 3, 3), ConvParams{Stride: [2]int{2, 2}}, false},
		{"dilation 2", randTensor(r, 8, 16, 3, 3), ConvParams{Dilation: [2]int{2, 2}}, false},
		{"groups", randTensor(r, 8, 8, 3, 3), ConvParams{Groups: 2}, false},
		{"float64", randTensor(r, 8, 16, 3, 3).To(Float64), ConvParams{}, false},
		{"3-D", randTensor(r, 8, 16, 9), ConvParams{}, false},
		{"nil", nil, ConvParams{}, false},
	} {
		f := NewWinogradFilter(c.w, c.p)
		if (f != nil) != c.wants {
			t.Fatalf("%s: filter %v, want one: %v", c.name, f != nil, c.wants)
		}
	}
	w := randTensor(r, 12, 16, 3, 3)
	p := ConvParams{Padding: [2]int{1, 1}}
	f := NewWinogradFilter(w, p)
	other := NewWinogradFilter(randTensor(r, 12, 16, 3, 3), p)
	bias, mean, vr := randTensor(r, 12), randTensor(r, 12), Full(0.7, 12)
	st := RunningStats(mean, vr, 1e-5)
	for _, n := range []int{1, 3, 9} {
		x := randTensor(r, n, 16, 9, 8)
		for _, pool := range []bool{false, true} {
			want, _ := Conv2dBatchNormReLUWinograd(x, w, bias, p, st, nil, nil, true, pool)
			for _, v := range []struct {
				name string
				f    *WinogradFilter
			}{{"made from w", f}, {"made from other values", other}, {"nil", nil}} {
				got, _ := Conv2dBatchNormReLUWinogradFilter(x, w, v.f, bias, p, st, nil, nil, true, pool)
				for i, u := range want.data {
					if math.Float32bits(got.data[i]) != math.Float32bits(u) {
						t.Fatalf("batch %d pool=%v filter %s: [%d] = %v, want %v", n, pool, v.name, i, got.data[i], u)
					}
				}
			}
		}
	}
}
