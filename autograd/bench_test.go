package autograd_test

import (
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// BenchmarkMLPStep times one W-MLP training step (784-256-128-10, batch 64,
// SGD with momentum) on random data, with allocations.
func BenchmarkMLPStep(b *testing.B) { benchMLP(b, false, false) }

// BenchmarkMLPStepRelease is BenchmarkMLPStep ending each step with
// BackwardRelease, as a training loop that keeps no forward values does.
func BenchmarkMLPStepRelease(b *testing.B) { benchMLP(b, true, false) }

// BenchmarkMLPStepFused is BenchmarkMLPStepRelease with each hidden layer
// and its ReLU fused into LinearReLU.
func BenchmarkMLPStepFused(b *testing.B) { benchMLP(b, true, true) }

func benchMLP(b *testing.B, release, fused bool) {
	r := rand.New(rand.NewPCG(1, 2))
	scaled := func(s float64, shape ...int) *ag.Value {
		return ag.Param(tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64() * s) }, shape...))
	}
	w1, b1 := scaled(0.03, 256, 784), scaled(0.01, 256)
	w2, b2 := scaled(0.06, 128, 256), scaled(0.01, 128)
	w3, b3 := scaled(0.08, 10, 128), scaled(0.01, 10)
	opt := optim.SGD([]*ag.Value{w1, b1, w2, b2, w3, b3}, optim.LR(0.05), optim.Momentum(0.9))
	x := ag.Const(tensor.FromFunc(func(int) float32 { return r.Float32() }, 64, 784))
	y := make([]int, 64)
	for i := range y {
		y[i] = r.IntN(10)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		var h *ag.Value
		if fused {
			h = ag.LinearReLU(ag.LinearReLU(x, w1, b1), w2, b2)
		} else {
			h = ag.ReLU(ag.Linear(ag.ReLU(ag.Linear(x, w1, b1)), w2, b2))
		}
		loss := ag.CrossEntropy(ag.Linear(h, w3, b3), y)
		opt.ZeroGrad()
		if release {
			loss.BackwardRelease()
		} else {
			loss.Backward()
		}
		opt.Step()
	}
}

// BenchmarkCNNStep times one W-CNN training step (two 3×3 convolutions,
// batch 64) on random data.
func BenchmarkCNNStep(b *testing.B) { benchCNN(b, false, false) }

// BenchmarkCNNStepRelease is BenchmarkCNNStep ending each step with
// BackwardRelease.
func BenchmarkCNNStepRelease(b *testing.B) { benchCNN(b, true, false) }

// BenchmarkCNNStepFused is BenchmarkCNNStepRelease with each convolution,
// its ReLU and its pooling fused into Conv2dReLUMaxPool2d, and the hidden
// linear layer and its ReLU into LinearReLU.
func BenchmarkCNNStepFused(b *testing.B) { benchCNN(b, true, true) }

func benchCNN(b *testing.B, release, fused bool) {
	r := rand.New(rand.NewPCG(1, 2))
	scaled := func(s float64, shape ...int) *ag.Value {
		return ag.Param(tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64() * s) }, shape...))
	}
	c1, cb1 := scaled(0.3, 32, 1, 3, 3), scaled(0.01, 32)
	c2, cb2 := scaled(0.06, 64, 32, 3, 3), scaled(0.01, 64)
	w1, b1 := scaled(0.02, 128, 3136), scaled(0.01, 128)
	w2, b2 := scaled(0.08, 10, 128), scaled(0.01, 10)
	opt := optim.SGD([]*ag.Value{c1, cb1, c2, cb2, w1, b1, w2, b2}, optim.LR(0.05), optim.Momentum(0.9))
	x := ag.Const(tensor.FromFunc(func(int) float32 { return r.Float32() }, 64, 1, 28, 28))
	y := make([]int, 64)
	for i := range y {
		y[i] = r.IntN(10)
	}
	pad1 := ag.ConvParams{Padding: [2]int{1, 1}}
	pool := ag.PoolParams{Kernel: [2]int{2, 2}}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		var h *ag.Value
		if fused {
			h = ag.Conv2dReLUMaxPool2d(x, c1, cb1, pad1, pool)
			h = ag.Conv2dReLUMaxPool2d(h, c2, cb2, pad1, pool)
		} else {
			h = ag.MaxPool2d(ag.ReLU(ag.Conv2d(x, c1, cb1, pad1)), pool)
			h = ag.MaxPool2d(ag.ReLU(ag.Conv2d(h, c2, cb2, pad1)), pool)
		}
		if fused {
			h = ag.LinearReLU(ag.Flatten(h), w1, b1)
		} else {
			h = ag.ReLU(ag.Linear(ag.Flatten(h), w1, b1))
		}
		loss := ag.CrossEntropy(ag.Linear(h, w2, b2), y)
		opt.ZeroGrad()
		if release {
			loss.BackwardRelease()
		} else {
			loss.Backward()
		}
		opt.Step()
	}
}

// reportCPU starts measuring the process's CPU time (user and system, all
// threads) and returns a function that reports it per op as cpu-ms/op: on a
// machine shared with other jobs this is steadier than wall time, and it
// counts the work of every goroutine a step uses.
func reportCPU(b *testing.B) func() {
	t0 := cpuSeconds()
	return func() {
		b.ReportMetric((cpuSeconds()-t0)*1e3/float64(b.N), "cpu-ms/op")
	}
}
