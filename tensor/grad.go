package tensor

import (
	"fmt"
	"math"
)

// The element-wise activations and the arithmetic of autograd's backward
// rules. Each gradient function takes the upstream gradient g = d(loss)/dy
// and what the rule needs of the forward pass (the input x, the output y),
// and returns dx = g·dy/dx, a fresh tensor from the pool that Recycle
// fills; large tensors are split over goroutines, which does not change a
// bit, every element being computed alone.

// minParallelElems is the fewest elements an element-wise loop hands to a
// goroutine of its own: below it the start-up costs more than it saves.
const minParallelElems = 1 << 15

// mapInto returns a fresh tensor of t's shape whose elements
// [lo, lo+len(dst)) rule writes, reading what it needs from the matching
// elements of the operands (which must have t's size) itself.
func mapInto(t *Tensor, rule func(lo int, dst []float32)) *Tensor {
	out := emptyLike(t)
	d := out.data[:len(t.data)]
	parallelFor(len(d), minParallelElems, func(lo, hi int) { rule(lo, d[lo:hi]) })
	return out
}

// checkSizes panics unless every tensor has g's number of elements.
func checkSizes(op string, g *Tensor, ts ...*Tensor) {
	for _, t := range ts {
		if len(t.data) != len(g.data) {
			panic(fmt.Sprintf("%s: gradient %v and operand %v differ in size", op, g.shape, t.shape))
		}
	}
}

// PowScalar returns t**p element-wise, computed in float64.
func PowScalar(t *Tensor, p float32) *Tensor {
	t = contig(t)
	if is64("tensor.PowScalar", t) {
		return map64(t, func(x float64) float64 { return math.Pow(x, float64(p)) })
	}
	return mapInto(t, func(lo int, dst []float32) {
		for i, v := range t.data[lo:][:len(dst)] {
			dst[i] = float32(math.Pow(float64(v), float64(p)))
		}
	})
}

// PowScalarGrad returns g·p·x^(p-1), the gradient through y = x**p (0 for
// p = 0, g·0 keeping NaNs).
func PowScalarGrad(g, x *Tensor, p float32) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.PowScalarGrad", g, x) {
		return zip64("tensor.PowScalarGrad", g, x, func(g, x float64) float64 { return g * float64(p) * math.Pow(x, float64(p)-1) }) // d(x^p)/dx = p·x^(p-1)
	}
	checkSizes("tensor.PowScalarGrad", g, x)
	return mapInto(g, func(lo int, dx []float32) {
		xd := x.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			if p == 0 {
				dx[i] = v * 0
				continue
			}
			dx[i] = v * (p * float32(math.Pow(float64(xd[i]), float64(p-1)))) // d(x^p)/dx = p·x^(p-1)
		}
	})
}

// NegGrad returns -g, the gradient through y = -x.
func NegGrad(g *Tensor) *Tensor {
	g = contig(g)
	if is64("tensor.NegGrad", g) {
		return map64(g, func(g float64) float64 { return -g })
	}
	return mapInto(g, func(lo int, dx []float32) {
		for i, v := range g.data[lo:][:len(dx)] {
			dx[i] = -v // d(-x)/dx = -1
		}
	})
}

// ExpGrad returns g·y, the gradient through y = e**x.
func ExpGrad(g, y *Tensor) *Tensor {
	g, y = contig(g), contig(y)
	if is64("tensor.ExpGrad", g, y) {
		return zip64("tensor.ExpGrad", g, y, func(g, y float64) float64 { return g * y })
	}
	checkSizes("tensor.ExpGrad", g, y)
	return mapInto(g, func(lo int, dx []float32) {
		yd := y.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			dx[i] = v * yd[i] // d(e^x)/dx = e^x
		}
	})
}

// LogGrad returns g·(1/x), the gradient through y = ln x.
func LogGrad(g, x *Tensor) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.LogGrad", g, x) {
		return zip64("tensor.LogGrad", g, x, func(g, x float64) float64 { return g / x })
	}
	checkSizes("tensor.LogGrad", g, x)
	return mapInto(g, func(lo int, dx []float32) {
		xd := x.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			dx[i] = v * (1 / xd[i]) // d(ln x)/dx = 1/x
		}
	})
}

// SqrtGrad returns g·(0.5/y), the gradient through y = √x.
func SqrtGrad(g, y *Tensor) *Tensor {
	g, y = contig(g), contig(y)
	if is64("tensor.SqrtGrad", g, y) {
		return zip64("tensor.SqrtGrad", g, y, func(g, y float64) float64 { return g * 0.5 / y })
	}
	checkSizes("tensor.SqrtGrad", g, y)
	return mapInto(g, func(lo int, dx []float32) {
		yd := y.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			dx[i] = v * (0.5 / yd[i]) // d√x/dx = 1/(2√x)
		}
	})
}

