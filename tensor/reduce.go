package tensor

import (
	"fmt"
	"math"
)

// splitAt views shape as [outer, n, inner] around dimension d.
func splitAt(shape []int, d int) (outer, n, inner int) {
	outer, inner = 1, 1
	for i := 0; i < d; i++ {
		outer *= shape[i]
	}
	for i := d + 1; i < len(shape); i++ {
		inner *= shape[i]
	}
	return outer, shape[d], inner
}

// reducedShape is shape with dimension d removed, or set to 1 when keepdim.
func reducedShape(shape []int, d int, keepdim bool) []int {
	out := append([]int(nil), shape[:d]...)
	if keepdim {
		out = append(out, 1)
	}
	return append(out, shape[d+1:]...)
}

// SumDim sums t along dimension d (negative counts from the end). The sum
// runs in index order, so results do not depend on threading.
func SumDim(t *Tensor, d int, keepdim bool) *Tensor {
	if t.view != nil && t.dtype != Int64 {
		return sumDimView(t, NormDim("tensor.SumDim", d, t.Dims()), keepdim)
	}
	t = contig(t)
	if is64("tensor.SumDim", t) && t.Dims() > 0 {
		return sumDim64(t, NormDim("tensor.SumDim", d, t.Dims()), keepdim)
	}
	if t.Dims() == 0 {
		return t.Clone()
	}
	d = NormDim("tensor.SumDim", d, t.Dims())
	outer, n, inner := splitAt(t.shape, d)
	out := Zeros(reducedShape(t.shape, d, keepdim)...)
	for o := range outer {
		dst := out.data[o*inner : (o+1)*inner]
		for j := range n {
			src := t.data[(o*n+j)*inner : (o*n+j+1)*inner]
			for i := range dst {
				dst[i] += src[i]
			}
		}
	}
	return out
}

// Sum returns the sum of all elements as a 0-d tensor, accumulated in
// float64 for accuracy.
func Sum(t *Tensor) *Tensor {
	if t.view != nil && t.dtype != Int64 {
		// A view is summed in place, in row-major order as its packed copy.
		all := make([]int, t.Dims())
		for i := range all {
			all[i] = i
		}
		return Reshape(sumDimsView(t, all), []int{}...)
	}
	t = contig(t)
	if is64("tensor.Sum", t) {
		var s float64
		for _, x := range t.f64 {
			s += x
		}
		return ScalarOf(Float64, s)
	}
	var s float64
	for _, x := range t.data {
		s += float64(x)
	}
	return Scalar(float32(s))
}

// MaxDim returns the maximum along dimension d and, for each output element,
// the index along d where it was found (the first, on ties).
func MaxDim(t *Tensor, d int, keepdim bool) (*Tensor, []int) {
	t = contig(t)
	if is64("tensor.MaxDim", t) && t.Dims() > 0 {
		d = NormDim("tensor.MaxDim", d, t.Dims())
		outer, n, inner := splitAt(t.shape, d)
		if n == 0 {
			panic(fmt.Sprintf("tensor.MaxDim: dimension %d of shape %v is empty", d, t.shape))
		}
		out := new64(reducedShape(t.shape, d, keepdim)...)
		arg := make([]int, outer*inner)
		maxDimG(out.f64, t.f64, arg, outer, n, inner)
		return out, arg
	}
	if t.Dims() == 0 {
		return t.Clone(), []int{0}
	}
	d = NormDim("tensor.MaxDim", d, t.Dims())
	outer, n, inner := splitAt(t.shape, d)
	if n == 0 {
		panic(fmt.Sprintf("tensor.MaxDim: dimension %d of shape %v is empty", d, t.shape))
	}
	out := Zeros(reducedShape(t.shape, d, keepdim)...)
	arg := make([]int, outer*inner)
	for o := range outer {
		for i := range inner {
			best, bi := t.data[o*n*inner+i], 0
			for j := 1; j < n; j++ {
				// NaN propagates, as in PyTorch.
				if v := t.data[(o*n+j)*inner+i]; v > best || (v != v && best == best) {
					best, bi = v, j
				}
			}
			out.data[o*inner+i] = best
			arg[o*inner+i] = bi
		}
	}
	return out, arg
}

