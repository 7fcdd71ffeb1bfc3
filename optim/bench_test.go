package optim

import (
	"testing"

	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// benchStep measures one Step over a million parameters.
func benchStep(b *testing.B, mk func([]*autograd.Value) Optimizer) {
	p := autograd.Param(tensor.FromFunc(func(i int) float32 { return float32(i%97) / 97 }, 1<<20))
	p.Grad = tensor.FromFunc(func(i int) float32 { return float32(i%89)/89 - 0.5 }, 1<<20)
	o := mk([]*autograd.Value{p})
	o.Step()
	b.SetBytes(4 << 20)
	b.ResetTimer()
	for b.Loop() {
		o.Step()
	}
}

func BenchmarkSGDMomentum(b *testing.B) {
	benchStep(b, func(p []*autograd.Value) Optimizer { return SGD(p, LR(1e-3), Momentum(0.9)) })
}

func BenchmarkAdam(b *testing.B) {
	benchStep(b, func(p []*autograd.Value) Optimizer { return Adam(p) })
}

func BenchmarkAdamW(b *testing.B) {
	benchStep(b, func(p []*autograd.Value) Optimizer { return AdamW(p) })
}

func BenchmarkRMSprop(b *testing.B) {
	benchStep(b, func(p []*autograd.Value) Optimizer { return RMSprop(p) })
}

func BenchmarkAdagrad(b *testing.B) {
	benchStep(b, func(p []*autograd.Value) Optimizer { return Adagrad(p) })
}

func BenchmarkSGDMomentumWeightDecay(b *testing.B) {
	benchStep(b, func(p []*autograd.Value) Optimizer { return SGD(p, LR(1e-3), Momentum(0.9), WeightDecay(1e-4)) })
}

func BenchmarkSGDNesterov(b *testing.B) {
	benchStep(b, func(p []*autograd.Value) Optimizer {
		return SGD(p, LR(1e-3), Momentum(0.9), Nesterov(true), WeightDecay(5e-4))
	})
}
