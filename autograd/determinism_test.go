package autograd_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// trainSmallCNN trains a small conv net for a few SGD steps from a fixed
// seed and returns its weights; with release, each step ends with
// BackwardRelease, so later steps run on recycled buffers; with fused, the
// convolutions, their ReLUs and the pooling run as Conv2dReLUMaxPool2d and
// Conv2dReLU.
func trainSmallCNN(release, fused bool) []*tensor.Tensor {
	r := rand.New(rand.NewPCG(11, 12))
	param := func(s float64, shape ...int) *ag.Value {
		return ag.Param(tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64() * s) }, shape...))
	}
	c1, cb1 := param(0.3, 8, 3, 3, 3), param(0.01, 8)
	c2, cb2 := param(0.1, 16, 8, 3, 3), param(0.01, 16)
	w, b := param(0.05, 10, 16*8*8), param(0.01, 10)
	params := []*ag.Value{c1, cb1, c2, cb2, w, b}
	pad1 := ag.ConvParams{Padding: [2]int{1, 1}}
	pool := ag.PoolParams{Kernel: [2]int{2, 2}}
	for range 3 {
		x := ag.Const(tensor.FromFunc(func(int) float32 { return r.Float32() }, 32, 3, 16, 16))
		y := make([]int, 32)
		for i := range y {
			y[i] = r.IntN(10)
		}
		var h *ag.Value
		if fused {
			h = ag.Conv2dReLUMaxPool2d(x, c1, cb1, pad1, pool)
			h = ag.Conv2dReLU(h, c2, cb2, pad1)
		} else {
			h = ag.MaxPool2d(ag.ReLU(ag.Conv2d(x, c1, cb1, pad1)), pool)
			h = ag.ReLU(ag.Conv2d(h, c2, cb2, pad1))
		}
		loss := ag.CrossEntropy(ag.Linear(ag.Flatten(h), w, b), y)
		for _, p := range params {
			if release {
				p.ReleaseGrad()
			} else {
				p.ZeroGrad()
			}
		}
		if release {
			loss.BackwardRelease()
		} else {
			loss.Backward()
		}
		for _, p := range params {
			d, g := p.Data.Data(), p.Grad.Data()
			for i := range d {
				d[i] -= 0.1 * g[i]
			}
		}
	}
	out := make([]*tensor.Tensor, len(params))
	for i, p := range params {
		out[i] = p.Data
	}
	return out
}

// TestTrainingIsBitIdenticalAcrossThreadCounts trains with GOMAXPROCS 1, 2
// and 3 and compares every weight bit for bit: every reduction must sum in
// an order that does not depend on how the work is split.
func TestTrainingIsBitIdenticalAcrossThreadCounts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	want := trainSmallCNN(false, false)
	for _, procs := range []int{2, 3} {
		runtime.GOMAXPROCS(procs)
		sameWeights(t, fmt.Sprintf("GOMAXPROCS=%d", procs), trainSmallCNN(false, false), want)
		sameWeights(t, fmt.Sprintf("GOMAXPROCS=%d fused", procs), trainSmallCNN(true, true), want)
	}
}

// TestBackwardReleaseTrainsTheSame checks that recycling the forward
// values' storage changes no result: every step reuses the buffers the
// previous one released.
func TestBackwardReleaseTrainsTheSame(t *testing.T) {
	want := trainSmallCNN(false, false)
	sameWeights(t, "BackwardRelease", trainSmallCNN(true, false), want)
	sameWeights(t, "BackwardRelease fused", trainSmallCNN(true, true), want)
}

func sameWeights(t *testing.T, what string, got, want []*tensor.Tensor) {
	t.Helper()
	for i := range want {
		a, b := got[i].Data(), want[i].Data()
		for j := range b {
			if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
				t.Fatalf("%s: parameter %d element %d = %v, want %v", what, i, j, a[j], b[j])
			}
		}
	}
}
