package tensor

import (
	"fmt"
	"math"
)

// The element-wise losses: each returns, for input x and target t of the
// same shape, the loss of every element and its derivatives with respect
// to the input and to the target, element by element, for a reduction and
// the backward rule to scale.

// elemLoss applies f to the elements of float32 x and t, which must have
// the same shape, or f64 to those of float64 ones; the results have x's
// shape and dtype.
func elemLoss(op string, x, t *Tensor, f func(x, t float32, i int) (l, dx, dt float32), f64 func(x, t float64, i int) (l, dx, dt float64)) (per, dx, dt *Tensor) {
	if !SameShape(x, t) {
		panic(fmt.Sprintf("%s: input %v and target %v must have the same shape", op, x.shape, t.shape))
	}
	per, dx, dt = ZerosOf(x.dtype, x.shape...), ZerosOf(x.dtype, x.shape...), ZerosOf(x.dtype, x.shape...)
	if is64(op, x, t) {
		for i := range per.f64 {
			per.f64[i], dx.f64[i], dt.f64[i] = f64(x.f64[i], t.f64[i], i)
		}
		return per, dx, dt
	}
	for i := range per.data {
		per.data[i], dx.data[i], dt.data[i] = f(x.data[i], t.data[i], i)
	}
	return per, dx, dt
}

// MSEElems returns (x-t)² per element and its derivatives 2(x-t), -2(x-t).
func MSEElems(x, t *Tensor) (per, dx, dt *Tensor) {
	x, t = contig(x), contig(t)
	return elemLoss("tensor.MSEElems", x, t, func(x, t float32, _ int) (float32, float32, float32) {
		d := x - t
		return d * d, 2 * d, -2 * d // d(x-t)²/dx = 2(x-t)
	}, func(x, t float64, _ int) (float64, float64, float64) {
		d := x - t
		return d * d, 2 * d, -2 * d
	})
}

// L1Elems returns |x-t| per element and its derivatives sign(x-t),
// -sign(x-t).
func L1Elems(x, t *Tensor) (per, dx, dt *Tensor) {
	x, t = contig(x), contig(t)
	return elemLoss("tensor.L1Elems", x, t, func(x, t float32, _ int) (float32, float32, float32) {
		d := x - t
		return float32(math.Abs(float64(d))), Sign32(d), -Sign32(d) // d|x-t|/dx = sign(x-t)
	}, func(x, t float64, _ int) (float64, float64, float64) {
		d := x - t
		return math.Abs(d), sign64(d), -sign64(d)
	})
}

// HuberElems returns ½d² where |d| < delta and delta·(|d| - ½delta)
// elsewhere, d = x-t, per element, and its derivatives.
func HuberElems(x, t *Tensor, delta float32) (per, dx, dt *Tensor) {
	x, t = contig(x), contig(t)
	return elemLoss("tensor.HuberElems", x, t, func(x, t float32, _ int) (float32, float32, float32) {
		d := x - t
		ad := float32(math.Abs(float64(d)))
		if ad < delta {
			return 0.5 * d * d, d, -d // d(½d²)/dx = d
		}
		return delta * (ad - 0.5*delta), delta * Sign32(d), -delta * Sign32(d) // d/dx = delta·sign(d)
	}, func(x, t float64, _ int) (float64, float64, float64) {
		d, dl := x-t, float64(delta)
		if math.Abs(d) < dl {
			return 0.5 * d * d, d, -d
		}
		return dl * (math.Abs(d) - 0.5*dl), dl * sign64(d), -dl * sign64(d)
	})
}

// BCEWithLogitsElems returns the binary cross-entropy of σ(x) against t,
// computed stably from the logits, per element:
// l = w·[(1-t)·x + (1+(pw-1)·t)·softplus(-x)], with weight w and positive
// weight pw of x's shape (nil meaning 1), and its derivatives
// w·((1-t) - k·σ(-x)) and w·(-x + (pw-1)·softplus(-x)), k = 1+(pw-1)·t.
func BCEWithLogitsElems(x, t, weight, posWeight *Tensor) (per, dx, dt *Tensor) {
	x, t, weight, posWeight = contig(x), contig(t), contig(weight), contig(posWeight)
	for _, w := range []*Tensor{weight, posWeight} {
		if w != nil && w.Size() != x.Size() {
			panic(fmt.Sprintf("tensor.BCEWithLogitsElems: weight %v for input %v", w.shape, x.shape))
		}
	}
	return elemLoss("tensor.BCEWithLogitsElems", x, t, func(x, t float32, i int) (float32, float32, float32) {
		wi, pwi := float32(1), float32(1)
		if weight != nil {
			wi = weight.data[i]
		}
		if posWeight != nil {
			pwi = posWeight.data[i]
		}
		k := 1 + (pwi-1)*t
		sp := softplus64(-float64(x)) // log(1+e^-x), stable
		l := float64(1-t)*float64(x) + float64(k)*sp
		// dl/dx = (1-t) - k·σ(-x); dl/dt = -x + (pw-1)·softplus(-x)
		dx := (1 - t) - k*Sigmoid32(-x)
		dt := -x + (pwi-1)*float32(sp)
		return wi * float32(l), wi * dx, wi * dt
	}, func(x, t float64, i int) (float64, float64, float64) {
		wi, pwi := 1.0, 1.0
		if weight != nil {
			wi = weight.Float(i)
		}
		if posWeight != nil {
			pwi = posWeight.Float(i)
		}
		k := 1 + (pwi-1)*t
		sp := softplus64(-x)
		return wi * ((1-t)*x + k*sp), wi * ((1 - t) - k*sigmoid64(-x)), wi * (-x + (pwi-1)*sp)
	})
}

// softplus64 is log(1+e^x), computed without overflow.
func softplus64(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
