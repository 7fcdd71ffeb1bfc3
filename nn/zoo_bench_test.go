package nn_test

import (
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// BenchmarkResNet18Step times one training step of torchvision's
// resnet18 (10 classes) on a random batch of 32 images of 3×64×64: forward
// in training mode, cross-entropy, backward, SGD with momentum.
func BenchmarkResNet18Step(b *testing.B) {
	m := nn.ResNet18(10, nn.Seed(1))
	opt := optim.SGD(nn.Parameters(m), optim.LR(0.01), optim.Momentum(0.9))
	r := rand.New(rand.NewPCG(1, 2))
	x := tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, 32, 3, 64, 64)
	y := make([]int, 32)
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

func benchResNet18Infer(b *testing.B, batch int) {
	m := nn.ResNet18(1000, nn.Seed(1))
	nn.Eval(m)
	r := rand.New(rand.NewPCG(1, 2))
	x := ag.NoGraph(tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, batch, 3, 224, 224))
	for b.Loop() {
		m.Forward(x)
	}
}

// BenchmarkResNet18InferBatch1 times resnet18's forward pass on one
// 3×224×224 image in evaluation mode, without a graph.
func BenchmarkResNet18InferBatch1(b *testing.B) { benchResNet18Infer(b, 1) }

// BenchmarkResNet18InferBatch32 is BenchmarkResNet18InferBatch1 for a
// batch of 32.
func BenchmarkResNet18InferBatch32(b *testing.B) { benchResNet18Infer(b, 32) }
