package tensor

import "fmt"

// The indexing functions: Gather, IndexSelect and their reverses, Where,
// Cumsum, Clamp, Maximum. They take float tensors of either dtype (the
// result has the operand's) and index or mask tensors of any dtype (Int64
// is the natural one; a mask or condition is true where its element is not
// 0). They move or select elements, so they are written once for both float
// dtypes, reading and writing through Float and setFloat; none is on a hot
// path.

// indexAt returns index element i as an int, checked against n, naming op.
func indexAt(op string, index *Tensor, i, n int) int {
	v := int(index.Float(i))
	if v < 0 {
		v += n // negative indices count from the end, as in PyTorch
	}
	if v < 0 || v >= n {
		panic(fmt.Sprintf("%s: index %v out of range for a dimension of size %d", op, index.Float(i), n))
	}
	return v
}

// floatOperand panics, naming op, unless t is a float tensor.
func floatOperand(op string, t *Tensor) {
	if t.dtype == Int64 {
		panic(fmt.Sprintf("%s: operand of shape %v is int64; it needs a float dtype", op, t.shape))
	}
}

// gatherOffsets calls f(i, src) for every element i of index (shape like x
// except, possibly, in every dimension's size) with src the offset in x of
// the element that Gather along d reads for it.
func gatherOffsets(op string, x, index *Tensor, d int, f func(i, src int)) {
	if index.Dims() != x.Dims() {
		panic(fmt.Sprintf("%s: index %v and input %v differ in rank", op, index.shape, x.shape))
	}
	for k := range x.Dims() {
		if k != d && index.shape[k] > x.shape[k] {
			panic(fmt.Sprintf("%s: index %v larger than input %v outside dimension %d", op, index.shape, x.shape, d))
		}
	}
	xs := stridesOf(x.shape)
	idx := make([]int, index.Dims())
	for i := range index.Size() {
		off := 0
		for k, c := range idx {
			if k == d {
				c = indexAt(op, index, i, x.shape[d])
			}
			off += c * xs[k]
		}
		f(i, off)
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < index.shape[k] {
				break
			}
			idx[k] = 0
		}
	}
}

// Gather returns out[..., i, ...] = x[..., index[..., i, ...], ...] along
// dimension d, shaped like index, as torch.gather.
func Gather(x *Tensor, d int, index *Tensor) *Tensor {
	x, index = contig(x), contig(index)
	floatOperand("tensor.Gather", x)
	d = NormDim("tensor.Gather", d, x.Dims())
	out := ZerosOf(x.dtype, index.shape...)
	gatherOffsets("tensor.Gather", x, index, d, func(i, src int) { setFloat(out, i, x.Float(src)) })
	return out
}

// ScatterAdd returns a zero tensor of the given shape into which every
// element of g is added at the position Gather(·, d, index) read it from:
// the gradient of Gather.
func ScatterAdd(g *Tensor, d int, index *Tensor, shape []int) *Tensor {
	g, index = contig(g), contig(index)
	floatOperand("tensor.ScatterAdd", g)
	out := ZerosOf(g.dtype, shape...)
	d = NormDim("tensor.ScatterAdd", d, len(shape))
	gatherOffsets("tensor.ScatterAdd", out, index, d, func(i, dst int) { setFloat(out, dst, out.Float(dst)+g.Float(i)) })
	return out
}

// IndexSelect returns the slices of x at the positions of the 1-D index
// along dimension d, as torch.index_select.
func IndexSelect(x *Tensor, d int, index *Tensor) *Tensor {
	x, index = contig(x), contig(index)
	floatOperand("tensor.IndexSelect", x)
	if index.Dims() != 1 {
		panic(fmt.Sprintf("tensor.IndexSelect: index %v must be 1-D", index.shape))
	}
	d = NormDim("tensor.IndexSelect", d, x.Dims())
	outer, n, inner := splitAt(x.shape, d)
	shape := append([]int(nil), x.shape...)
	shape[d] = index.Size()
	out := ZerosOf(x.dtype, shape...)
	m := index.Size()
	for o := range outer {
		for j := range m {
			src := indexAt("tensor.IndexSelect", index, j, n)
			for in := range inner {
				setFloat(out, (o*m+j)*inner+in, x.Float((o*n+src)*inner+in))
			}
		}
	}
	return out
}

