package tensor

import (
	"math"
	"testing"
)

// TestElementwiseGrads checks each element-wise gradient function against
// central differences of its forward function (in float64, from the
// float32 forward, so a loose tolerance), and that a large tensor, which is
// split over goroutines, gives the bits of the same elements computed alone.
func TestElementwiseGrads(t *testing.T) {
	cases := []struct {
		name string
		fwd  func(x *Tensor) *Tensor
		grad func(g, x, y *Tensor) *Tensor
		xs   []float32
	}{
		{"Tanh", Tanh, func(g, _, y *Tensor) *Tensor { return TanhGrad(g, y) }, []float32{-2, -0.5, 0.3, 1.5}},
		{"Sigmoid", Sigmoid, func(g, _, y *Tensor) *Tensor { return SigmoidGrad(g, y) }, []float32{-2, -0.5, 0.3, 1.5}},
		{"Exp", Exp, func(g, _, y *Tensor) *Tensor { return ExpGrad(g, y) }, []float32{-2, -0.5, 0.3, 1.5}},
		{"Log", Log, func(g, x, _ *Tensor) *Tensor { return LogGrad(g, x) }, []float32{0.5, 1, 2, 3}},
		{"Sqrt", Sqrt, func(g, _, y *Tensor) *Tensor { return SqrtGrad(g, y) }, []float32{0.5, 1, 2, 3}},
		{"Abs", Abs, func(g, x, _ *Tensor) *Tensor { return AbsGrad(g, x) }, []float32{-2, -0.5, 0.3, 1.5}},
		{"Neg", Neg, func(g, _, _ *Tensor) *Tensor { return NegGrad(g) }, []float32{-2, 0.3}},
		{"PowScalar", func(x *Tensor) *Tensor { return PowScalar(x, 2.5) }, func(g, x, _ *Tensor) *Tensor { return PowScalarGrad(g, x, 2.5) }, []float32{0.5, 1, 2}},
		{"LeakyReLU", func(x *Tensor) *Tensor { return LeakyReLU(x, 0.1) }, func(g, x, _ *Tensor) *Tensor { return LeakyReLUGrad(g, x, 0.1) }, []float32{-2, -0.5, 0.3, 1.5}},
		{"ELU", func(x *Tensor) *Tensor { return ELU(x, 1.5) }, func(g, x, y *Tensor) *Tensor { return ELUGrad(g, x, y, 1.5) }, []float32{-2, -0.5, 0.3, 1.5}},
		{"GELU", func(x *Tensor) *Tensor { return GELU(x, false) }, func(g, x, _ *Tensor) *Tensor { return GELUGrad(g, x, false) }, []float32{-2, -0.5, 0.3, 1.5}},
		{"GELU tanh", func(x *Tensor) *Tensor { return GELU(x, true) }, func(g, x, _ *Tensor) *Tensor { return GELUGrad(g, x, true) }, []float32{-2, -0.5, 0.3, 1.5}},
		{"SiLU", SiLU, func(g, x, _ *Tensor) *Tensor { return SiLUGrad(g, x) }, []float32{-2, -0.5, 0.3, 1.5}},
		{"Softplus", func(x *Tensor) *Tensor { return Softplus(x, 2, 20) }, func(g, x, _ *Tensor) *Tensor { return SoftplusGrad(g, x, 2, 20) }, []float32{-2, -0.5, 0.3, 1.5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := New(append([]float32(nil), c.xs...), len(c.xs))
			g := Full(1.5, len(c.xs))
			got := c.grad(g, x, c.fwd(x)).Data()
			const h = 1e-2
			for i, v := range c.xs {
				up := c.fwd(New([]float32{v + h}, 1)).Item()
				down := c.fwd(New([]float32{v - h}, 1)).Item()
				want := 1.5 * (float64(up) - float64(down)) / (2 * h)
				if math.Abs(float64(got[i])-want) > 1e-2+1e-2*math.Abs(want) {
					t.Errorf("x = %v: gradient %v, finite difference %v", v, got[i], want)
				}
			}
			// Large enough to be split over goroutines: every element
			// must have the bits of the small tensor's.
			n := 5 * minParallelElems
			big := FromFunc(func(i int) float32 { return c.xs[i%len(c.xs)] }, n)
			bg := c.grad(Full(1.5, n), big, c.fwd(big)).Data()
			for i := range n {
				if math.Float32bits(bg[i]) != math.Float32bits(got[i%len(c.xs)]) {
					t.Fatalf("element %d of a large tensor: %v, alone %v", i, bg[i], got[i%len(c.xs)])
				}
			}
		})
	}
}

// TestCrossEntropyGrad checks the fused cross-entropy gradient: softmax
// minus the one-hot target, scaled per row, and zero for an ignored row.
func TestCrossEntropyGrad(t *testing.T) {
	logits := New([]float32{1, 2, 3, 0, 0, 0, 5, -1, 2}, 3, 3)
	logp := LogSoftmax(logits, 1)
	targets, coef := []int{2, -100, 0}, []float64{0.5, 7, 2}
	got := CrossEntropyGrad(logp, targets, -100, coef).Data()
	p := Softmax(logits, 1).Data()
	for i := range 3 {
		for j := range 3 {
			want := float64(coef[i]) * float64(p[i*3+j])
			if j == targets[i] {
				want -= float64(coef[i])
			}
			if targets[i] == -100 {
				want = 0
			}
			if math.Abs(float64(got[i*3+j])-want) > 1e-6 {
				t.Errorf("row %d class %d: %v, want %v", i, j, got[i*3+j], want)
			}
		}
	}
}
