package autograd_test

import (
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// TestConv2dReLUMatchesUnfused checks that the fused ops give the bits of
// ReLU(Conv2d(...)) and MaxPool2d(ReLU(Conv2d(...))) forward and the bits
// of their gradients (upstream gradients include ±0), for several
// geometries, with and without bias, and with zeros in the input so that
// exact zeros reach the ReLU.
func TestConv2dReLUMatchesUnfused(t *testing.T) {
	cases := []struct {
		name       string
		x, w       []int
		bias       bool
		p          ag.ConvParams
		wantXGrads bool
	}{
		{"conv1 like", []int{3, 1, 7, 9}, []int{5, 1, 3, 3}, true, ag.ConvParams{Padding: [2]int{1, 1}}, false},
		{"conv2 like", []int{2, 4, 6, 5}, []int{6, 4, 3, 3}, true, ag.ConvParams{Padding: [2]int{1, 1}}, true},
		{"no bias stride groups", []int{2, 4, 7, 6}, []int{6, 2, 3, 2}, false, ag.ConvParams{Stride: [2]int{2, 1}, Padding: [2]int{1, 2}, Dilation: [2]int{2, 1}, Groups: 2}, true},
		{"position-major odd", []int{2, 8, 7, 9}, []int{32, 8, 3, 3}, true, ag.ConvParams{Padding: [2]int{1, 1}}, true},
	}
	pool := ag.PoolParams{Kernel: [2]int{2, 2}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			gen := func(int) float32 {
				if r.IntN(5) == 0 {
					return 0
				}
				return float32(r.NormFloat64())
			}
			xt, wt := tensor.FromFunc(gen, c.x...), tensor.FromFunc(gen, c.w...)
			var bt *tensor.Tensor
			if c.bias {
				bt = tensor.FromFunc(gen, c.w[0])
			}
			run := func(fused, pooled bool) (y *tensor.Tensor, grads []*tensor.Tensor) {
				x := ag.Const(xt.Clone())
				if c.wantXGrads {
					x = ag.Param(xt.Clone())
				}
				w := ag.Param(wt.Clone())
				var b *ag.Value
				if bt != nil {
					b = ag.Param(bt.Clone())
				}
				var out *ag.Value
				switch {
				case fused && pooled:
					out = ag.Conv2dReLUMaxPool2d(x, w, b, c.p, pool)
				case fused:
					out = ag.Conv2dReLU(x, w, b, c.p)
				case pooled:
					out = ag.MaxPool2d(ag.ReLU(ag.Conv2d(x, w, b, c.p)), pool)
				default:
					out = ag.ReLU(ag.Conv2d(x, w, b, c.p))
				}
				y = out.Data.Clone()
				rr := rand.New(rand.NewPCG(7, 8))
				g := tensor.FromFunc(func(int) float32 {
					switch rr.IntN(8) {
					case 0:
						return float32(math.Copysign(0, -1))
					case 1:
						return 0
					}
					return float32(rr.NormFloat64())
				}, out.Shape()...)
				ag.Sum(ag.Mul(out, ag.Const(g))).Backward()
				for _, v := range []*ag.Value{x, w, b} {
					if v != nil && v.Grad != nil {
						grads = append(grads, v.Grad)
					}
				}
				return y, grads
			}
			for _, pooled := range []bool{false, true} {
				y0, g0 := run(false, pooled)
				y1, g1 := run(true, pooled)
				same := func(what string, a, b *tensor.Tensor) {
					ad, bd := a.Data(), b.Data()
					for i := range ad {
						if math.Float32bits(ad[i]) != math.Float32bits(bd[i]) {
							t.Fatalf("%s differs at %d: fused %v, unfused %v", what, i, bd[i], ad[i])
						}
					}
				}
				same("output", y0, y1)
				if len(g0) != len(g1) {
					t.Fatalf("%d gradients fused, %d unfused", len(g1), len(g0))
				}
				for i := range g0 {
					same("gradient", g0[i], g1[i])
				}
			}
		})
	}
}

// TestLinearReLUMatchesUnfused checks LinearReLU against ReLU(Linear(...))
// bit for bit, values and gradients, with and without bias, with exact
// zeros and ±0 in the upstream gradient.
func TestLinearReLUMatchesUnfused(t *testing.T) {
	for _, bias := range []bool{true, false} {
		r := rand.New(rand.NewPCG(21, 22))
		gen := func(int) float32 {
			if r.IntN(6) == 0 {
				return 0
			}
			return float32(r.NormFloat64())
		}
		xt, wt, bt := tensor.FromFunc(gen, 7, 33), tensor.FromFunc(gen, 17, 33), tensor.FromFunc(gen, 17)
		gt := tensor.FromFunc(func(i int) float32 {
			switch i % 5 {
			case 0:
				return float32(math.Copysign(0, -1))
			case 1:
				return 0
			}
			return float32(r.NormFloat64())
		}, 7, 17)
		run := func(fused bool) []*tensor.Tensor {
			x, w := ag.Param(xt.Clone()), ag.Param(wt.Clone())
			var b *ag.Value
			if bias {
				b = ag.Param(bt.Clone())
			}
			var out *ag.Value
			if fused {
				out = ag.LinearReLU(x, w, b)
			} else {
				out = ag.ReLU(ag.Linear(x, w, b))
			}
			res := []*tensor.Tensor{out.Data.Clone()}
			out.BackwardWith(gt.Clone())
			res = append(res, x.Grad, w.Grad)
			if b != nil {
				res = append(res, b.Grad)
			}
			return res
		}
		want, got := run(false), run(true)
		for k := range want {
			a, b := want[k].Data(), got[k].Data()
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("bias=%v result %d element %d: fused %v, unfused %v", bias, k, i, b[i], a[i])
				}
			}
		}
	}
}
