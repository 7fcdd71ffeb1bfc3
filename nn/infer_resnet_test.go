package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// TestResNetInferencePrepared checks a ResNet prepared by nn.NewInference
// against nn.Infer and the layers run one by one: bit for bit where no
// convolution has 16 to 31 tiles of 2×2 outputs (the prepared weights
// save the transforms, not the path), to float32 rounding where one has
// (prepared, Winograd takes it; unprepared, im2col), and, once the
// weights change, nn.Infer's bits (a stale prepared weight is not used).
func TestResNetInferencePrepared(t *testing.T) {
	for _, c := range []struct {
		arch    string
		n, size int
		exact   bool
	}{
		{"resnet18", 1, 96, true},   // 144, 36, 9 and 4 tiles
		{"resnet18", 1, 224, false}, // layer4: 16 tiles
		{"resnet18", 2, 64, true},   // 128, 32, 8 and 2
		{"resnet50", 1, 64, false},  // layer2: 16
	} {
		m, err := nn.Zoo(c.arch, 10, nn.Seed(5))
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(6, uint64(c.size)))
		randomizeBN(m, r)
		nn.Freeze(m)
		p := nn.NewInference(m)
		x := tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, c.n, 3, c.size, c.size)
		got := p.Infer(x).Data()
		want := nn.Infer(m, x).Data()
		if c.exact {
			if !equalBits(got, want) {
				t.Errorf("%s %d×%d: prepared inference differs from nn.Infer's bits", c.arch, c.n, c.size)
			}
		} else {
			if equalBits(got, want) {
				t.Errorf("%s %d×%d: prepared inference gives nn.Infer's bits: no convolution took Winograd for its prepared weight", c.arch, c.n, c.size)
			}
			layers := m.Forward(ag.Const(x)).Data.Data()
			var big, d float64
			for i, v := range layers {
				big = max(big, math.Abs(float64(v)))
				d = max(d, math.Abs(float64(got[i]-v)))
			}
			if !(d <= 1e-4*big) {
				t.Errorf("%s %d×%d: prepared inference off by %.3g (largest logit %.3g)", c.arch, c.n, c.size, d, big)
			}
		}
		// New weights: the prepared ones are stale and not used.
		nn.Walk(m, func(_ string, l any) bool {
			if conv, ok := l.(*nn.Conv2dModule); ok {
				d := conv.Weight.Data.Data()
				for i := range d {
					d[i] *= 1.25
				}
			}
			return true
		})
		if got, want := p.Infer(x).Data(), nn.Infer(m, x).Data(); !equalBits(got, want) {
			t.Errorf("%s %d×%d: after the weights changed, prepared inference differs from nn.Infer's bits", c.arch, c.n, c.size)
		}
	}
}
