package nn_test

import (
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// BenchmarkPresetCNNStep times one training step of the cnn preset (the
// model `backprop train` trains by default: convolutions with batch norm,
// dropout) on a random MNIST-shaped batch of 64, SGD with momentum.
func BenchmarkPresetCNNStep(b *testing.B) {
	spec, err := nn.Preset("cnn", []int{1, 28, 28}, 10)
	if err != nil {
		b.Fatal(err)
	}
	m, err := nn.Build(spec, []int{1, 28, 28}, nn.Seed(1))
	if err != nil {
		b.Fatal(err)
	}
	opt := optim.SGD(nn.Parameters(m), optim.LR(0.05), optim.Momentum(0.9))
	r := rand.New(rand.NewPCG(1, 2))
	x := tensor.FromFunc(func(int) float32 { return r.Float32() }, 64, 1, 28, 28)
	y := make([]int, 64)
	for i := range y {
		y[i] = r.IntN(10)
	}
	for b.Loop() {
		loss := ag.CrossEntropy(m.Forward(ag.Const(x)), y)
		opt.ZeroGrad()
		loss.BackwardRelease()
		opt.Step()
	}
}

// BenchmarkCNNInferBatch1 times the W-CNN model's forward pass on one
// image in evaluation mode, without a graph (W-INFER at batch 1).
func BenchmarkCNNInferBatch1(b *testing.B) {
	m, err := nn.Build("conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu maxpool(2) flatten linear(128) relu linear(10)", []int{1, 28, 28}, nn.Seed(1))
	if err != nil {
		b.Fatal(err)
	}
	nn.Eval(m)
	r := rand.New(rand.NewPCG(1, 2))
	x := ag.NoGraph(tensor.FromFunc(func(int) float32 { return r.Float32() }, 1, 1, 28, 28))
	b.ReportAllocs()
	for b.Loop() {
		m.Forward(x)
	}
}
