package autograd

import (
	"fmt"

	"github.com/backprop-go/backprop/tensor"
)

// SyncBatchNorm is BatchNorm in training mode for a batch split across
// the replicas of a data-parallel job, as torch.nn.SyncBatchNorm: x
// [N,C,*] is this replica's part, and the mean and biased variance that
// normalise it, and update runningMean and runningVar (when not nil), are
// those of the global batch. sum replaces a float64 buffer with its sum
// over the replicas, added in the same order on every replica (the
// communicator's AllReduce64); SyncBatchNorm calls it once in the forward,
// with the element count and each channel's sum and sum of squares, and
// once in the backward, with each channel's Σg and Σg·x̂, the two sums
// that the input's gradient takes a mean of. The weight's and bias's
// gradients stay this replica's sums, which data-parallel training then
// averages as every other parameter's. An error from sum panics (the
// replicas can no longer agree).
//
// The statistics are summed in float64, from which the variance is
// E[x²]−E[x]², so one replica gives BatchNorm's results to float32
// rounding, not bit for bit.
func SyncBatchNorm(x, weight, bias *Value, runningMean, runningVar *tensor.Tensor, momentum, eps float32, sum func([]float64) error) *Value {
	shape := x.Shape()
	if len(shape) < 2 || x.Data.DType() != tensor.Float32 {
		panic(fmt.Sprintf("autograd.SyncBatchNorm: input %v (%v) must be float32 [N, C, *]", shape, x.Data.DType()))
	}
	xd := x.Data.Contiguous().Data()
	n, c := shape[0], shape[1]
	s := len(xd) / max(n*c, 1)
	// The forward's sums: [count, Σx per channel, Σx² per channel].
	buf := make([]float64, 1+2*c)
	buf[0] = float64(n * s)
	for p := range n * c {
		ch := p % c
		var s1, s2 float64
		for _, v := range xd[p*s : (p+1)*s] {
			s1 += float64(v)
			s2 += float64(v) * float64(v)
		}
		buf[1+ch] += s1
		buf[1+c+ch] += s2
	}
	if err := sum(buf); err != nil {
		panic(fmt.Sprintf("autograd.SyncBatchNorm: summing the batch statistics over the replicas: %v", err))
	}
	count := buf[0]
	mean, variance := tensor.Zeros(c), tensor.Zeros(c)
	for ch := range c {
		m := buf[1+ch] / count
		mean.Data()[ch] = float32(m)
		variance.Data()[ch] = float32(max(buf[1+c+ch]/count-m*m, 0))
	}
	st := tensor.RunningStats(mean, variance, eps)
	st.Count = int(count)
	if runningMean != nil && runningVar != nil {
		tensor.UpdateRunningStats(runningMean, runningVar, st, momentum)
	}
	w, b := dataOf(weight), dataOf(bias)
	out := fresh(tensor.BatchNorm(x.Data, w, b, st), x, weight, bias)
	out.onBackward(func() {
		// dx = w·invstd·(g − Σg/M − x̂·Σg·x̂/M), the sums and the count M over every replica
		gd := out.Grad.Contiguous().Data()
		red := make([]float64, 2*c) // [Σg, Σg·x̂] per channel
		for p := range n * c {
			ch := p % c
			m, is := float64(st.Mean[ch]), float64(st.InvStd[ch])
			var sg, sgx float64
			for j, g := range gd[p*s : (p+1)*s] {
				sg += float64(g)
				sgx += float64(g) * (float64(xd[p*s+j]) - m) * is
			}
			red[ch] += sg
			red[c+ch] += sgx
		}
		dw, db := tensor.Zeros(c), tensor.Zeros(c)
		for ch := range c {
			db.Data()[ch] = float32(red[ch])   // db = Σ g, this replica's
			dw.Data()[ch] = float32(red[c+ch]) // dw = Σ g·x̂, this replica's
		}
		if x.requiresGrad {
			if err := sum(red); err != nil {
				panic(fmt.Sprintf("autograd.SyncBatchNorm: summing the gradient's statistics over the replicas: %v", err))
			}
			dx := tensor.Zeros(shape...)
			dd := dx.Data()
			for p := range n * c {
				ch := p % c
				m, is := float64(st.Mean[ch]), float64(st.InvStd[ch])
				scale := is
				if w != nil {
					scale *= float64(w.Data()[ch])
				}
				mg, mgx := red[ch]/count, red[c+ch]/count
				for j, g := range gd[p*s : (p+1)*s] {
					xh := (float64(xd[p*s+j]) - m) * is
					dd[p*s+j] = float32(scale * (float64(g) - mg - xh*mgx))
				}
			}
			x.addGradOwned(dx)
		}
		weight.addGradOwned(dw)
		bias.addGradOwned(db)
	})
	return out
}
