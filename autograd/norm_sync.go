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
	if len(shape) < 2 {
		panic(fmt.Sprintf("autograd.SyncBatchNorm: input %v must be [N, C, *]", shape))
	}
	dt := x.Data.DType()
	xc := x.Data.Contiguous()
	n, c := shape[0], shape[1]
	s := xc.Size() / max(n*c, 1)
	// The forward's sums: [count, Σx per channel, Σx² per channel].
	buf := make([]float64, 1+2*c)
	buf[0] = float64(n * s)
	if dt == tensor.Float64 {
		bnSums(xc.Data64(), c, s, buf)
	} else {
		bnSums(xc.Data(), c, s, buf)
	}
	if err := sum(buf); err != nil {
		panic(fmt.Sprintf("autograd.SyncBatchNorm: summing the batch statistics over the replicas: %v", err))
	}
	count := buf[0]
	mean, variance := tensor.ZerosOf(dt, c), tensor.ZerosOf(dt, c)
	for ch := range c {
		m := buf[1+ch] / count
		setFloat(mean, ch, m)
		setFloat(variance, ch, max(buf[1+c+ch]/count-m*m, 0))
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
		gc := out.Grad.Contiguous()
		sc := bnScales(st, w, c) // mean, invstd, w·invstd
		red := make([]float64, 2*c)
		if dt == tensor.Float64 {
			bnGradSums(gc.Data64(), xc.Data64(), sc, c, s, red)
		} else {
			bnGradSums(gc.Data(), xc.Data(), sc, c, s, red)
		}
		dw, db := tensor.ZerosOf(dt, c), tensor.ZerosOf(dt, c)
		for ch := range c {
			setFloat(db, ch, red[ch])   // db = Σ g, this replica's
			setFloat(dw, ch, red[c+ch]) // dw = Σ g·x̂, this replica's
		}
		if x.requiresGrad {
			if err := sum(red); err != nil {
				panic(fmt.Sprintf("autograd.SyncBatchNorm: summing the gradient's statistics over the replicas: %v", err))
			}
			for i := range red {
				red[i] /= count
			}
			dx := tensor.ZerosOf(dt, shape...)
			if dt == tensor.Float64 {
				bnGradInput(dx.Data64(), gc.Data64(), xc.Data64(), sc, red, c, s)
			} else {
				bnGradInput(dx.Data(), gc.Data(), xc.Data(), sc, red, c, s)
			}
			x.addGradOwned(dx)
		}
		weight.addGradOwned(dw)
		bias.addGradOwned(db)
	})
	return out
}

func setFloat(t *tensor.Tensor, i int, v float64) {
	if t.DType() == tensor.Float64 {
		t.Data64()[i] = v
	} else {
		t.Data()[i] = float32(v)
	}
}

// bnScales holds each channel's mean, invstd and w·invstd in float64,
// as the forward used them.
func bnScales(st tensor.NormStats, w *tensor.Tensor, c int) [3][]float64 {
	var sc [3][]float64
	for k := range sc {
		sc[k] = make([]float64, c)
	}
	for ch := range c {
		if st.Mean64 != nil {
			sc[0][ch], sc[1][ch] = st.Mean64[ch], st.InvStd64[ch]
		} else {
			sc[0][ch], sc[1][ch] = float64(st.Mean[ch]), float64(st.InvStd[ch])
		}
		sc[2][ch] = sc[1][ch]
		if w != nil {
			sc[2][ch] *= w.Float(ch)
		}
	}
	return sc
}

// bnSums adds each channel's Σx and Σx² of x [N, c, s] into buf[1+ch]
// and buf[1+c+ch].
func bnSums[F float32 | float64](x []F, c, s int, buf []float64) {
	for p := range len(x) / max(s, 1) {
		ch := p % c
		var s1, s2 float64
		for _, v := range x[p*s : (p+1)*s] {
			s1 += float64(v)
			s2 += float64(v) * float64(v)
		}
		buf[1+ch] += s1
		buf[1+c+ch] += s2
	}
}

// bnGradSums adds each channel's Σg and Σg·x̂ into red[ch] and red[c+ch].
func bnGradSums[F float32 | float64](g, x []F, sc [3][]float64, c, s int, red []float64) {
	for p := range len(x) / max(s, 1) {
		ch := p % c
		m, is := sc[0][ch], sc[1][ch]
		var sg, sgx float64
		for j, v := range g[p*s : (p+1)*s] {
			sg += float64(v)
			sgx += float64(v) * (float64(x[p*s+j]) - m) * is
		}
		red[ch] += sg
		red[c+ch] += sgx
	}
}

// bnGradInput writes dx = w·invstd·(g − mean(g) − x̂·mean(g·x̂)), with the
// global means in means[ch] and means[c+ch].
func bnGradInput[F float32 | float64](dx, g, x []F, sc [3][]float64, means []float64, c, s int) {
	for p := range len(x) / max(s, 1) {
		ch := p % c
		m, is, scale := sc[0][ch], sc[1][ch], sc[2][ch]
		mg, mgx := means[ch], means[c+ch]
		for j, v := range g[p*s : (p+1)*s] {
			xh := (float64(x[p*s+j]) - m) * is
			dx[p*s+j] = F(scale * (float64(v) - mg - xh*mgx))
		}
	}
}
