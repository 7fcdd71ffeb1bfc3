package tensor

import (
	"fmt"
	"math"
)

// GatherRows returns the rows of weight [V, D] at indices, shaped
// [shape..., D] (shape holds len(indices) elements): an embedding lookup.
// It panics on an index outside [0, V).
func GatherRows(weight *Tensor, indices []int, shape []int) *Tensor {
	weight = contig(weight)
	if weight.Dims() != 2 {
		panic(fmt.Sprintf("tensor.GatherRows: weight %v must be 2-D", weight.shape))
	}
	v, d := weight.shape[0], weight.shape[1]
	y := ZerosOf(weight.dtype, append(append([]int{}, shape...), d)...)
	if y.Size() != len(indices)*d {
		panic(fmt.Sprintf("tensor.GatherRows: %d indices for shape %v", len(indices), shape))
	}
	for i, ix := range indices {
		if ix < 0 || ix >= v {
			panic(fmt.Sprintf("tensor.GatherRows: index %d out of range for weight %v", ix, weight.shape))
		}
		if y.dtype == Float64 {
			copy(y.f64[i*d:(i+1)*d], weight.f64[ix*d:(ix+1)*d])
		} else {
			copy(y.data[i*d:(i+1)*d], weight.Data()[ix*d:(ix+1)*d])
		}
	}
	return y
}

// ScatterAddRows returns the [rows, D] gradient of GatherRows with respect
// to its weight, given g = d(loss)/d(result) [..., D]: each index's row
// accumulates its result row's gradient, in the order of the indices;
// indices equal to skip (an embedding's padding index) contribute nothing.
func ScatterAddRows(g *Tensor, indices []int, rows, skip int) *Tensor {
	g = contig(g)
	if g.Dims() == 0 || g.Size() != len(indices)*g.shape[g.Dims()-1] {
		panic(fmt.Sprintf("tensor.ScatterAddRows: gradient %v for %d indices", g.shape, len(indices)))
	}
	d := g.shape[g.Dims()-1]
	if is64("tensor.ScatterAddRows", g) {
		dw := new64(rows, d)
		for i, ix := range indices {
			if ix != skip {
				addInto(dw.f64[ix*d:(ix+1)*d], g.f64[i*d:(i+1)*d])
			}
		}
		return dw
	}
	dw := Zeros(rows, d)
	for i, ix := range indices { // each looked-up row gets its output's gradient
		if ix == skip {
			continue
		}
		row, src := dw.data[ix*d:(ix+1)*d], g.data[i*d:(i+1)*d]
		for j := range row {
			row[j] += src[j]
		}
	}
	return dw
}

// MaxDimGrad returns the gradient of MaxDim(x, d, keepdim) with respect to
// x of the given shape: each element of g goes to the position arg chose
// along d, 0 elsewhere.
func MaxDimGrad(g *Tensor, arg []int, shape []int, d int) *Tensor {
	g = contig(g)
	d = NormDim("tensor.MaxDimGrad", d, len(shape))
	_, n, inner := splitAt(shape, d)
	if is64("tensor.MaxDimGrad", g) {
		dx := new64(shape...)
		for i, v := range g.f64 {
			o, in := i/inner, i%inner
			dx.f64[(o*n+arg[i])*inner+in] += v
		}
		return dx
	}
	dx := Zeros(shape...)
	for i, v := range g.data { // d(max)/dx = 1 at the argmax, 0 elsewhere
		o, in := i/inner, i%inner
		dx.data[(o*n+arg[i])*inner+in] += v
	}
	return dx
}

// MaxAll returns the largest element of t, or NaN when t holds one (the
// first NaN met wins, as the comparison with NaN fails). t must not be
// empty.
func MaxAll(t *Tensor) float32 {
	t = contig(t)
	only32("tensor.MaxAll", t)
	if len(t.data) == 0 {
		panic(fmt.Sprintf("tensor.MaxAll: empty tensor of shape %v", t.shape))
	}
	m := float32(math.Inf(-1))
	for _, v := range t.data {
		if v > m || v != v {
			m = v
		}
	}
	return m
}

// MaxAllGrad returns the gradient of MaxAll(x) = m given the upstream
// gradient g: g shared evenly among the elements equal to m, as in
// PyTorch, 0 elsewhere.
func MaxAllGrad(x *Tensor, m, g float32) *Tensor {
	x = contig(x)
	only32("tensor.MaxAllGrad", x)
	ties := 0
	for _, v := range x.data {
		if v == m {
			ties++
		}
	}
	share := g / float32(max(ties, 1))
	out := Zeros(x.shape...)
	for i, v := range x.data { // d(max)/dx = 1/ties at the maximum
		if v == m {
			out.data[i] = share
		}
	}
	return out
}

// UpdateRunningStats folds a training batch's statistics st into running
// mean and variance estimates in place, as batch norm does:
// running = (1-momentum)·running + momentum·batch, with the unbiased
// variance (Count/(Count-1) times the biased one st holds).
func UpdateRunningStats(mean, variance *Tensor, st NormStats, momentum float32) {
	if mean.view != nil || variance.view != nil {
		writeThrough(mean, func(m *Tensor) {
			writeThrough(variance, func(v *Tensor) { UpdateRunningStats(m, v, st, momentum) })
		})
		return
	}
	if st.Mean64 != nil || mean.dtype != Float32 {
		updateRunningStats64(mean, variance, st, momentum)
		return
	}
	if len(mean.data) != len(st.Mean) || len(variance.data) != len(st.Var) {
		panic(fmt.Sprintf("tensor.UpdateRunningStats: running statistics %v and %v for %d channels", mean.shape, variance.shape, len(st.Mean)))
	}
	unbias := float32(st.Count) / float32(max(st.Count-1, 1))
	rm, rv := mean.data, variance.data
	for c := range rm {
		rm[c] = (1-momentum)*rm[c] + momentum*st.Mean[c]
		rv[c] = (1-momentum)*rv[c] + momentum*st.Var[c]*unbias
	}
}

// MaxAll64 is MaxAll for a float tensor of either dtype, as a float64.
func MaxAll64(t *Tensor) float64 {
	t = contig(t)
	if !is64("tensor.MaxAll64", t) {
		return float64(MaxAll(t))
	}
	if len(t.f64) == 0 {
		panic(fmt.Sprintf("tensor.MaxAll64: empty tensor of shape %v", t.shape))
	}
	m := math.Inf(-1)
	for _, v := range t.f64 {
		if v > m || v != v {
			m = v
		}
	}
	return m
}

// MaxAllGrad64 is MaxAllGrad for a float64 x: g shared evenly among the
// elements equal to m.
func MaxAllGrad64(x *Tensor, m, g float64) *Tensor {
	x = contig(x)
	if !is64("tensor.MaxAllGrad64", x) {
		return MaxAllGrad(x, float32(m), float32(g))
	}
	ties := 0
	for _, v := range x.f64 {
		if v == m {
			ties++
		}
	}
	share := g / float64(max(ties, 1))
	out := new64(x.shape...)
	for i, v := range x.f64 { // d(max)/dx = 1/ties at the maximum
		if v == m {
			out.f64[i] = share
		}
	}
	return out
}
