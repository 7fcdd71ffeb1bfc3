package tensor

import (
	"fmt"
	"math"
)

// NormStats are the per-group mean and 1/sqrt(var+eps) of a normalisation,
// kept from the forward pass for the backward pass.
type NormStats struct {
	Mean, InvStd []float32
	// Var is the biased variance of each group (training-mode batch norm
	// updates its running variance from it).
	Var []float32
	// Count is the number of elements in each group.
	Count int
	// Mean64, InvStd64 and Var64 hold the statistics of a float64 input
	// (Mean, InvStd and Var are nil then).
	Mean64, InvStd64, Var64 []float64
}

// bnLayout views x [N,C,*] as N blocks of C channels of S elements.
func bnLayout(op string, x *Tensor) (n, c, s int) {
	if x.Dims() < 2 {
		panic(fmt.Sprintf("%s: input %v needs at least 2 dimensions [N,C,...]", op, x.shape))
	}
	n, c = x.shape[0], x.shape[1]
	s = 1
	for _, d := range x.shape[2:] {
		s *= d
	}
	return n, c, s
}

func checkChannels(op string, name string, t *Tensor, c int) {
	if t != nil && (t.Dims() != 1 || t.shape[0] != c) {
		panic(fmt.Sprintf("%s: %s has shape %v, want [%d]", op, name, t.shape, c))
	}
}

// BatchStats returns the per-channel mean, biased variance and
// 1/sqrt(var+eps) of x [N,C,*], summed in float64 (the variance from a
// second pass around the mean). Channels are spread over goroutines, each
// summed in one fixed order, so the result is the same for any thread
// count.
func BatchStats(x *Tensor, eps float32) NormStats {
	x = contig(x)
	if is64("tensor.BatchNorm", x) {
		return batchStats64(x, eps)
	}
	n, c, s := bnLayout("tensor.BatchNorm", x)
	st := NormStats{Mean: make([]float32, c), InvStd: make([]float32, c), Var: make([]float32, c), Count: n * s}
	parallelFor(c, bnMinChannels(n*s), func(c0, c1 int) {
		for ch := c0; ch < c1; ch++ {
			var sum float64
			for i := range n {
				sum += sum64(x.data[(i*c+ch)*s:][:s])
			}
			mean := sum / float64(n*s)
			var ss float64
			for i := range n {
				ss += sumSq64(x.data[(i*c+ch)*s:][:s], mean)
			}
			v := ss / float64(n*s)
			st.Mean[ch], st.Var[ch] = float32(mean), float32(v)
			st.InvStd[ch] = float32(1 / math.Sqrt(v+float64(eps)))
		}
	})
	return st
}

// bnMinChannels is the fewest channels of perChannel elements each that
// batch norm hands to a goroutine: small inputs (a batch norm over 64
// features) stay on one.
func bnMinChannels(perChannel int) int { return max(1, (1<<14)/max(perChannel, 1)) }

