package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/backprop-go/backprop/tensor"
)

// exchange is an in-process stand-in for AllReduce64 over n parties: each
// call returns once all have called, with the sum in party order.
type exchange struct {
	n       int
	mu      sync.Mutex
	cond    *sync.Cond
	bufs    [][]float64
	arrived int
	gen     int
	sum     []float64
}

func newExchange(n int) *exchange {
	e := &exchange{n: n, bufs: make([][]float64, n)}
	e.cond = sync.NewCond(&e.mu)
	return e
}

func (e *exchange) sum64(party int) func([]float64) error {
	return func(buf []float64) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		gen := e.gen
		e.bufs[party] = buf
		if e.arrived++; e.arrived == e.n {
			e.sum = slices.Clone(e.bufs[0])
			for _, b := range e.bufs[1:] {
				for i, v := range b {
					e.sum[i] += v
				}
			}
			e.arrived = 0
			e.gen++
			e.cond.Broadcast()
		}
		for e.gen == gen {
			e.cond.Wait()
		}
		copy(buf, e.sum)
		return nil
	}
}

func randTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(r.NormFloat64()*2 + 0.5)
	}
	return t
}

// TestSyncBatchNormSplitEqualsWhole: a batch split into parts, each
// normalised by SyncBatchNorm on its own goroutine with the parts' sums
// exchanged (a job of 1, 2 or 4 replicas in one process), gives
// BatchNorm's output, input gradient and running statistics on the whole
// batch, and the parts' weight and bias gradients add up to BatchNorm's,
// to within 1e-5 relative: float32 rounding, the statistics being summed
// in float64 here and in float32 there.
func TestSyncBatchNormSplitEqualsWhole(t *testing.T) {
	const bound = 1e-5
	for _, tc := range []struct {
		shape []int
		parts int
	}{{[]int{8, 3}, 1}, {[]int{8, 3}, 2}, {[]int{4, 2, 5}, 2}, {[]int{8, 3, 2, 2}, 4}} {
		t.Run(fmt.Sprint(tc.shape, " in ", tc.parts), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			shape, c := tc.shape, tc.shape[1]
			xt, gt := randTensor(r, shape...), randTensor(r, shape...)
			wt, bt := randTensor(r, c), randTensor(r, c)
			x, w, b := Param(xt.Clone()), Param(wt.Clone()), Param(bt.Clone())
			rm, rv := tensor.Zeros(c), tensor.Ones(c)
			y := BatchNorm(x, w, b, rm, rv, true, 0.1, 1e-5)
			y.BackwardWith(gt.Clone())

			h := shape[0] / tc.parts
			ex := newExchange(tc.parts)
			outs, xs, ws, bs := make([]*Value, tc.parts), make([]*Value, tc.parts), make([]*Value, tc.parts), make([]*Value, tc.parts)
			rms, rvs := make([]*tensor.Tensor, tc.parts), make([]*tensor.Tensor, tc.parts)
			var wg sync.WaitGroup
			for k := range tc.parts {
				xs[k], ws[k], bs[k] = Param(tensor.Narrow(xt, 0, k*h, h).Contiguous()), Param(wt.Clone()), Param(bt.Clone())
				rms[k], rvs[k] = tensor.Zeros(c), tensor.Ones(c)
				gk := tensor.Narrow(gt, 0, k*h, h).Contiguous()
				wg.Go(func() {
					outs[k] = SyncBatchNorm(xs[k], ws[k], bs[k], rms[k], rvs[k], 0.1, 1e-5, ex.sum64(k))
					outs[k].BackwardWith(gk)
				})
			}
			wg.Wait()
			near := func(what string, got, want []float32) {
				t.Helper()
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > bound*max(1, math.Abs(float64(want[i]))) {
						t.Fatalf("%s[%d]: %v in %d parts, %v whole", what, i, got[i], tc.parts, want[i])
					}
				}
			}
			n := len(xt.Data()) / tc.parts
			dw, db := make([]float32, c), make([]float32, c)
			for k := range tc.parts {
				near("output", outs[k].Data.Data(), y.Data.Data()[k*n:(k+1)*n])
				near("input gradient", xs[k].Grad.Data(), x.Grad.Data()[k*n:(k+1)*n])
				near("running mean", rms[k].Data(), rm.Data())
				near("running variance", rvs[k].Data(), rv.Data())
				for i := range c {
					dw[i] += ws[k].Grad.Data()[i]
					db[i] += bs[k].Grad.Data()[i]
				}
			}
			near("weight gradient (the parts' sum)", dw, w.Grad.Data())
			near("bias gradient (the parts' sum)", db, b.Grad.Data())
		})
	}
}
