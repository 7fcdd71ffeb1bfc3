package nn_test

import (
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// The ResNet-18 workloads of BenchmarkResNet18*, reporting CPU time per
// operation too (steadier than wall time on a shared machine), and the
// inference both fused (ag.NoGraph input) and layer by layer (a constant
// input to the frozen model: the ops record nothing, but Forward does not
// take the fused form).

func randImages(r *rand.Rand, n, size int) *tensor.Tensor {
	return tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, n, 3, size, size)
}

// BenchmarkResNet18CPUStep is BenchmarkResNet18Step with CPU time.
func BenchmarkResNet18CPUStep(b *testing.B) {
	m := nn.ResNet18(10, nn.Seed(1))
	opt := optim.SGD(nn.Parameters(m), optim.LR(0.01), optim.Momentum(0.9))
	r := rand.New(rand.NewPCG(1, 2))
	x := randImages(r, 32, 64)
	y := make([]int, 32)
	for i := range y {
		y[i] = r.IntN(10)
	}
	c0 := cpuTime()
	for b.Loop() {
		loss := ag.CrossEntropy(m.Forward(ag.Const(x)), y)
		opt.ZeroGrad()
		loss.BackwardRelease()
		opt.Step()
	}
	b.ReportMetric((cpuTime()-c0)*1e3/float64(b.N), "cpu-ms/op")
}

func benchResNet18CPUInfer(b *testing.B, batch int, fused bool) {
	m := nn.ResNet18(1000, nn.Seed(1))
	nn.Eval(m)
	if !fused {
		// a constant input then records no graph either
		nn.Freeze(m)
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := randImages(r, batch, 224)
	in := ag.NoGraph(x)
	if !fused {
		in = ag.Const(x)
	}
	c0 := cpuTime()
	for b.Loop() {
		m.Forward(in)
	}
	b.ReportMetric((cpuTime()-c0)*1e3/float64(b.N), "cpu-ms/op")
}

// BenchmarkResNet18CPUInferBatch1 is BenchmarkResNet18InferBatch1 with
// CPU time; /layers runs the layers one by one.
func BenchmarkResNet18CPUInferBatch1(b *testing.B) {
	b.Run("fused", func(b *testing.B) { benchResNet18CPUInfer(b, 1, true) })
	b.Run("layers", func(b *testing.B) { benchResNet18CPUInfer(b, 1, false) })
}

// BenchmarkResNet18CPUInferBatch32 is BenchmarkResNet18CPUInferBatch1 for
// a batch of 32.
func BenchmarkResNet18CPUInferBatch32(b *testing.B) {
	b.Run("fused", func(b *testing.B) { benchResNet18CPUInfer(b, 32, true) })
	b.Run("layers", func(b *testing.B) { benchResNet18CPUInfer(b, 32, false) })
}
