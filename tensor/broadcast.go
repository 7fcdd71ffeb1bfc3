package tensor

import "fmt"

// BroadcastShapes returns the shape that a and b broadcast to under
// NumPy/PyTorch rules (dimensions aligned from the right; each pair equal or
// one of them 1). It panics, naming op, when they are incompatible.
func BroadcastShapes(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := dimFromRight(a, n-1-i), dimFromRight(b, n-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panic(fmt.Sprintf("%s: shapes %v and %v cannot be broadcast", op, a, b))
		}
	}
	return out
}

func dimFromRight(s []int, fromRight int) int {
	i := len(s) - 1 - fromRight
	if i < 0 {
		return 1
	}
	return s[i]
}

// broadcastStrides returns, for shape s broadcast to out, the stride of each
// output dimension in s's storage (0 where s is broadcast).
func broadcastStrides(s, out []int) []int {
	st := make([]int, len(out))
	stride := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(s))
		if j < 0 {
			break
		}
		if s[j] != 1 {
			st[i] = stride
		}
		stride *= s[j]
	}
	return st
}

// forEachBroadcast calls f(outIndex, aOffset, bOffset) for every element of
// the broadcast shape out, in row-major order.
func forEachBroadcast(out, sa, sb []int, f func(i, ia, ib int)) {
	n := checkShape("broadcast", out)
	if n == 0 {
		return
	}
	forEachStrided(out, broadcastStrides(sa, out), broadcastStrides(sb, out), 0, 0, f)
}

// forEachStrided is forEachBroadcast for operands given by their strides
// over the output shape (0 along broadcast dimensions) and the storage
// offsets of their first elements: views read in place.
func forEachStrided(out, stA, stB []int, ia, ib int, f func(i, ia, ib int)) {
	n := checkShape("broadcast", out)
	if n == 0 {
		return
	}
	idx := make([]int, len(out))
	for i := range n {
		f(i, ia, ib)
		// Advance the multi-index like an odometer, keeping offsets in step.
		for d := len(out) - 1; d >= 0; d-- {
			idx[d]++
			ia += stA[d]
			ib += stB[d]
			if idx[d] < out[d] {
				break
			}
			ia -= stA[d] * out[d]
			ib -= stB[d] * out[d]
			idx[d] = 0
		}
	}
}

// operandStrides returns the storage of t (its base's, for a view), the
// offset of its first element and its strides over the broadcast shape
// out: t's own strides aligned from the right, 0 along the dimensions that
// broadcasting (or Expand) repeats.
func operandStrides(t *Tensor, out []int) (off int, st []int) {
	if t.view == nil {
		return 0, broadcastStrides(t.shape, out)
	}
	st = make([]int, len(out))
	lead := len(out) - len(t.shape)
	for i := lead; i < len(out); i++ {
		if t.shape[i-lead] != 1 {
			st[i] = t.view.strides[i-lead]
		}
	}
	return t.view.off, st
}

// BroadcastTo returns a copy of t expanded to shape (which t must broadcast
// to).
func BroadcastTo(t *Tensor, shape ...int) *Tensor {
	t = contig(t)
	if t.dtype != Float32 {
		got := BroadcastShapes("tensor.BroadcastTo", t.shape, shape)
		if !EqualShapes(got, shape) {
			panic(fmt.Sprintf("tensor.BroadcastTo: shape %v does not broadcast to %v", t.shape, shape))
		}
		out := ZerosOf(t.dtype, shape...)
		forEachBroadcast(shape, t.shape, shape, func(i, ia, _ int) {
			switch t.dtype {
			case Float64:
				out.f64[i] = t.f64[ia]
			case Int64:
				out.i64[i] = t.i64[ia]
			}
		})
		return out
	}
	got := BroadcastShapes("tensor.BroadcastTo", t.shape, shape)
	if !EqualShapes(got, shape) {
		panic(fmt.Sprintf("tensor.BroadcastTo: shape %v does not broadcast to %v", t.shape, shape))
	}
	out := Zeros(shape...)
	forEachBroadcast(shape, t.shape, shape, func(i, ia, _ int) { out.data[i] = t.data[ia] })
	return out
}

// SumTo sums t over the dimensions that were broadcast to reach t's shape
// from shape, returning a tensor of shape: the reverse of broadcasting, used
// to send a gradient back to a broadcast operand.
func SumTo(t *Tensor, shape ...int) *Tensor {
	t = contig(t)
	if is64("tensor.SumTo", t) {
		if EqualShapes(t.shape, shape) {
			return t.Clone()
		}
		got := BroadcastShapes("tensor.SumTo", shape, t.shape)
		if !EqualShapes(got, t.shape) {
			panic(fmt.Sprintf("tensor.SumTo: shape %v is not a broadcast of %v", t.shape, shape))
		}
		out := new64(shape...)
		forEachBroadcast(t.shape, shape, t.shape, func(i, io, _ int) { out.f64[io] += t.f64[i] })
		return out
	}
	if EqualShapes(t.shape, shape) {
		return t.Clone()
	}
	got := BroadcastShapes("tensor.SumTo", shape, t.shape)
	if !EqualShapes(got, t.shape) {
		panic(fmt.Sprintf("tensor.SumTo: shape %v is not a broadcast of %v", t.shape, shape))
	}
	out := Zeros(shape...)
	forEachBroadcast(t.shape, shape, t.shape, func(i, io, _ int) { out.data[io] += t.data[i] })
	return out
}
