package tensor

import (
	"fmt"
	"math"
)

// binary applies f element-wise over a and b broadcast together. The common
// case of equal shapes runs a plain loop.
func binary(op string, a, b *Tensor, f func(x, y float32) float32) *Tensor {
	if a.view != nil || b.view != nil {
		// Views (an Expand's stride 0, a transpose) are read in place.
		shape := BroadcastShapes(op, a.shape, b.shape)
		out := Empty(shape...)
		offA, stA := operandStrides(a, shape)
		offB, stB := operandStrides(b, shape)
		sa, _ := a.store32()
		sb, _ := b.store32()
		forEachStrided(shape, stA, stB, offA, offB, func(i, ia, ib int) {
			out.data[i] = f(sa[ia], sb[ib])
		})
		return out
	}
	if EqualShapes(a.shape, b.shape) {
		out := emptyLike(a)
		ad, bd, od := a.data, b.data[:len(a.data)], out.data[:len(a.data)]
		for i := range ad {
			od[i] = f(ad[i], bd[i])
		}
		return out
	}
	shape := BroadcastShapes(op, a.shape, b.shape)
	out := Empty(shape...)
	forEachBroadcast(shape, a.shape, b.shape, func(i, ia, ib int) {
		out.data[i] = f(a.data[ia], b.data[ib])
	})
	return out
}

// Add returns a+b with broadcasting.
func Add(a, b *Tensor) *Tensor {
	if is64("tensor.Add", a, b) {
		return binary64("tensor.Add", a, b, func(x, y float64) float64 { return x + y })
	}
	return binary("tensor.Add", a, b, func(x, y float32) float32 { return x + y })
}

// Sub returns a-b with broadcasting.
func Sub(a, b *Tensor) *Tensor {
	if is64("tensor.Sub", a, b) {
		return binary64("tensor.Sub", a, b, func(x, y float64) float64 { return x - y })
	}
	return binary("tensor.Sub", a, b, func(x, y float32) float32 { return x - y })
}

// Mul returns a*b element-wise with broadcasting.
func Mul(a, b *Tensor) *Tensor {
	if is64("tensor.Mul", a, b) {
		return binary64("tensor.Mul", a, b, func(x, y float64) float64 { return x * y })
	}
	return binary("tensor.Mul", a, b, func(x, y float32) float32 { return x * y })
}

// Div returns a/b element-wise with broadcasting.
func Div(a, b *Tensor) *Tensor {
	if is64("tensor.Div", a, b) {
		return binary64("tensor.Div", a, b, func(x, y float64) float64 { return x / y })
	}
	return binary("tensor.Div", a, b, func(x, y float32) float32 { return x / y })
}

// Pow returns a**b element-wise with broadcasting.
func Pow(a, b *Tensor) *Tensor {
	if is64("tensor.Pow", a, b) {
		return binary64("tensor.Pow", a, b, func(x, y float64) float64 { return math.Pow(x, y) })
	}
	return binary("tensor.Pow", a, b, func(x, y float32) float32 {
		return float32(math.Pow(float64(x), float64(y)))
	})
}

// Map returns f applied to every element of t.
func Map(t *Tensor, f func(x float32) float32) *Tensor {
	t = contig(t)
	only32("tensor.Map", t)
	out := emptyLike(t)
	od := out.data[:len(t.data)]
	for i, x := range t.data {
		od[i] = f(x)
	}
	return out
}

// Map2 returns f(a[i], b[i]) for tensors of equal size (no broadcasting);
// the result has a's shape.
func Map2(a, b *Tensor, f func(x, y float32) float32) *Tensor {
	a, b = contig(a), contig(b)
	only32("tensor.Map2", a, b)
	if len(a.data) != len(b.data) {
		panic(fmt.Sprintf("tensor.Map2: shapes %v and %v differ in size", a.shape, b.shape))
	}
	out := emptyLike(a)
	ad, bd, od := a.data, b.data[:len(a.data)], out.data[:len(a.data)]
	for i := range ad {
		od[i] = f(ad[i], bd[i])
	}
	return out
}

// Scale returns t*s.
func Scale(t *Tensor, s float32) *Tensor {
	t = contig(t)
	if is64("tensor.Scale", t) {
		return map64(t, func(x float64) float64 { return x * float64(s) })
	}
	return mapInto(t, func(lo int, dst []float32) {
		for i, x := range t.data[lo:][:len(dst)] {
			dst[i] = x * s
		}
	})
}

// AddScalar returns t+s.
func AddScalar(t *Tensor, s float32) *Tensor {
	t = contig(t)
	if is64("tensor.AddScalar", t) {
		return map64(t, func(x float64) float64 { return x + float64(s) })
	}
	out := emptyLike(t)
	od := out.data[:len(t.data)]
	for i, x := range t.data {
		od[i] = x + s
	}
	return out
}

// Neg returns -t.
func Neg(t *Tensor) *Tensor { return Scale(t, -1) }

