package tensor

import (
	"fmt"
	"math"
)

// The float64 paths of the normalisations (see f64.go).

// stats64 returns st's mean and invstd as float64, converting float32
// statistics (running statistics kept in float32 buffers) when needed.
func (st NormStats) stats64() (mean, inv []float64) {
	if st.Mean64 != nil {
		return st.Mean64, st.InvStd64
	}
	mean, inv = make([]float64, len(st.Mean)), make([]float64, len(st.InvStd))
	for i := range mean {
		mean[i], inv[i] = float64(st.Mean[i]), float64(st.InvStd[i])
	}
	return mean, inv
}

// f64Of returns t's elements as float64 (nil for a nil t).
func f64Of(t *Tensor) []float64 {
	if t == nil {
		return nil
	}
	return t.To(Float64).f64
}

func batchStats64(x *Tensor, eps float32) NormStats {
	n, c, s := bnLayout("tensor.BatchNorm", x)
	st := NormStats{Mean64: make([]float64, c), InvStd64: make([]float64, c), Var64: make([]float64, c), Count: n * s}
	for ch := range c {
		var sum float64
		for i := range n {
			for _, v := range x.f64[(i*c+ch)*s:][:s] {
				sum += v
			}
		}
		mean := sum / float64(n*s)
		var ss float64
		for i := range n {
			for _, v := range x.f64[(i*c+ch)*s:][:s] {
				ss += (v - mean) * (v - mean)
			}
		}
		v := ss / float64(n*s)
		st.Mean64[ch], st.Var64[ch] = mean, v
		st.InvStd64[ch] = 1 / math.Sqrt(v+float64(eps))
	}
	return st
}

func runningStats64(mean, variance *Tensor, eps float32) NormStats {
	m, v := f64Of(mean), f64Of(variance)
	st := NormStats{Mean64: m, Var64: v, InvStd64: make([]float64, len(v))}
	for i, x := range v {
		st.InvStd64[i] = 1 / math.Sqrt(x+float64(eps))
	}
	return st
}

func updateRunningStats64(mean, variance *Tensor, st NormStats, momentum float32) {
	bm, bv := st.Mean64, st.Var64
	if bm == nil {
		bm, bv = f64Of(New(st.Mean, len(st.Mean))), f64Of(New(st.Var, len(st.Var)))
	}
	if mean.Size() != len(bm) || variance.Size() != len(bv) {
		panic(fmt.Sprintf("tensor.UpdateRunningStats: running statistics %v and %v for %d channels", mean.shape, variance.shape, len(bm)))
	}
	unbias := float64(st.Count) / float64(max(st.Count-1, 1))
	mo := float64(momentum)
	for c := range bm {
		rm := (1-mo)*mean.Float(c) + mo*bm[c]
		rv := (1-mo)*variance.Float(c) + mo*bv[c]*unbias
		setFloat(mean, c, rm)
		setFloat(variance, c, rv)
	}
}

// setFloat writes v at flat index i of a float tensor of either dtype.
func setFloat(t *Tensor, i int, v float64) {
	if t.dtype == Float64 {
		t.f64[i] = v
	} else {
		t.data[i] = float32(v)
	}
}

func batchNorm64(x, weight, bias *Tensor, st NormStats) *Tensor {
	n, c, s := bnLayout("tensor.BatchNorm", x)
	checkChannels("tensor.BatchNorm", "weight", weight, c)
	checkChannels("tensor.BatchNorm", "bias", bias, c)
	mean, inv := st.stats64()
	if len(mean) != c {
		panic(fmt.Sprintf("tensor.BatchNorm: %d statistics for %d channels", len(mean), c))
	}
	out := new64(x.shape...)
	for p := range n * c {
		ch := p % c
		scale, shift := inv[ch], 0.0
		if weight != nil {
			scale *= weight.f64[ch]
		}
		if bias != nil {
			shift = bias.f64[ch]
		}
		for j, v := range x.f64[p*s:][:s] {
			out.f64[p*s+j] = (v-mean[ch])*scale + shift
		}
	}
	return out
}

