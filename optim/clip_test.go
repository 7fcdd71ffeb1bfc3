package optim

import (
	"math"
	"testing"

	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

func gradParams(grads ...[]float32) []*autograd.Value {
	var ps []*autograd.Value
	for _, g := range grads {
		p := autograd.Param(tensor.Zeros(len(g)))
		if g != nil {
			p.Grad = tensor.New(append([]float32(nil), g...), len(g))
		}
		ps = append(ps, p)
	}
	return ps
}

func TestClipGradNorm(t *testing.T) {
	cases := []struct {
		name              string
		grads             [][]float32
		maxNorm, normType float64
		wantNorm          float64
		wantCoef          float64 // expected scale of every gradient
	}{
		// ‖(3, 4, 12)‖₂ = 13.
		{"l2 clipped", [][]float32{{3, 4}, {12}}, 6.5, 2, 13, 6.5 / (13 + 1e-6)},
		{"l2 under", [][]float32{{3, 4}, {12}}, 20, 2, 13, 1},
		{"l2 skips nil", [][]float32{{3, 4}, nil, {-12}}, 1, 2, 13, 1 / (13 + 1e-6)},
		{"inf", [][]float32{{3, -14}, {12}}, 7, math.Inf(1), 14, 7 / (14 + 1e-6)},
		{"l1", [][]float32{{3, -4}, {-3}}, 5, 1, 10, 5 / (10 + 1e-6)},
		// (1 + 8 + 27 + 64·2... ) use (1, 2, 2): Σ|g|³ = 17, 17^(1/3).
		{"l3", [][]float32{{1, -2}, {2}}, 1, 3, math.Cbrt(17), 1 / (math.Cbrt(17) + 1e-6)},
		{"empty", [][]float32{nil}, 1, 2, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := gradParams(c.grads...)
			got := ClipGradNorm(ps, c.maxNorm, c.normType)
			if math.Abs(got-c.wantNorm) > 1e-12*c.wantNorm {
				t.Fatalf("norm %v, want %v", got, c.wantNorm)
			}
			for i, p := range ps {
				if c.grads[i] == nil {
					if p.Grad != nil {
						t.Fatal("nil Grad filled in")
					}
					continue
				}
				for j, g := range p.Grad.Data() {
					want := c.grads[i][j] * float32(c.wantCoef)
					if g != want {
						t.Fatalf("grad %d[%d] = %v, want %v", i, j, g, want)
					}
				}
			}
		})
	}
	ps := gradParams([]float32{float32(math.NaN()), 1})
	if n := ClipGradNorm(ps, 1, 2); !math.IsNaN(n) || !math.IsNaN(float64(ps[0].Grad.Data()[1])) {
		t.Fatalf("NaN gradient: norm %v, grads %v", n, ps[0].Grad.Data())
	}
}

func TestClipGradValue(t *testing.T) {
	ps := gradParams([]float32{-3, -0.5, 0, 0.5, 3, float32(math.NaN())}, nil)
	ClipGradValue(ps, 1)
	want := []float32{-1, -0.5, 0, 0.5, 1}
	got := ps[0].Grad.Data()
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("clipped %v, want %v then NaN", got, want)
		}
	}
	if !math.IsNaN(float64(got[5])) || ps[1].Grad != nil {
		t.Fatalf("NaN or nil grad not kept: %v", got)
	}
}
