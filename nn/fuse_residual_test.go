package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// TestResNetFusedInference checks ResNet's fused inference (Forward on an
// ag.NoGraph input in evaluation mode) against its layers run one by one
// (a constant input to the frozen model): bit for bit where every
// convolution takes im2col (fewer than 32 tiles of 2×2 outputs per
// convolution), and to float32 rounding where Winograd runs (a batch of
// 8; one image of 3×160×160), for resnet18 and resnet50 with random
// batch-norm statistics; and that nn.Infer gives Forward's bits.
func TestResNetFusedInference(t *testing.T) {
	for _, c := range []struct {
		arch    string
		n, size int
		exact   bool
	}{
		{"resnet18", 2, 16, true},
		{"resnet50", 1, 32, true},
		{"resnet18", 8, 32, false},
		{"resnet18", 1, 160, false},
	} {
		m, err := nn.Zoo(c.arch, 10, nn.Seed(3))
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(4, uint64(c.n)))
		randomizeBN(m, r)
		// Frozen (evaluation mode, no parameter requires a gradient), a
		// constant input records no graph either: the layers run as
		// plain inference ops (im2col), one by one.
		nn.Freeze(m)
		x := tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, c.n, 3, c.size, c.size)
		got := m.Forward(ag.NoGraph(x)).Data.Data()
		want := m.Forward(ag.Const(x)).Data.Data()
		if inf := nn.Infer(m, x).Data(); !equalBits(inf, got) {
			t.Errorf("%s %d×%d: nn.Infer differs from Forward on a NoGraph input", c.arch, c.n, c.size)
		}
		if c.exact {
			if !equalBits(got, want) {
				t.Errorf("%s %d×%d: fused inference differs from the layers' bits", c.arch, c.n, c.size)
			}
			continue
		}
		var big, d float64
		for i, v := range want {
			big = max(big, math.Abs(float64(v)))
			d = max(d, math.Abs(float64(got[i]-v)))
		}
		t.Logf("%s %d×%d: max error relative to the largest logit %.2g", c.arch, c.n, c.size, d/big)
		if !(d <= 1e-4*big) {
			t.Errorf("%s %d×%d: fused inference off by %.3g (largest logit %.3g)", c.arch, c.n, c.size, d, big)
		}
		if equalBits(got, want) {
			t.Errorf("%s %d×%d: bit for bit the layers' values: Winograd did not run", c.arch, c.n, c.size)
		}
	}
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// randomizeBN gives every batch norm of m random running statistics and
// affine parameters, so that a fused pass that dropped one would show.
func randomizeBN(m nn.Module, r *rand.Rand) {
	nn.Walk(m, func(_ string, l any) bool {
		bn, ok := l.(*nn.BatchNormModule)
		if !ok {
			return true
		}
		for _, t := range []*tensor.Tensor{bn.RunningMean, bn.Weight.Data, bn.Bias.Data} {
			d := t.Data()
			for i := range d {
				d[i] = float32(r.NormFloat64()) * 0.3
			}
		}
		d := bn.RunningVar.Data()
		for i := range d {
			d[i] = 0.5 + r.Float32()
		}
		return true
	})
}
