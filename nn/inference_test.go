package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// TestInferenceMatchesInfer checks that a prepared model gives Infer's
// and Forward's values bit for bit, at batch sizes 1 to 9, for a model
// whose convolutions take Winograd (with their filters prepared), the
// direct path (one input channel) and im2col, and that after the weights
// change it gives the new weights' answers, not the prepared ones'.
func TestInferenceMatchesInfer(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, spec := range []string{
		"conv(32,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten linear(128) relu dropout(0.25) linear(10)",
		"conv(16,3) batchnorm relu conv(20,3,pad=1) batchnorm relu maxpool(2) conv(8,3,pad=2) batchnorm flatten linear(5)",
	} {
		m, err := Build(spec, []int{1, 15, 13}, Seed(7))
		if err != nil {
			t.Fatal(err)
		}
		// running statistics away from 0 and 1, so that the batch norm
		// does something
		for _, l := range m.Layers {
			if bn, ok := l.(*BatchNormModule); ok {
				for i := range bn.RunningMean.Data() {
					bn.RunningMean.Data()[i] = float32(r.NormFloat64()) * 0.1
					bn.RunningVar.Data()[i] = 0.5 + float32(r.Float64())
				}
			}
		}
		Eval(m)
		p := NewInference(m)
		if len(p.filters) == 0 {
			t.Fatalf("%s: no Winograd filter prepared", spec)
		}
		check := func(what string) {
			t.Helper()
			for n := 1; n <= 9; n++ {
				x := tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, n, 1, 15, 13)
				want := Infer(m, x)
				fwd := m.Forward(ag.NoGraph(x)).Data
				got := p.Infer(x)
				for i, v := range want.Data() {
					if math.Float32bits(got.Data()[i]) != math.Float32bits(v) || math.Float32bits(fwd.Data()[i]) != math.Float32bits(v) {
						t.Fatalf("%s %s batch %d: [%d] = %v (Forward %v), want %v", spec, what, n, i, got.Data()[i], fwd.Data()[i], v)
					}
				}
			}
		}
		check("prepared")
		for _, l := range m.Layers {
			if c, ok := l.(*Conv2dModule); ok {
				for i := range c.Weight.Data.Data() {
					c.Weight.Data.Data()[i] *= 1.5
				}
			}
		}
		check("weights changed since")
	}
}

// ExampleNewInference prepares a model once for a server's many forward
// passes.
func ExampleNewInference() {
	m, _ := Build("conv(16,3,pad=1) batchnorm relu conv(32,3,pad=1) batchnorm relu maxpool(2) flatten linear(10)", []int{1, 8, 8}, Seed(1))
	Eval(m)
	p := NewInference(m) // the 16→32 convolution's Winograd weights, made once
	x := tensor.Zeros(4, 1, 8, 8)
	fmt.Println(p.Infer(x).Shape())
	// Output: [4 10]
}

// TestInferConvBatchIndependent checks that the CNN preset's convolution
// blocks (the direct first one and the Winograd second one) give each
// image the values it gets alone, bit for bit, at batch sizes 2 to 33,
// so that a served image's features equal predict's (with the AVX2
// kernels; otherwise batches of 8 or more take Winograd and smaller ones
// im2col).
func TestInferConvBatchIndependent(t *testing.T) {
	if !winoAnyBatch {
		t.Skip("no AVX2 Winograd kernels here: a batch of 8 or more takes another path than one image")
	}
	r := rand.New(rand.NewPCG(5, 6))
	m, err := Build("conv(32,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten", []int{1, 28, 28}, Seed(7))
	if err != nil {
		t.Fatal(err)
	}
	Eval(m)
	p := NewInference(m)
	for _, n := range []int{2, 7, 8, 9, 33} {
		x := tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, n, 1, 28, 28)
		y := p.Infer(x).Data()
		per := len(y) / n
		for i := range n {
			xi := tensor.New(append([]float32(nil), x.Data()[i*784:(i+1)*784]...), 1, 1, 28, 28)
			yi := Infer(m, xi).Data()
			for j, v := range yi {
				if math.Float32bits(v) != math.Float32bits(y[i*per+j]) {
					t.Fatalf("batch %d, image %d: [%d] = %v in the batch, %v alone", n, i, j, y[i*per+j], v)
				}
			}
		}
	}
}