// LogSumExpDim returns log(sum(exp(t))) along d, computed stably as
// m + log(sum(exp(t-m))) with m the maximum.
func LogSumExpDim(t *Tensor, d int, keepdim bool) *Tensor {
	t = contig(t)
	if is64("tensor.LogSumExpDim", t) && t.Dims() > 0 {
		return logSumExp64(t, NormDim("tensor.LogSumExpDim", d, t.Dims()), keepdim)
	}
	if t.Dims() == 0 {
		return t.Clone()
	}
	d = NormDim("tensor.LogSumExpDim", d, t.Dims())
	outer, n, inner := splitAt(t.shape, d)
	out := Zeros(reducedShape(t.shape, d, keepdim)...)
	for o := range outer {
		for i := range inner {
			m := float32(math.Inf(-1))
			for j := range n {
				m = max(m, t.data[(o*n+j)*inner+i])
			}
			if math.IsInf(float64(m), 0) {
				out.data[o*inner+i] = m
				continue
			}
			var s float64
			for j := range n {
				s += math.Exp(float64(t.data[(o*n+j)*inner+i] - m))
			}
			out.data[o*inner+i] = m + float32(math.Log(s))
		}
	}
	return out
}

// Softmax returns exp(t)/sum(exp(t)) along d, shifted by the maximum for
// stability.
func Softmax(t *Tensor, d int) *Tensor {
	t = contig(t)
	if is64("tensor.Softmax", t) {
		return map64(LogSoftmax(t, d), math.Exp)
	}
	out := LogSoftmax(t, d)
	for i, v := range out.data {
		out.data[i] = exp32(v)
	}
	return out
}

// LogSoftmax returns t - logsumexp(t) along d.
func LogSoftmax(t *Tensor, d int) *Tensor {
	t = contig(t)
	if is64("tensor.LogSoftmax", t) {
		if t.Dims() == 0 {
			return new64()
		}
		d = NormDim("tensor.LogSoftmax", d, t.Dims())
		return Sub(t, logSumExp64(t, d, true)) // x - logsumexp(x)
	}
	if t.Dims() == 0 {
		return Zeros()
	}
	d = NormDim("tensor.LogSoftmax", d, t.Dims())
	outer, n, inner := splitAt(t.shape, d)
	if inner == 1 {
		// Over the last dimension (class logits): one pass per row, in
		// the arithmetic of the general path, into pooled storage.
		out := Empty(t.shape...)
		parallelFor(outer, max(1, minParallelElems/max(n, 1)), func(lo, hi int) {
			logSoftmaxRows(out.data[lo*n:hi*n], t.data[lo*n:hi*n], n)
		})
		return out
	}
	lse := LogSumExpDim(t, d, true)
	out := Zeros(t.shape...)
	for o := range outer {
		for j := range n {
			row := (o*n + j) * inner
			for i := range inner {
				out.data[row+i] = t.data[row+i] - lse.data[o*inner+i]
			}
		}
	}
	return out
}

// ExpandDim repeats t (whose dimension d was reduced with keepdim) n times
// along d: the reverse of a reduction, used to send a gradient back.
func ExpandDim(t *Tensor, d, n int) *Tensor {
	t = contig(t)
	shape := append([]int(nil), t.shape...)
	shape[d] = n
	return BroadcastTo(t, shape...)
}

// SumRows returns the column sums of the row-major m×n matrix a as a [n]
// tensor, adding the rows in order (as SumDim does), so the result does not
// depend on threading: the bias gradient of a linear layer.
func SumRows(a []float32, m, n int) *Tensor {
	if len(a) < m*n {
		panic(fmt.Sprintf("tensor.SumRows: %d elements for a %d×%d matrix", len(a), m, n))
	}
	out := Empty(n)
	dst := out.data[:n]
	if m == 0 {
		clear(dst)
		return out
	}
	// columns in parallel, each adding the rows in order
	parallelFor(n, max(16, minParallelElems/m), func(lo, hi int) {
		d := dst[lo:hi]
		copy(d, a[lo:hi])
		for r := 1; r < m; r++ {
			src := a[r*n+lo : r*n+hi]
			k := addVec(d, src) // element-wise: the same sums, vectorised
			for i, v := range src[k:] {
				d[k+i] += v
			}
		}
	})
	return out
}