func batchNormBackward64(x, weight, gy *Tensor, st NormStats, training bool) (dx, dw, db *Tensor) {
	n, c, s := bnLayout("tensor.BatchNormBackward", x)
	dx, dw, db = new64(x.shape...), new64(c), new64(c)
	mean, inv := st.stats64()
	m := float64(n * s)
	for ch := range c {
		w := 1.0
		if weight != nil {
			w = weight.f64[ch]
		}
		var sg, sgx float64
		for i := range n {
			off := (i*c + ch) * s
			for j := range s {
				g := gy.f64[off+j]
				sg += g
				sgx += g * (x.f64[off+j] - mean[ch]) * inv[ch]
			}
		}
		dw.f64[ch], db.f64[ch] = sgx, sg
		for i := range n {
			off := (i*c + ch) * s
			for j := range s {
				g := gy.f64[off+j]
				if !training {
					dx.f64[off+j] = g * w * inv[ch] // dy/dx = w·invstd
					continue
				}
				// dx = w·invstd·(gy - mean(gy) - x̂·mean(gy·x̂))
				xh := (x.f64[off+j] - mean[ch]) * inv[ch]
				dx.f64[off+j] = w * inv[ch] * (g - sg/m - xh*sgx/m)
			}
		}
	}
	return dx, dw, db
}

func layerNormStats64(x *Tensor, d int, eps float32) NormStats {
	if d == 0 || len(x.f64)%d != 0 {
		panic(fmt.Sprintf("tensor.LayerNorm: shape %v does not end in %d elements", x.shape, d))
	}
	rows := len(x.f64) / d
	st := NormStats{Mean64: make([]float64, rows), InvStd64: make([]float64, rows), Var64: make([]float64, rows), Count: d}
	for r := range rows {
		row := x.f64[r*d:][:d]
		var sum float64
		for _, v := range row {
			sum += v
		}
		mean := sum / float64(d)
		var ss float64
		for _, v := range row {
			ss += (v - mean) * (v - mean)
		}
		v := ss / float64(d)
		st.Mean64[r], st.Var64[r] = mean, v
		st.InvStd64[r] = 1 / math.Sqrt(v+float64(eps))
	}
	return st
}

func layerNorm64(x, weight, bias *Tensor, st NormStats) *Tensor {
	d := st.Count
	out := new64(x.shape...)
	for r := range st.Mean64 {
		mean, inv := st.Mean64[r], st.InvStd64[r]
		for j, v := range x.f64[r*d:][:d] {
			y := (v - mean) * inv
			if weight != nil {
				y *= weight.f64[j]
			}
			if bias != nil {
				y += bias.f64[j]
			}
			out.f64[r*d+j] = y
		}
	}
	return out
}

func layerNormBackward64(x, weight, gy *Tensor, st NormStats) (dx, dw, db *Tensor) {
	d := st.Count
	dx, dw, db = new64(x.shape...), new64(d), new64(d)
	dxh := make([]float64, d)
	for r := range st.Mean64 {
		mean, inv := st.Mean64[r], st.InvStd64[r]
		xs, gs := x.f64[r*d:][:d], gy.f64[r*d:][:d]
		var s1, s2 float64
		for j, g := range gs {
			xh := (xs[j] - mean) * inv
			dw.f64[j] += g * xh
			db.f64[j] += g
			w := 1.0
			if weight != nil {
				w = weight.f64[j]
			}
			dxh[j] = g * w
			s1 += dxh[j]
			s2 += dxh[j] * xh
		}
		// dx = invstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂))
		for j := range d {
			xh := (xs[j] - mean) * inv
			dx.f64[r*d+j] = inv * (dxh[j] - s1/float64(d) - xh*s2/float64(d))
		}
	}
	return dx, dw, db
}
