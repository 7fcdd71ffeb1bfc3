package tensor

import (
	"fmt"
	"math"
)

// A convolution with one input channel (the first layer of an image model
// on grey images) makes a poor GEMM: its products are only kh·kw long, and
// im2col writes kh·kw copies of the image for them. The inference form of a
// 3×3 conv–batch norm–ReLU–2×2 pool block with one input channel instead
// runs directly: nine FMAs an output, vectorised over eight pooling
// windows, the batch norm, ReLU and pooling applied in registers, and only
// the pooled plane written.

// direct1 reports whether the inference form's convolution may run as
// direct1Pooled: one input channel, one group, a 3×3 kernel with stride and
// dilation 1 (any padding).
func (g *convGeom) direct1() bool {
	return g.c == 1 && g.g == 1 && g.kh == 3 && g.kw == 3 &&
		g.p.Stride == [2]int{1, 1} && g.p.Dilation == [2]int{1, 1}
}

// direct1Pooled is forward with dst.bn and dst.pool for a convolution that
// direct1 accepts: each output is the sum over k = 3·dy+dx of w[k]·input,
// the FMAs taken one after another from 0 (the order of im2col's product,
// whose kernels add them so), then the bias, batch norm, ReLU and pooling of
// layoutRange. Each plane is computed alone, so the result does not depend
// on the batch or the thread count.
//
// Every image is first padded and split into its even and odd columns
// (2·ph+2 rows of rs floats each, the odd after the even), so that the
// windows' four outputs are vectors of eight windows each.
func (g *convGeom) direct1Pooled(x, w, bias *Tensor, dst convOut) {
	var bd []float32
	if bias != nil {
		if bias.Dims() != 1 || bias.shape[0] != g.o {
			panic(fmt.Sprintf("tensor.Conv2d: bias %v for %d output channels", bias.shape, g.o))
		}
		bd = bias.data
	}
	ph, pw := dst.ph, dst.pw
	n8 := (pw + 7) &^ 7
	rs := n8 + 8 // the vector at the last window reads one column further
	rowsP := 2*ph + 2
	per := 2 * rowsP * rs
	hw := g.h * g.w
	planes := getFloats(g.n * per)
	defer putFloats(planes)
	parallelFor(g.n, 1, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			g.splitPadded(x.data[i*hw:][:hw], planes[i*per:][:per], rs, rowsP)
		}
	})
	// where each window's top left output lies in its plane (and room
	// for the last vector's spare lanes)
	pos := intPool.get(ph*pw + 8)
	defer intPool.put(pos)
	clear(pos)
	for py := range ph {
		for px := range pw {
			pos[py*pw+px] = int32(2*py*g.ow + 2*px)
		}
	}
	pohw := ph * pw
	vec := useDirect1Vec
	parallelFor(g.n*g.o, 1, func(j0, j1 int) {
		tp := getFloats(pohw + 8)
		ta := intPool.get(pohw + 8)
		defer func() { putFloats(tp); intPool.put(ta) }()
		k := poolLanes(g.ow)
		for j := j0; j < j1; j++ {
			i, o := j/g.o, j%g.o
			setBNLanes(&k, bd, dst.bn, o)
			eo := planes[i*per:][:per]
			wo := w.data[o*9:][:9]
			q := j * pohw
			if vec {
				if ok, nan := conv1PoolVec(eo, rs, ph, pw, wo, &k, pos, dst.pooled[q:][:pohw], dst.arg[q:][:pohw], tp, ta); ok && !nan {
					continue
				}
			}
			// Without the vector kernel, or for a plane holding a NaN
			// (which maxPool2x2 gives its place): the plane in Go, then
			// layoutRange's passes.
			plane := getFloats(g.oh * g.ow)
			direct1Plane(eo, rs, rowsP, wo, plane, g.ow, 2*ph, 2*pw)
			biasReLU(plane, plane, 1, k[0], bd != nil, false) // k[0]: the bias setBNLanes set
			dst.bn.apply(plane, o, true)
			maxPool2x2(plane, dst.pooled[q:][:pohw], dst.arg[q:][:pohw], g.ow, ph, pw)
			putFloats(plane)
		}
	})
}

// useDirect1Vec lets direct1Pooled use conv1Pool; off, a hook for the tests
// that compare it with the Go path.
var useDirect1Vec = true

// splitPadded writes plane (g.h×g.w) inside its padding into eo: padded
// row r, column c at eo[r·rs + c/2], plus rows·rs for an odd c; what lies
// outside the plane is zero.
func (g *convGeom) splitPadded(plane, eo []float32, rs, rows int) {
	clear(eo)
	ev, od := eo[:rows*rs], eo[rows*rs:][:rows*rs]
	py, px := g.p.Padding[0], g.p.Padding[1]
	for r := range rows {
		iy := r - py
		if iy < 0 || iy >= g.h {
			continue
		}
		src := plane[iy*g.w:][:g.w]
		e, o := ev[r*rs:][:rs], od[r*rs:][:rs]
		for ix, v := range src {
			c := ix + px
			if c >= 2*rs {
				break
			}
			if c&1 == 0 {
				e[c>>1] = v
			} else {
				o[c>>1] = v
			}
		}
	}
}

// direct1Plane computes the outputs (oy, ox), oy < oh, ox < ow, of the
// padded, split plane eo (as splitPadded lays it out) with the 3×3 kernel
// w into plane (ld floats a row), as conv1Pool sums them: one FMA after
// another from 0, in the order of k = 3·dy+dx.
func direct1Plane(eo []float32, rs, rows int, w, plane []float32, ld, oh, ow int) {
	ev, od := eo[:rows*rs], eo[rows*rs:][:rows*rs]
	at := func(r, c int) float32 {
		if c&1 == 0 {
			return ev[r*rs+c>>1]
		}
		return od[r*rs+c>>1]
	}
	for oy := range oh {
		out := plane[oy*ld:][:ow]
		for ox := range out {
			var acc float32
			for dy := range 3 {
				for dx := range 3 {
					acc = fma32(w[3*dy+dx], at(oy+dy, ox+dx), acc)
				}
			}
			out[ox] = acc
		}
	}
}

// fma32 is a·b + c rounded once to float32 (the float64 product is exact;
// its sum rounds twice, which differs from one rounding only on a float32
// halfway case).
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}