// logSoftmaxRows writes the log-softmax of each row of n elements of src
// into dst: x - (m + log Σ e^(x-m)), m the row's maximum, in float32 with
// [Exp32] (the sum in 8 lanes, as expSubSum adds it; its log in float64).
func logSoftmaxRows(dst, src []float32, n int) {
	for r := 0; r+n <= len(src) && n > 0; r += n {
		row, o := src[r:][:n], dst[r:][:n]
		m := maxRow(row)
		lse := m
		if !math.IsInf(float64(m), 0) {
			s := expSubSum(o, row, m) // o as scratch: overwritten below
			lse = m + float32(math.Log(float64(s)))
		}
		subRow(o, row, lse)
	}
}

// NLLRows returns, as a [M] tensor of logp's dtype, -w[t]·logp[i, t] for
// each row i of logp [M, C] and its target t (w the class weights, 1 when
// weight is nil), and 0 for rows whose target is ignoreIndex: the
// per-sample negative log-likelihood. The targets must be in range (the
// caller checks).
func NLLRows(logp *Tensor, targets []int, ignoreIndex int, weight *Tensor) *Tensor {
	logp, weight = contig(logp), contig(weight)
	m, nc := rowsCols("tensor.NLLRows", logp, targets)
	if is64("tensor.NLLRows", logp) {
		per := new64(m)
		for i, t := range targets {
			if t != ignoreIndex {
				per.f64[i] = -classWeight64(weight, t) * logp.f64[i*nc+t]
			}
		}
		return per
	}
	per := make([]float32, m)
	for i, t := range targets {
		if t != ignoreIndex {
			per[i] = -classWeight(weight, t) * logp.data[i*nc+t]
		}
	}
	return New(per, m)
}

// classWeight is weight[t], or 1 without weights.
func classWeight(weight *Tensor, t int) float32 {
	if weight == nil {
		return 1
	}
	return weight.Data()[t]
}

// classWeight64 is classWeight for float64 losses; the weights may be of
// either float dtype.
func classWeight64(weight *Tensor, t int) float64 {
	if weight == nil {
		return 1
	}
	return weight.Float(t)
}

func rowsCols(op string, t *Tensor, targets []int) (m, n int) {
	if t.Dims() != 2 || t.shape[0] != len(targets) {
		panic(fmt.Sprintf("%s: %d targets for rows of shape %v", op, len(targets), t.shape))
	}
	return t.shape[0], t.shape[1]
}

// CrossEntropyGrad returns coef[i]·(softmax(row i) - onehot(targets[i]))
// for the log-probabilities logp [M, C], and zero rows where the target is
// ignoreIndex: the gradient of a cross-entropy with respect to the logits,
// coef[i] being the row's class weight times the reduction's factor. For a
// float32 logp the coefficients are used as float32 (they are float32
// values then).
func CrossEntropyGrad(logp *Tensor, targets []int, ignoreIndex int, coef []float64) *Tensor {
	logp = contig(logp)
	m, nc := rowsCols("tensor.CrossEntropyGrad", logp, targets)
	if len(coef) != m {
		panic(fmt.Sprintf("tensor.CrossEntropyGrad: %d coefficients for %d rows", len(coef), m))
	}
	if is64("tensor.CrossEntropyGrad", logp) {
		dx := new64(m, nc)
		for i, t := range targets {
			if t == ignoreIndex {
				continue
			}
			for j, v := range logp.f64[i*nc:][:nc] {
				dx.f64[i*nc+j] = math.Exp(v) * coef[i]
			}
			dx.f64[i*nc+t] -= coef[i]
		}
		return dx
	}
	dx := Empty(m, nc)
	parallelFor(m, max(1, minParallelElems/max(nc, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			t := targets[i]
			row, dst := logp.data[i*nc:][:nc], dx.data[i*nc:][:nc]
			if t == ignoreIndex {
				clear(dst)
				continue
			}
			// d(-w·log softmax_t)/dx_j = w·(softmax_j - [j = t])
			c := float32(coef[i])
			expScaleRow(dst, row, c)
			dst[t] -= c
		}
	})
	return dx
}

