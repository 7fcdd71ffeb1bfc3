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
	var s float64
	for _, x := range t.data {
		s += float64(x)
	}
	return Scalar(float32(s))
}

// MaxDim returns the maximum along dimension d and, for each output element,
// the index along d where it was found (the first, on ties).
func MaxDim(t *Tensor, d int, keepdim bool) (*Tensor, []int) {
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
	out := LogSoftmax(t, d)
	for i, v := range out.data {
		out.data[i] = exp32(v)
	}
	return out
}

// LogSoftmax returns t - logsumexp(t) along d.
func LogSoftmax(t *Tensor, d int) *Tensor {
	if t.Dims() == 0 {
		return Zeros()
	}
	d = NormDim("tensor.LogSoftmax", d, t.Dims())
	outer, n, inner := splitAt(t.shape, d)
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
	copy(dst, a[:n])
	for r := 1; r < m; r++ {
		src := a[r*n:][:n]
		for i, v := range src {
			dst[i] += v
		}
	}
	return out
}