// sum64 returns Σ x[i] in float64: with AVX-512 in 16 lanes, otherwise
// (and for the tail) in four interleaved partial sums (one long chain of
// dependent additions would run at a quarter of the speed).
func sum64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	s0, i := sum64Vec(x)
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		s0 += float64(q[0])
		s1 += float64(q[1])
		s2 += float64(q[2])
		s3 += float64(q[3])
	}
	for _, v := range x[i:] {
		s0 += float64(v)
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSq64 returns Σ (x[i] - mean)² in float64, as sum64 sums.
func sumSq64(x []float32, mean float64) float64 {
	var s0, s1, s2, s3 float64
	s0, i := sumSq64Vec(x, mean)
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(q[0])-mean, float64(q[1])-mean, float64(q[2])-mean, float64(q[3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for _, v := range x[i:] {
		d := float64(v) - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// RunningStats returns NormStats for evaluation mode from running mean and
// variance tensors.
func RunningStats(mean, variance *Tensor, eps float32) NormStats {
	mean, variance = contig(mean), contig(variance)
	if is64("tensor.BatchNorm", mean, variance) {
		return runningStats64(mean, variance, eps)
	}
	st := NormStats{Mean: mean.data, Var: variance.data, InvStd: make([]float32, len(variance.data))}
	for i, v := range variance.data {
		st.InvStd[i] = float32(1 / math.Sqrt(float64(v)+float64(eps)))
	}
	return st
}

// BatchNorm returns (x - mean)·invstd·weight + bias per channel of x
// [N,C,*] with the given statistics. weight and bias may be nil (1 and 0).
// The result comes from the pool that Recycle fills.
func BatchNorm(x, weight, bias *Tensor, st NormStats) *Tensor {
	x, weight, bias = contig(x), contig(weight), contig(bias)
	if is64("tensor.BatchNorm", x, weight, bias) {
		return batchNorm64(x, weight, bias, st)
	}
	n, c, s := bnLayout("tensor.BatchNorm", x)
	checkChannels("tensor.BatchNorm", "weight", weight, c)
	checkChannels("tensor.BatchNorm", "bias", bias, c)
	if len(st.Mean) != c {
		panic(fmt.Sprintf("tensor.BatchNorm: %d statistics for %d channels", len(st.Mean), c))
	}
	out := emptyLike(x)
	parallelFor(n*c, max(1, (1<<14)/max(s, 1)), func(p0, p1 int) {
		for p := p0; p < p1; p++ {
			ch := p % c
			scale, shift := st.InvStd[ch], float32(0)
			if weight != nil {
				scale *= weight.data[ch]
			}
			if bias != nil {
				shift = bias.data[ch]
			}
			mean := st.Mean[ch]
			src, dst := x.data[p*s:][:s], out.data[p*s:][:s]
			k := bnAffineVec(dst, src, mean, scale, shift)
			for j, v := range src[k:] {
				dst[k+j] = (v-mean)*scale + shift
			}
		}
	})
	return out
}

// BatchNormBackward returns the gradients of BatchNorm with respect to x,
// weight and bias. With training set, the statistics are the batch's own
// and depend on x; otherwise they are constants. Channels are spread over
// goroutines as in BatchStats; dx comes from the pool that Recycle fills.
func BatchNormBackward(x, weight, gy *Tensor, st NormStats, training bool) (dx, dw, db *Tensor) {
	x, weight, gy = contig(x), contig(weight), contig(gy)
	if is64("tensor.BatchNormBackward", x, weight, gy) {
		return batchNormBackward64(x, weight, gy, st, training)
	}
	n, c, s := bnLayout("tensor.BatchNormBackward", x)
	dx, dw, db = emptyLike(x), Zeros(c), Zeros(c)
	m := float64(n * s)
	parallelFor(c, bnMinChannels(n*s), func(c0, c1 int) {
		for ch := c0; ch < c1; ch++ {
			mean, inv := st.Mean[ch], st.InvStd[ch]
			w := float32(1)
			if weight != nil {
				w = weight.data[ch]
			}
			// Σ gy and Σ gy·x̂ over the channel.
			var sg, sgx float64
			for i := range n {
				xs, gs := x.data[(i*c+ch)*s:][:s], gy.data[(i*c+ch)*s:][:s]
				a, b := sumGradXhat(xs, gs, mean, inv)
				sg += a
				sgx += b
			}
			dw.data[ch], db.data[ch] = float32(sgx), float32(sg)
			mg, mgx := float32(sg/m), float32(sgx/m)
			for i := range n {
				xs, gs := x.data[(i*c+ch)*s:][:s], gy.data[(i*c+ch)*s:][:s]
				ds := dx.data[(i*c+ch)*s:][:s]
				if !training {
					for j, g := range gs {
						ds[j] = g * w * inv // dy/dx = w·invstd
					}
					continue
				}
				// dx = w·invstd·(gy - mean(gy) - x̂·mean(gy·x̂))
				k := bnBackwardVec(ds, xs, gs, mean, inv, w*inv, mg, mgx)
				for j, g := range gs[k:] {
					xh := (xs[k+j] - mean) * inv
					ds[k+j] = w * inv * (g - mg - xh*mgx)
				}
			}
		}
	})
	return dx, dw, db
}

// sumGradXhat returns Σ g[j] and Σ g[j]·x̂[j] in float64, x̂ = (x - mean)·inv
// in float32: with AVX-512 in 16 lanes, otherwise (and for the tail) in two
// interleaved partial sums each.
func sumGradXhat(xs, gs []float32, mean, inv float32) (sg, sgx float64) {
	var a0, a1, b0, b1 float64
	xs = xs[:len(gs)]
	a0, b0, j := sumGradXhatVec(xs, gs, mean, inv)
	for ; j+2 <= len(gs); j += 2 {
		g0, g1 := float64(gs[j]), float64(gs[j+1])
		a0 += g0
		a1 += g1
		b0 += g0 * float64((xs[j]-mean)*inv)
		b1 += g1 * float64((xs[j+1]-mean)*inv)
	}
	for ; j < len(gs); j++ {
		a0 += float64(gs[j])
		b0 += float64(gs[j]) * float64((xs[j]-mean)*inv)
	}
	return a0 + a1, b0 + b1
}

// LayerNormStats returns the mean and invstd of each group of the last d
// elements of x (d = the product of the normalised shape), the sums in
// float64 as sum64 and sumSq64 add them; rows in parallel.
func LayerNormStats(x *Tensor, d int, eps float32) NormStats {
	x = contig(x)
	if is64("tensor.LayerNorm", x) {
		return layerNormStats64(x, d, eps)
	}
	if d == 0 || len(x.data)%d != 0 {
		panic(fmt.Sprintf("tensor.LayerNorm: shape %v does not end in %d elements", x.shape, d))
	}
	rows := len(x.data) / d
	st := NormStats{Mean: make([]float32, rows), InvStd: make([]float32, rows), Var: make([]float32, rows), Count: d}
	parallelFor(rows, lnMinRows(d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x.data[r*d:][:d]
			mean := sum64(row) / float64(d)
			v := sumSq64(row, mean) / float64(d)
			st.Mean[r], st.Var[r] = float32(mean), float32(v)
			st.InvStd[r] = float32(1 / math.Sqrt(v+float64(eps)))
		}
	})
	return st
}

// lnMinRows is the fewest rows of d elements worth a goroutine.
func lnMinRows(d int) int { return max(1, minParallelElems/max(d, 1)) }

// LayerNorm returns (x - mean)·invstd·weight + bias over each group of the
// last d elements; weight and bias (d elements each) may be nil.
func LayerNorm(x, weight, bias *Tensor, st NormStats) *Tensor {
	x, weight, bias = contig(x), contig(weight), contig(bias)
	if is64("tensor.LayerNorm", x, weight, bias) {
		return layerNorm64(x, weight, bias, st)
	}
	d := st.Count
	out := Empty(x.shape...)
	var w, b []float32
	if weight != nil {
		w = weight.data
	}
	if bias != nil {
		b = bias.data
	}
	parallelFor(len(st.Mean), lnMinRows(d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			lnForwardRow(out.data[r*d:][:d], x.data[r*d:][:d], w, b, st.Mean[r], st.InvStd[r])
		}
	})
	return out
}

// LayerNormBackward returns the gradients of LayerNorm with respect to x,
// weight and bias (the last two shaped like the normalised part, flat):
// dx row by row in parallel, dw and db adding the rows in order.
func LayerNormBackward(x, weight, gy *Tensor, st NormStats) (dx, dw, db *Tensor) {
	x, weight, gy = contig(x), contig(weight), contig(gy)
	if is64("tensor.LayerNormBackward", x, weight, gy) {
		return layerNormBackward64(x, weight, gy, st)
	}
	d := st.Count
	dx, dw, db = Empty(x.shape...), Zeros(d), Zeros(d)
	var w []float32
	if weight != nil {
		w = weight.data
	}
	parallelFor(len(st.Mean), lnMinRows(d), func(lo, hi int) {
		dxh := make([]float32, d)
		for r := lo; r < hi; r++ {
			xs, gs := x.data[r*d:][:d], gy.data[r*d:][:d]
			mean, inv := st.Mean[r], st.InvStd[r]
			s1, s2 := lnBackRow(xs, gs, w, dxh, mean, inv)
			// dx = invstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂))
			m1, m2 := float32(s1/float64(d)), float32(s2/float64(d))
			lnBackDxRow(dx.data[r*d:][:d], dxh, xs, mean, inv, m1, m2)
		}
	})
	for r := range st.Mean {
		lnParamsRow(dw.data, db.data, x.data[r*d:][:d], gy.data[r*d:][:d], st.Mean[r], st.InvStd[r])
	}
	return dx, dw, db
}