// NLLGrad returns the [M, C] gradient, of dtype dt, of the per-row losses
// -w·logp[i, t] with respect to logp: -coef[i] at (i, targets[i]), 0
// elsewhere and on rows whose target is ignoreIndex; coef[i] is the row's
// class weight times the reduction's factor.
func NLLGrad(dt DType, m, nc int, targets []int, ignoreIndex int, coef []float64) *Tensor {
	if len(targets) != m || len(coef) != m {
		panic(fmt.Sprintf("tensor.NLLGrad: %d targets and %d coefficients for %d rows", len(targets), len(coef), m))
	}
	d := ZerosOf(dt, m, nc)
	for i, t := range targets { // d(-w·logp[t])/dlogp[t] = -w
		if t != ignoreIndex {
			setFloat(d, i*nc+t, -coef[i])
		}
	}
	return d
}

// SmoothGrad returns the [M, C] gradient, of dtype dt, of the per-row
// label-smoothing terms Σ_c -w_c·logp[i, c] with respect to logp:
// -w_c·scale[i] on every row whose target is not ignoreIndex (w the class
// weights, 1 when weight is nil), 0 on the others. For float32 the product
// is taken in float32.
func SmoothGrad(dt DType, m, nc int, targets []int, ignoreIndex int, weight *Tensor, scale []float64) *Tensor {
	weight = contig(weight)
	if len(targets) != m || len(scale) != m {
		panic(fmt.Sprintf("tensor.SmoothGrad: %d targets and %d scales for %d rows", len(targets), len(scale), m))
	}
	d := ZerosOf(dt, m, nc)
	for i, t := range targets { // d(Σ -w_c·logp_c)/dlogp_c = -w_c
		if t == ignoreIndex {
			continue
		}
		for k := range nc {
			if dt == Float64 {
				d.f64[i*nc+k] = -classWeight64(weight, k) * scale[i]
			} else {
				d.data[i*nc+k] = -classWeight(weight, k) * float32(scale[i])
			}
		}
	}
	return d
}

// SmoothRows returns, as a [M] tensor of logp's dtype, Σ_c -w_c·logp[i, c]
// for each row i of logp [M, C] whose target is not ignoreIndex, and 0 for
// the others: the per-sample label-smoothing term of a cross-entropy.
func SmoothRows(logp *Tensor, targets []int, ignoreIndex int, weight *Tensor) *Tensor {
	logp, weight = contig(logp), contig(weight)
	m, nc := rowsCols("tensor.SmoothRows", logp, targets)
	if is64("tensor.SmoothRows", logp) {
		per := new64(m)
		for i, t := range targets {
			if t == ignoreIndex {
				continue
			}
			for k := range nc {
				per.f64[i] -= classWeight64(weight, k) * logp.f64[i*nc+k]
			}
		}
		return per
	}
	per := make([]float32, m)
	for i, t := range targets {
		if t == ignoreIndex {
			continue
		}
		var s float32
		for k := range nc {
			s -= classWeight(weight, k) * logp.data[i*nc+k]
		}
		per[i] = s
	}
	return New(per, m)
}

// sumDimView is SumDim for a strided view, read in place: the view is
// walked in row-major order, so each output element adds its terms in the
// same order as SumDim on the packed copy, bit for bit.
func sumDimView(t *Tensor, d int, keepdim bool) *Tensor {
	out := sumDimsView(t, []int{d})
	return Reshape(out, reducedShape(t.shape, d, keepdim)...)
}

// sumDimsView sums a strided float view over dims, returning the kept
// shape (1 along dims).
func sumDimsView(t *Tensor, dims []int) *Tensor {
	kept := append([]int(nil), t.shape...)
	for _, d := range dims {
		kept[d] = 1
	}
	outSt := stridesOf(kept)
	for _, d := range dims {
		outSt[d] = 0
	}
	v := t.view
	if t.dtype == Float64 {
		out := ZerosOf(Float64, kept...)
		forEachStrided(t.shape, v.strides, outSt, v.off, 0, func(_, ia, io int) { out.f64[io] += v.f64[ia] })
		return out
	}
	if len(dims) == len(t.shape) && len(dims) > 0 {
		// Sum of everything accumulates in float64, as Sum does.
		var acc float64
		forEachStrided(t.shape, v.strides, outSt, v.off, 0, func(_, ia, _ int) { acc += float64(v.data[ia]) })
		return Full(float32(acc), kept...)
	}
	out := Zeros(kept...)
	forEachStrided(t.shape, v.strides, outSt, v.off, 0, func(_, ia, io int) { out.data[io] += v.data[ia] })
	return out
}
