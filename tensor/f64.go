package tensor

// The float64 paths of the functions package autograd calls. They are
// written for correctness, not speed: one element per loop iteration,
// closures where they shorten the code, no pooling, no goroutines. Every
// public function dispatches here at its top when its operands are float64
// (is64), so the float32 code below each dispatch is unchanged.

import (
	"fmt"
	"math"
)

// map64 returns f applied to every element of the float64 tensor t.
func map64(t *Tensor, f func(x float64) float64) *Tensor {
	out := new64(t.shape...)
	for i, x := range t.f64 {
		out.f64[i] = f(x)
	}
	return out
}

// zip64 returns f(g[i], x[i]) for float64 tensors of equal size, shaped
// like g.
func zip64(op string, g, x *Tensor, f func(g, x float64) float64) *Tensor {
	if len(g.f64) != len(x.f64) {
		panic(fmt.Sprintf("%s: gradient %v and operand %v differ in size", op, g.shape, x.shape))
	}
	out := new64(g.shape...)
	for i, v := range g.f64 {
		out.f64[i] = f(v, x.f64[i])
	}
	return out
}

// binary64 is binary for float64 tensors, with broadcasting.
func binary64(op string, a, b *Tensor, f func(x, y float64) float64) *Tensor {
	shape := BroadcastShapes(op, a.shape, b.shape)
	out := new64(shape...)
	offA, stA := operandStrides(a, shape)
	offB, stB := operandStrides(b, shape)
	sa, sb := a.store64(), b.store64()
	forEachStrided(shape, stA, stB, offA, offB, func(i, ia, ib int) {
		out.f64[i] = f(sa[ia], sb[ib])
	})
	return out
}

func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func sign64(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// concatG copies each source block into dst: the body of Concat.
func concatG[E float32 | float64 | int64](dst []E, srcs [][]E, sizes []int, outer, total, inner int) {
	off := 0
	for k, s := range srcs {
		n := sizes[k] * inner
		for o := range outer {
			copy(dst[o*total*inner+off:], s[o*n:(o+1)*n])
		}
		off += n
	}
}

// sumDim64 is SumDim for float64.
func sumDim64(t *Tensor, d int, keepdim bool) *Tensor {
	outer, n, inner := splitAt(t.shape, d)
	out := new64(reducedShape(t.shape, d, keepdim)...)
	for o := range outer {
		dst := out.f64[o*inner : (o+1)*inner]
		for j := range n {
			addInto(dst, t.f64[(o*n+j)*inner:(o*n+j+1)*inner])
		}
	}
	return out
}

// maxDimG is MaxDim's loop for a float element type.
func maxDimG[F float32 | float64](dst, src []F, arg []int, outer, n, inner int) {
	for o := range outer {
		for i := range inner {
			best, bi := src[o*n*inner+i], 0
			for j := 1; j < n; j++ {
				if v := src[(o*n+j)*inner+i]; v > best || (v != v && best == best) {
					best, bi = v, j
				}
			}
			dst[o*inner+i] = best
			arg[o*inner+i] = bi
		}
	}
}

// logSumExp64 is LogSumExpDim for float64.
func logSumExp64(t *Tensor, d int, keepdim bool) *Tensor {
	outer, n, inner := splitAt(t.shape, d)
	out := new64(reducedShape(t.shape, d, keepdim)...)
	for o := range outer {
		for i := range inner {
			m := math.Inf(-1)
			for j := range n {
				m = max(m, t.f64[(o*n+j)*inner+i])
			}
			if math.IsInf(m, 0) {
				out.f64[o*inner+i] = m
				continue
			}
			var s float64
			for j := range n {
				s += math.Exp(t.f64[(o*n+j)*inner+i] - m)
			}
			out.f64[o*inner+i] = m + math.Log(s)
		}
	}
	return out
}

// gemm64 computes C = op(A)·op(B) (+ C when acc) on row-major float64
// matrices: the plain triple loop.
func gemm64(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, acc bool, c []float64, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var av, bv float64
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if acc {
				c[i*ldc+j] += s
			} else {
				c[i*ldc+j] = s
			}
		}
	}
}

// linear64 is Linear for float64.
func linear64(x, w, b *Tensor) *Tensor {
	in, outF := w.shape[1], w.shape[0]
	m := len(x.f64) / max(in, 1)
	y := new64(append(append([]int{}, x.shape[:len(x.shape)-1]...), outF)...)
	if b != nil {
		for r := range m {
			copy(y.f64[r*outF:(r+1)*outF], b.f64)
		}
	}
	gemm64(false, true, m, outF, in, x.f64, in, w.f64, in, b != nil, y.f64, outF)
	return y
}

// linearBackward64 is LinearBackward for float64.
func linearBackward64(x, w, g *Tensor, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	in, outF := w.shape[1], w.shape[0]
	m := len(x.f64) / max(in, 1)
	if len(g.f64) != m*outF {
		panic(fmt.Sprintf("tensor.LinearBackward: gradient %v for input %v and weight %v", g.shape, x.shape, w.shape))
	}
	if wantX {
		dx = new64(x.shape...)
		gemm64(false, false, m, in, outF, g.f64, outF, w.f64, in, false, dx.f64, in) // dx = G·W
	}
	if wantW {
		dw = new64(w.shape...)
		gemm64(true, false, outF, in, m, g.f64, outF, x.f64, in, false, dw.f64, in) // dW = Gᵀ·x
	}
	if wantB {
		db = sumDim64(Reshape(g, m, outF), 0, false) // db = Σ_rows G
	}
	return dx, dw, db
}

func relu64(x float64) float64 {
	if x > 0 {
		return x
	}
	if x != x {
		return x
	}
	return 0
}

func leaky64(x, slope float64) float64 {
	if x > 0 {
		return x
	}
	return slope * x
}

func elu64(x, alpha float64) float64 {
	if x > 0 {
		return x
	}
	return alpha * math.Expm1(x)
}

func gelu64(v float64, tanhApprox bool) float64 {
	if tanhApprox {
		return 0.5 * v * (1 + math.Tanh(geluInner(v)))
	}
	return 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
}

func geluGrad64(v float64, tanhApprox bool) float64 {
	if tanhApprox {
		t := math.Tanh(geluInner(v))
		return 0.5*(1+t) + 0.5*v*(1-t*t)*math.Sqrt(2/math.Pi)*(1+3*0.044715*v*v)
	}
	return 0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi)
}

func softplusB64(x, beta, threshold float64) float64 {
	if beta*x > threshold {
		return x
	}
	return math.Log1p(math.Exp(beta*x)) / beta
}

func softplusGrad64(x, beta, threshold float64) float64 {
	if beta*x > threshold {
		return 1
	}
	return sigmoid64(beta * x)
}
