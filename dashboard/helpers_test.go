package dashboard

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/train"
)

// stripes is a small image data set made up for the tests: 1×8×8 images
// of a horizontal bar (class "rows"), a vertical bar ("cols") or a
// diagonal ("diag"), in noise. A tiny network learns it in a few epochs.
type stripes struct {
	n    int
	seed uint64
}

func (s stripes) Len() int          { return s.n }
func (s stripes) Shape() []int      { return []int{1, 8, 8} }
func (s stripes) Classes() []string { return []string{"rows", "cols", "diag"} }
func (s stripes) TargetSize() int   { return 0 }
func (s stripes) Sample(i int, _ *rand.Rand, x, _ []float32) (int, error) {
	r := rand.New(rand.NewPCG(s.seed, uint64(i)))
	label := i % 3
	k := r.IntN(8)
	for p := range x {
		x[p] = float32(r.Float64() * 0.6)
	}
	for j := range 8 {
		switch label {
		case 0:
			x[k*8+j] += 1
		case 1:
			x[j*8+k] += 1
		default:
			x[j*8+(j+k)%8] += 1
		}
	}
	return label, nil
}

var _ data.Dataset = stripes{}

// tinyModel builds the tests' network for stripes.
func tinyModel(t testing.TB) nn.Module {
	t.Helper()
	m, err := nn.Build("flatten linear(16) relu linear(3)", []int{1, 8, 8}, nn.Seed(3))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fit trains model on n samples of stripes for epochs epochs, in batches
// of 16, with the callbacks.
func fit(t testing.TB, model nn.Module, epochs, n int, cbs ...train.Callback) train.History {
	t.Helper()
	h, err := fitErr(model, epochs, n, cbs...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fitErr is fit for other goroutines than the test's.
func fitErr(model nn.Module, epochs, n int, cbs ...train.Callback) (train.History, error) {
	opt := optim.SGD(nn.Parameters(model), optim.LR(0.05), optim.Momentum(0.9))
	return train.Fit(context.Background(), model, stripes{n: n, seed: 1}, train.Config{
		Epochs: epochs, BatchSize: 16, Seed: 1, Optimizer: opt, Val: stripes{n: 90, seed: 2}, Callbacks: cbs, Workers: 1,
	})
}