// The unary functions below are plain loops rather than Map with a
// closure: an indirect call per element costs more than the arithmetic.

// Exp returns e**t element-wise.
func Exp(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.Exp", t) {
		return map64(t, func(x float64) float64 { return math.Exp(x) })
	}
	out := emptyLike(t)
	od := out.data[:len(t.data)]
	for i, x := range t.data {
		od[i] = float32(math.Exp(float64(x)))
	}
	return out
}

// Log returns the natural logarithm of t element-wise.
func Log(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.Log", t) {
		return map64(t, func(x float64) float64 { return math.Log(x) })
	}
	out := emptyLike(t)
	od := out.data[:len(t.data)]
	for i, x := range t.data {
		od[i] = float32(math.Log(float64(x)))
	}
	return out
}

// Sqrt returns the square root of t element-wise.
func Sqrt(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.Sqrt", t) {
		return map64(t, func(x float64) float64 { return math.Sqrt(x) })
	}
	out := emptyLike(t)
	od := out.data[:len(t.data)]
	for i, x := range t.data {
		od[i] = float32(math.Sqrt(float64(x)))
	}
	return out
}

// Abs returns |t| element-wise.
func Abs(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.Abs", t) {
		return map64(t, func(x float64) float64 { return math.Abs(x) })
	}
	out := emptyLike(t)
	od := out.data[:len(t.data)]
	for i, x := range t.data {
		od[i] = float32(math.Abs(float64(x)))
	}
	return out
}

// Tanh returns tanh(t) element-wise.
func Tanh(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.Tanh", t) {
		return map64(t, func(x float64) float64 { return math.Tanh(x) })
	}
	out := emptyLike(t)
	od := out.data[:len(t.data)]
	for i, x := range t.data {
		od[i] = float32(math.Tanh(float64(x)))
	}
	return out
}

// Sigmoid returns 1/(1+e**-t) element-wise.
func Sigmoid(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.Sigmoid", t) {
		return map64(t, func(x float64) float64 { return sigmoid64(x) })
	}
	out := emptyLike(t)
	od := out.data[:len(t.data)]
	for i, x := range t.data {
		od[i] = Sigmoid32(x)
	}
	return out
}

// ReLU returns max(t, 0) element-wise (NaN stays NaN).
func ReLU(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.ReLU", t) {
		return map64(t, func(x float64) float64 { return relu64(x) })
	}
	out := emptyLike(t)
	parallelFor(len(t.data), 1<<15, func(lo, hi int) {
		// max(x+0, 0) = max(x, 0) for every x (vectorised there).
		biasReLU(out.data[lo:hi], t.data[lo:hi], 1, 0, false, true)
	})
	return out
}

// ReLUInPlace sets t to max(t, 0) element-wise, bit for bit ReLU(t), in
// place: for fused ops that own t.
func ReLUInPlace(t *Tensor) {
	if t.view != nil {
		writeThrough(t, ReLUInPlace)
		return
	}
	if is64("tensor.ReLUInPlace", t) {
		for i, x := range t.f64 {
			t.f64[i] = relu64(x)
		}
		return
	}
	parallelFor(len(t.data), 1<<15, func(lo, hi int) {
		biasReLU(t.data[lo:hi], t.data[lo:hi], 1, 0, false, true)
	})
}

// ReLUGrad returns g where y > 0 and +0 elsewhere: the gradient that flows
// back through y = ReLU(x) given g = d(loss)/dy (y > 0 exactly where x > 0),
// as autograd's ReLU computes it. The result comes from the pool that
// Recycle fills.
func ReLUGrad(g, y *Tensor) *Tensor {
	g, y = contig(g), contig(y)
	if is64("tensor.ReLUGrad", g, y) {
		if !EqualShapes(g.shape, y.shape) {
			panic(fmt.Sprintf("tensor.ReLUGrad: gradient %v and output %v differ in shape", g.shape, y.shape))
		}
		return zip64("tensor.ReLUGrad", g, y, func(g, y float64) float64 {
			if y > 0 {
				return g
			}
			return 0
		})
	}
	if !EqualShapes(g.shape, y.shape) {
		panic(fmt.Sprintf("tensor.ReLUGrad: gradient %v and output %v differ in shape", g.shape, y.shape))
	}
	out := emptyLike(g)
	parallelFor(len(g.data), 1<<15, func(lo, hi int) {
		d, m, gs := out.data[lo:hi], y.data[lo:hi], g.data[lo:hi]
		k := reluGradVec(d, gs, m)
		for j, v := range gs[k:] {
			d[k+j] = reluMask(v, m[k+j])
		}
	})
	return out
}

func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }

// Sigmoid32 is the logistic function on one float32, stable for large |x|.
func Sigmoid32(x float32) float32 {
	if x >= 0 {
		return float32(1 / (1 + math.Exp(-float64(x))))
	}
	e := math.Exp(float64(x))
	return float32(e / (1 + e))
}
