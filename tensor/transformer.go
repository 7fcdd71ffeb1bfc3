package tensor

import "math"

// The float32 forms of exact GELU that a transformer's feed-forward block
// runs on every hidden unit, twice per step: GELU's float64 erf and exp
// cost more than the products around them.

// GELU32 returns exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)), element-wise in
// float32 ([Erf32]): GELU(t, false) to within about 1e-7·(1+|x|), several
// times faster; the same values as GELU32CDF's.
func GELU32(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.GELU32", t) {
		return GELU(t, false)
	}
	return mapInto(t, func(lo int, dst []float32) {
		var cdf [256]float32 // Φ(x) of a block, not kept
		src := t.data[lo:][:len(dst)]
		for i := 0; i < len(src); i += len(cdf) {
			j := min(i+len(cdf), len(src))
			geluCDFRow(dst[i:j], cdf[:j-i], src[i:j])
		}
	})
}

// GELU32Grad returns g·(Φ(x) + x·φ(x)), the gradient of GELU32 at x, in
// float32.
func GELU32Grad(g, x *Tensor) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.GELU32Grad", g, x) {
		return GELUGrad(g, x, false)
	}
	checkSizes("tensor.GELU32Grad", g, x)
	return mapInto(g, func(lo int, dx []float32) {
		xd := x.data[lo:][:len(dx)]
		for i, gv := range g.data[lo:][:len(dx)] {
			v := xd[i]
			// d/dx = Φ(x) + x·φ(x)
			d := 0.5*(1+Erf32(v*math.Sqrt2/2)) + v*Exp32(-0.5*v*v)*(1/math.Sqrt2/math.SqrtPi)
			dx[i] = gv * d
		}
	})
}

// GELU32CDF is GELU32 that also returns Φ(x) [t's shape], which
// GELU32GradCDF takes so that the backward pass computes no erf.
func GELU32CDF(t *Tensor) (y, cdf *Tensor) {
	t = contig(t)
	if is64("tensor.GELU32CDF", t) {
		return GELU(t, false), nil
	}
	y, cdf = emptyLike(t), emptyLike(t)
	parallelFor(len(t.data), minParallelElems, func(lo, hi int) {
		geluCDFRow(y.data[lo:hi], cdf.data[lo:hi], t.data[lo:hi])
	})
	return y, cdf
}

// GELU32GradCDF is GELU32Grad given cdf = Φ(x) from GELU32CDF (nil: as
// GELU32Grad).
func GELU32GradCDF(g, x, cdf *Tensor) *Tensor {
	if cdf == nil {
		return GELU32Grad(g, x)
	}
	g, x, cdf = contig(g), contig(x), contig(cdf)
	checkSizes("tensor.GELU32GradCDF", g, x)
	checkSizes("tensor.GELU32GradCDF", g, cdf)
	dx := emptyLike(g)
	parallelFor(len(g.data), minParallelElems, func(lo, hi int) {
		geluGradRow(dx.data[lo:hi], g.data[lo:hi], x.data[lo:hi], cdf.data[lo:hi]) // d/dx = Φ(x) + x·φ(x)
	})
	return dx
}