// AbsGrad returns g·sign(x), the gradient through y = |x| (0 at 0, as in
// PyTorch).
func AbsGrad(g, x *Tensor) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.AbsGrad", g, x) {
		return zip64("tensor.AbsGrad", g, x, func(g, x float64) float64 { return g * sign64(x) })
	}
	checkSizes("tensor.AbsGrad", g, x)
	return mapInto(g, func(lo int, dx []float32) {
		xd := x.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			dx[i] = v * Sign32(xd[i]) // d|x|/dx = sign(x)
		}
	})
}

// Sign32 returns 1 for x > 0, -1 for x < 0 and 0 otherwise (NaN included).
func Sign32(x float32) float32 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// TanhGrad returns g·(1-y²), the gradient through y = tanh x.
func TanhGrad(g, y *Tensor) *Tensor {
	g, y = contig(g), contig(y)
	if is64("tensor.TanhGrad", g, y) {
		return zip64("tensor.TanhGrad", g, y, func(g, y float64) float64 { return g * (1 - y*y) })
	}
	checkSizes("tensor.TanhGrad", g, y)
	return mapInto(g, func(lo int, dx []float32) {
		yd := y.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			dx[i] = v * (1 - yd[i]*yd[i]) // d tanh/dx = 1 - tanh²
		}
	})
}

// SigmoidGrad returns g·y(1-y), the gradient through y = σ(x).
func SigmoidGrad(g, y *Tensor) *Tensor {
	g, y = contig(g), contig(y)
	if is64("tensor.SigmoidGrad", g, y) {
		return zip64("tensor.SigmoidGrad", g, y, func(g, y float64) float64 { return g * y * (1 - y) })
	}
	checkSizes("tensor.SigmoidGrad", g, y)
	return mapInto(g, func(lo int, dx []float32) {
		yd := y.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			dx[i] = v * (yd[i] * (1 - yd[i])) // dσ/dx = σ(1-σ)
		}
	})
}

// LeakyReLU returns x for x > 0 and slope·x otherwise.
func LeakyReLU(t *Tensor, slope float32) *Tensor {
	t = contig(t)
	if is64("tensor.LeakyReLU", t) {
		return map64(t, func(x float64) float64 { return leaky64(x, float64(slope)) })
	}
	return mapInto(t, func(lo int, dst []float32) {
		for i, v := range t.data[lo:][:len(dst)] {
			if v > 0 {
				dst[i] = v
			} else {
				dst[i] = slope * v
			}
		}
	})
}

// LeakyReLUGrad returns g where x > 0 and g·slope elsewhere.
func LeakyReLUGrad(g, x *Tensor, slope float32) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.LeakyReLUGrad", g, x) {
		return zip64("tensor.LeakyReLUGrad", g, x, func(g, x float64) float64 {
			if x > 0 {
				return g
			}
			return g * float64(slope)
		})
	}
	checkSizes("tensor.LeakyReLUGrad", g, x)
	return mapInto(g, func(lo int, dx []float32) {
		xd := x.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			if xd[i] > 0 { // d/dx = 1 for x > 0, slope otherwise
				dx[i] = v
			} else {
				dx[i] = v * slope
			}
		}
	})
}

// ELU returns x for x > 0 and alpha·(e**x - 1) otherwise.
func ELU(t *Tensor, alpha float32) *Tensor {
	t = contig(t)
	if is64("tensor.ELU", t) {
		return map64(t, func(x float64) float64 { return elu64(x, float64(alpha)) })
	}
	return mapInto(t, func(lo int, dst []float32) {
		for i, v := range t.data[lo:][:len(dst)] {
			if v > 0 {
				dst[i] = v
			} else {
				dst[i] = alpha * float32(math.Expm1(float64(v)))
			}
		}
	})
}

// ELUGrad returns g where x > 0 and g·(y + alpha) elsewhere, y = ELU(x).
func ELUGrad(g, x, y *Tensor, alpha float32) *Tensor {
	g, x, y = contig(g), contig(x), contig(y)
	if is64("tensor.ELUGrad", g, x, y) {
		return zip64("tensor.ELUGrad", g, x, func(g, x float64) float64 {
			if x > 0 {
				return g
			}
			return g * float64(alpha) * math.Exp(x) // alpha·e^x
		})
	}
	checkSizes("tensor.ELUGrad", g, x, y)
	return mapInto(g, func(lo int, dx []float32) {
		xd, yd := x.data[lo:][:len(dx)], y.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			if xd[i] > 0 { // d/dx = 1 for x > 0, alpha·e^x = y + alpha otherwise
				dx[i] = v
			} else {
				dx[i] = v * (yd[i] + alpha)
			}
		}
	})
}