// IndexAdd returns a zero tensor of the given shape with each slice j of g
// along d added at slice index[j]: the gradient of IndexSelect.
func IndexAdd(g *Tensor, d int, index *Tensor, shape []int) *Tensor {
	g, index = contig(g), contig(index)
	floatOperand("tensor.IndexAdd", g)
	d = NormDim("tensor.IndexAdd", d, len(shape))
	outer, n, inner := splitAt(shape, d)
	out := ZerosOf(g.dtype, shape...)
	m := index.Size()
	for o := range outer {
		for j := range m {
			dst := indexAt("tensor.IndexAdd", index, j, n)
			for in := range inner {
				k := (o*n+dst)*inner + in
				setFloat(out, k, out.Float(k)+g.Float((o*m+j)*inner+in))
			}
		}
	}
	return out
}

// Where returns a where cond is true (not 0) and b elsewhere, the three
// broadcast together, as torch.where; a and b share a float dtype.
func Where(cond, a, b *Tensor) *Tensor {
	cond, a, b = contig(cond), contig(a), contig(b)
	sameDType("tensor.Where", a, b)
	floatOperand("tensor.Where", a)
	ab := BroadcastShapes("tensor.Where", a.shape, b.shape)
	shape := BroadcastShapes("tensor.Where", cond.shape, ab)
	ca, cb := BroadcastTo(cond.To(Float64), shape...), BroadcastTo(a, shape...)
	bb := BroadcastTo(b, shape...)
	out := ZerosOf(a.dtype, shape...)
	for i := range out.Size() {
		if ca.f64[i] != 0 {
			setFloat(out, i, cb.Float(i))
		} else {
			setFloat(out, i, bb.Float(i))
		}
	}
	return out
}

// Cumsum returns the running sums of x along d, as torch.cumsum, or, with
// reverse, the sums from each element to the end (the gradient of Cumsum).
func Cumsum(x *Tensor, d int, reverse bool) *Tensor {
	x = contig(x)
	floatOperand("tensor.Cumsum", x)
	if x.Dims() == 0 {
		return x.Clone()
	}
	d = NormDim("tensor.Cumsum", d, x.Dims())
	outer, n, inner := splitAt(x.shape, d)
	out := ZerosOf(x.dtype, x.shape...)
	for o := range outer {
		for in := range inner {
			var s float64
			for jj := range n {
				j := jj
				if reverse {
					j = n - 1 - jj
				}
				k := (o*n+j)*inner + in
				s += x.Float(k)
				setFloat(out, k, s)
			}
		}
	}
	return out
}

// Clamp returns x limited to [lo, hi], as torch.clamp.
func Clamp(x *Tensor, lo, hi float64) *Tensor {
	x = contig(x)
	floatOperand("tensor.Clamp", x)
	out := ZerosOf(x.dtype, x.shape...)
	for i := range x.Size() {
		setFloat(out, i, min(max(x.Float(i), lo), hi))
	}
	return out
}

// ClampGrad returns g where lo <= x <= hi and 0 elsewhere: the gradient
// through Clamp (PyTorch passes it at the bounds too).
func ClampGrad(g, x *Tensor, lo, hi float64) *Tensor {
	g, x = contig(g), contig(x)
	out := ZerosOf(g.dtype, g.shape...)
	for i := range g.Size() {
		if v := x.Float(i); v >= lo && v <= hi {
			setFloat(out, i, g.Float(i))
		}
	}
	return out
}

// Maximum returns the element-wise maximum of a and b with broadcasting,
// as torch.maximum (NaN wins).
func Maximum(a, b *Tensor) *Tensor {
	a, b = contig(a), contig(b)
	sameDType("tensor.Maximum", a, b)
	floatOperand("tensor.Maximum", a)
	shape := BroadcastShapes("tensor.Maximum", a.shape, b.shape)
	out := ZerosOf(a.dtype, shape...)
	forEachBroadcast(shape, a.shape, b.shape, func(i, ia, ib int) {
		x, y := a.Float(ia), b.Float(ib)
		if x > y || x != x {
			setFloat(out, i, x)
		} else {
			setFloat(out, i, y)
		}
	})
	return out
}

// MaximumGrad returns, shaped like the broadcast of a and b, the share of g
// that Maximum(a, b) sends to a: all of it where a > b, half where they tie
// (as PyTorch), none where b wins. The share of b is MaximumGrad(g, b, a).
func MaximumGrad(g, a, b *Tensor) *Tensor {
	g, a, b = contig(g), contig(a), contig(b)
	out := ZerosOf(g.dtype, g.shape...)
	forEachBroadcast(g.shape, a.shape, b.shape, func(i, ia, ib int) {
		switch x, y := a.Float(ia), b.Float(ib); {
		case x > y:
			setFloat(out, i, g.Float(i))
		case x == y:
			setFloat(out, i, g.Float(i)/2)
		}
	})
	return out
}
