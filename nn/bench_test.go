package nn_test

import (
	"math/rand/v2"
	"testing"

	ag "backprop/autograd"
	"backprop/nn"
	"backprop/optim"
	"backprop/tensor"
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