// GELU returns x·Φ(x), Φ the standard normal CDF, computed in float64; with
// tanhApprox, PyTorch's approximate="tanh" form
// 0.5x(1+tanh(√(2/π)(x+0.044715x³))).
func GELU(t *Tensor, tanhApprox bool) *Tensor {
	t = contig(t)
	if is64("tensor.GELU", t) {
		return map64(t, func(x float64) float64 { return gelu64(x, tanhApprox) })
	}
	return mapInto(t, func(lo int, dst []float32) {
		for i, v := range t.data[lo:][:len(dst)] {
			v := float64(v)
			if tanhApprox {
				dst[i] = float32(0.5 * v * (1 + math.Tanh(geluInner(v))))
			} else {
				dst[i] = float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
			}
		}
	})
}

// GELUGrad returns g·dGELU/dx at x, in the form GELU(x, tanhApprox) uses.
func GELUGrad(g, x *Tensor, tanhApprox bool) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.GELUGrad", g, x) {
		return zip64("tensor.GELUGrad", g, x, func(g, x float64) float64 { return g * geluGrad64(x, tanhApprox) })
	}
	checkSizes("tensor.GELUGrad", g, x)
	return mapInto(g, func(lo int, dx []float32) {
		xd := x.data[lo:][:len(dx)]
		for i, gv := range g.data[lo:][:len(dx)] {
			v := float64(xd[i])
			var d float64
			if tanhApprox {
				t := math.Tanh(geluInner(v))
				// d/dx = ½(1+t) + ½x(1-t²)·√(2/π)(1+3·0.044715x²)
				d = 0.5*(1+t) + 0.5*v*(1-t*t)*math.Sqrt(2/math.Pi)*(1+3*0.044715*v*v)
			} else {
				// d/dx = Φ(x) + x·φ(x)
				d = 0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi)
			}
			dx[i] = gv * float32(d)
		}
	})
}

func geluInner(v float64) float64 { return math.Sqrt(2/math.Pi) * (v + 0.044715*v*v*v) }

// SiLU returns x·σ(x) element-wise.
func SiLU(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.SiLU", t) {
		return map64(t, func(x float64) float64 { return x * sigmoid64(x) })
	}
	return mapInto(t, func(lo int, dst []float32) {
		for i, v := range t.data[lo:][:len(dst)] {
			dst[i] = v * Sigmoid32(v)
		}
	})
}

// SiLUGrad returns g·σ(x)(1 + x(1-σ(x))), the gradient through y = x·σ(x).
func SiLUGrad(g, x *Tensor) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.SiLUGrad", g, x) {
		return zip64("tensor.SiLUGrad", g, x, func(g, x float64) float64 { s := sigmoid64(x); return g * s * (1 + x*(1-s)) })
	}
	checkSizes("tensor.SiLUGrad", g, x)
	return mapInto(g, func(lo int, dx []float32) {
		xd := x.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			s := Sigmoid32(xd[i])
			dx[i] = v * (s * (1 + xd[i]*(1-s))) // d(xσ)/dx = σ(1 + x(1-σ))
		}
	})
}

// Softplus returns log(1+e**(beta·x))/beta, and x where beta·x > threshold.
func Softplus(t *Tensor, beta, threshold float32) *Tensor {
	t = contig(t)
	if is64("tensor.Softplus", t) {
		return map64(t, func(x float64) float64 { return softplusB64(x, float64(beta), float64(threshold)) })
	}
	return mapInto(t, func(lo int, dst []float32) {
		for i, v := range t.data[lo:][:len(dst)] {
			if beta*v > threshold {
				dst[i] = v
			} else {
				dst[i] = float32(math.Log1p(math.Exp(float64(beta*v))) / float64(beta))
			}
		}
	})
}

// SoftplusGrad returns g·σ(beta·x), and g where beta·x > threshold.
func SoftplusGrad(g, x *Tensor, beta, threshold float32) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.SoftplusGrad", g, x) {
		return zip64("tensor.SoftplusGrad", g, x, func(g, x float64) float64 { return g * softplusGrad64(x, float64(beta), float64(threshold)) })
	}
	checkSizes("tensor.SoftplusGrad", g, x)
	return mapInto(g, func(lo int, dx []float32) {
		xd := x.data[lo:][:len(dx)]
		for i, v := range g.data[lo:][:len(dx)] {
			if beta*xd[i] > threshold { // d/dx = σ(beta·x), 1 above the threshold
				dx[i] = v
			} else {
				dx[i] = v * Sigmoid32(beta*xd[i])
			}
		}
	})
}
