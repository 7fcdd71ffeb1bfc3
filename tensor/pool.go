package tensor

import (
	"fmt"
	"math"
)

// PoolParams are the attributes of 2-D max and average pooling, as in
// torch.nn.functional.max_pool2d and avg_pool2d, as [height, width] pairs.
// A zero Stride means the kernel size and a zero Dilation means 1.
// CountIncludePad applies to average pooling only; PyTorch's default is true.
// DivisorOverride, when positive, replaces the window size as the divisor of
// average pooling.
type PoolParams struct {
	Kernel, Stride, Padding, Dilation [2]int
	CeilMode                          bool
	CountIncludePad                   bool
	DivisorOverride                   int
}

// IsPlain2x2 reports whether p is a 2×2 max-pooling window with stride 2,
// no padding, no dilation and floor mode (zero values meaning defaults):
// the pooling the fused convolution passes do.
func (p PoolParams) IsPlain2x2() bool {
	d := p.withDefaults()
	return d.Kernel == [2]int{2, 2} && d.Stride == [2]int{2, 2} && d.Padding == [2]int{} && d.Dilation == [2]int{1, 1} && !d.CeilMode
}

func (p PoolParams) withDefaults() PoolParams {
	for i := range 2 {
		if p.Stride[i] == 0 {
			p.Stride[i] = p.Kernel[i]
		}
		if p.Dilation[i] == 0 {
			p.Dilation[i] = 1
		}
	}
	return p
}

// PoolOutSize is PyTorch's pooling output length, including ceil mode's
// rule that the last window must start inside the input or left padding.
func PoolOutSize(in, k, stride, pad, dil int, ceil bool) int {
	num := in + 2*pad - dil*(k-1) - 1
	if ceil {
		num += stride - 1
	}
	out := floorDiv(num, stride) + 1
	if ceil && (out-1)*stride >= in+pad {
		out--
	}
	return out
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

type poolGeom struct {
	nc, h, w, oh, ow int
	p                PoolParams
}

func newPoolGeom(op string, x *Tensor, p PoolParams) poolGeom {
	p = p.withDefaults()
	if x.Dims() != 4 && x.Dims() != 3 {
		panic(fmt.Sprintf("%s: input %v must be 4-D (NCHW) or 3-D (CHW)", op, x.shape))
	}
	for i := range 2 {
		if p.Kernel[i] < 1 || p.Stride[i] < 1 || p.Dilation[i] < 1 || p.Padding[i] < 0 {
			panic(fmt.Sprintf("%s: invalid parameters %+v", op, p))
		}
		if p.Padding[i]*2 > p.Kernel[i] {
			panic(fmt.Sprintf("%s: padding %v must be at most half the kernel %v", op, p.Padding, p.Kernel))
		}
	}
	r := x.Dims()
	g := poolGeom{h: x.shape[r-2], w: x.shape[r-1], p: p}
	g.nc = x.Size() / max(1, g.h*g.w)
	g.oh = PoolOutSize(g.h, p.Kernel[0], p.Stride[0], p.Padding[0], p.Dilation[0], p.CeilMode)
	g.ow = PoolOutSize(g.w, p.Kernel[1], p.Stride[1], p.Padding[1], p.Dilation[1], p.CeilMode)
	if g.oh < 1 || g.ow < 1 {
		panic(fmt.Sprintf("%s: input %v too small for %+v", op, x.shape, p))
	}
	return g
}

func (g poolGeom) outShape(x *Tensor) []int {
	s := append([]int(nil), x.shape...)
	s[len(s)-2], s[len(s)-1] = g.oh, g.ow
	return s
}

// MaxPool2d returns the maximum over each pooling window of x ([N,C,H,W] or
// [C,H,W]) and, per output element, the flat index within its H·W plane
// where the maximum was found (used by MaxPool2dBackward). The index slice
// comes from the pool that RecycleInt32s fills. Planes are pooled in
// parallel, each by one goroutine.
func MaxPool2d(x *Tensor, p PoolParams) (*Tensor, []int32) {
	x = contig(x)
	if is64("tensor.MaxPool2d", x) {
		return maxPool64(x, p)
	}
	g := newPoolGeom("tensor.MaxPool2d", x, p)
	out := Empty(g.outShape(x)...)
	arg := Int32s(len(out.data))
	hw, ohw := g.h*g.w, g.oh*g.ow
	fast := g.p.Kernel == [2]int{2, 2} && g.p.Stride == [2]int{2, 2} && g.p.Padding == [2]int{} && g.p.Dilation == [2]int{1, 1} && !g.p.CeilMode
	parallelFor(g.nc, 4, func(c0, c1 int) {
		var tabs *pool3Tables
		if g.pool3() {
			tabs = &pool3Tables{w: g.w}
		}
		for c := c0; c < c1; c++ {
			plane := x.data[c*hw:][:hw]
			o, a := out.data[c*ohw:][:ohw], arg[c*ohw:][:ohw]
			if fast {
				maxPool2x2(plane, o, a, g.w, g.oh, g.ow)
			} else {
				g.maxPoolPlaneWith(plane, o, a, tabs)
			}
		}
	})
	return out, arg
}

// maxPool2x2 is MaxPool2d's common case, a 2×2 window with stride 2 and no
// padding, in one pass that finds the maximum and its index together. The
// maximum comes from the branch-free max builtin and the index from
// equality tests that compile to conditional moves: which of four random
// activations is largest is unpredictable, and a branch per comparison
// mispredicts about half the time (3.5× slower on a W-CNN pooling input).
// Ties go to the first element in window order, as in maxPoolPlane; a
// window holding NaN takes maxPoolPlane's rule. (One difference: a window
// whose maximum is a tie of -0 and +0 yields +0.)
func maxPool2x2(plane, out []float32, arg []int32, w, oh, ow int) {
	if maxPool2x2Vec(plane, out, arg, w, oh, ow) {
		return
	}
	maxPool2x2Go(plane, out, arg, w, oh, ow)
}

// maxPool2x2Go is maxPool2x2 in Go, for CPUs without the vector loop and
// for planes holding NaN.
func maxPool2x2Go(plane, out []float32, arg []int32, w, oh, ow int) {
	for oy := range oh {
		r0 := plane[2*oy*w:][:w]
		r1 := plane[(2*oy+1)*w:][:w]
		o, a := out[oy*ow:][:ow], arg[oy*ow:][:ow]
		base := int32(2 * oy * w)
		for ox := range o {
			i := 2 * ox
			v0, v1, v2, v3 := r0[i], r0[i+1], r1[i], r1[i+1]
			best := max(max(v0, v1), max(v2, v3))
			off := int32(w + 1)
			if v2 == best {
				off = int32(w)
			}
			if v1 == best {
				off = 1
			}
			if v0 == best {
				off = 0
			}
			if best != best { // NaN: the last NaN wins
				switch {
				case v3 != v3:
					off = int32(w + 1)
				case v2 != v2:
					off = int32(w)
				case v1 != v1:
					off = 1
				default:
					off = 0
				}
			}
			o[ox] = best
			a[ox] = base + int32(i) + off
		}
	}
}

// maxPoolPlane pools one H·W plane with any window: the first maximum in
// window order wins, and a NaN wins over any number (the last NaN, as in
// PyTorch's kernel). With 3×3 windows and horizontal stride 2, most columns
// go to maxPool3x3s2's vector loop, by the same rule.
func (g poolGeom) maxPoolPlane(plane, out []float32, arg []int32) {
	var tabs *pool3Tables
	if g.pool3() {
		tabs = &pool3Tables{w: g.w}
	}
	g.maxPoolPlaneWith(plane, out, arg, tabs)
}

// maxPoolPlaneWith is maxPoolPlane with maxPool3x3s2's tables (nil when
// g.pool3() is false), which a run of planes shares.
func (g poolGeom) maxPoolPlaneWith(plane, out []float32, arg []int32, tabs *pool3Tables) {
	p := g.p
	negInf := float32(math.Inf(-1))
	xlo, xhi := g.maxPool3x3s2(plane, out, arg, tabs) // columns pooled in every row
	for oy := range g.oh {
		for ox := 0; ox < g.ow; ox++ {
			if ox == xlo && xhi > xlo {
				ox = xhi - 1
				continue
			}
			best, bi := negInf, -1
			for ki := range p.Kernel[0] {
				iy := oy*p.Stride[0] - p.Padding[0] + ki*p.Dilation[0]
				if iy < 0 || iy >= g.h {
					continue
				}
				for kj := range p.Kernel[1] {
					ix := ox*p.Stride[1] - p.Padding[1] + kj*p.Dilation[1]
					if ix < 0 || ix >= g.w {
						continue
					}
					if v := plane[iy*g.w+ix]; v > best || bi < 0 || v != v {
						best, bi = v, iy*g.w+ix
					}
				}
			}
			out[oy*g.ow+ox] = best
			arg[oy*g.ow+ox] = int32(bi)
		}
	}
}

// MaxPool2dBackward sends gy back to the positions MaxPool2d chose
// (d(max)/dx = 1 at the argmax, 0 elsewhere). Each plane is written by one
// goroutine, its outputs added in order, so overlapping windows give the same
// sums whatever the thread count.
func MaxPool2dBackward(x, gy *Tensor, arg []int32) *Tensor {
	x, gy = contig(x), contig(gy)
	if is64("tensor.MaxPool2dBackward", x, gy) {
		return maxPoolBackward64(x, gy, arg)
	}
	dx := emptyLike(x)
	r := x.Dims()
	hw := x.shape[r-2] * x.shape[r-1]
	ohw := gy.shape[r-2] * gy.shape[r-1]
	nc := len(x.data) / max(hw, 1)
	parallelFor(nc, 4, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			d := dx.data[c*hw:][:hw]
			clear(d)
			a := arg[c*ohw:][:ohw]
			for o, v := range gy.data[c*ohw:][:ohw] {
				if i := a[o]; i >= 0 {
					d[i] += v
				}
			}
		}
	})
	return dx
}

// avgWindow returns the window of output (oy, ox) clipped to the input, and
// the divisor PyTorch uses for it.
func (g poolGeom) avgWindow(oy, ox int) (y0, y1, x0, x1 int, div float32) {
	p := g.p
	y0, x0 = oy*p.Stride[0]-p.Padding[0], ox*p.Stride[1]-p.Padding[1]
	y1, x1 = min(y0+p.Kernel[0], g.h+p.Padding[0]), min(x0+p.Kernel[1], g.w+p.Padding[1])
	size := (y1 - y0) * (x1 - x0)
	y0, x0, y1, x1 = max(y0, 0), max(x0, 0), min(y1, g.h), min(x1, g.w)
	switch {
	case p.DivisorOverride > 0:
		div = float32(p.DivisorOverride)
	case p.CountIncludePad:
		div = float32(size)
	default:
		div = float32((y1 - y0) * (x1 - x0))
	}
	return y0, y1, x0, x1, div
}

// AvgPool2d returns the mean over each pooling window of x ([N,C,H,W] or
// [C,H,W]). Dilation is not part of average pooling and must be 1.
func AvgPool2d(x *Tensor, p PoolParams) *Tensor {
	x = contig(x)
	if is64("tensor.AvgPool2d", x) {
		if p.withDefaults().Dilation != [2]int{1, 1} {
			panic(fmt.Sprintf("tensor.AvgPool2d: dilation %v is not supported (PyTorch has none)", p.Dilation))
		}
		return avgPool64(x, nil, p)
	}
	g := newPoolGeom("tensor.AvgPool2d", x, p)
	if g.p.Dilation != [2]int{1, 1} {
		panic(fmt.Sprintf("tensor.AvgPool2d: dilation %v is not supported (PyTorch has none)", g.p.Dilation))
	}
	out := Zeros(g.outShape(x)...)
	for c := range g.nc {
		plane := x.data[c*g.h*g.w:][:g.h*g.w]
		for oy := range g.oh {
			for ox := range g.ow {
				y0, y1, x0, x1, div := g.avgWindow(oy, ox)
				var s float32
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						s += plane[iy*g.w+ix]
					}
				}
				out.data[(c*g.oh+oy)*g.ow+ox] = s / div
			}
		}
	}
	return out
}

// AvgPool2dBackward spreads gy evenly back over each window:
// d(mean)/dx = 1/divisor for every x in the window.
func AvgPool2dBackward(x, gy *Tensor, p PoolParams) *Tensor {
	x, gy = contig(x), contig(gy)
	if is64("tensor.AvgPool2dBackward", x, gy) {
		return avgPool64(x, gy, p)
	}
	g := newPoolGeom("tensor.AvgPool2d", x, p)
	dx := Zeros(x.shape...)
	for c := range g.nc {
		plane := dx.data[c*g.h*g.w:][:g.h*g.w]
		for oy := range g.oh {
			for ox := range g.ow {
				y0, y1, x0, x1, div := g.avgWindow(oy, ox)
				v := gy.data[(c*g.oh+oy)*g.ow+ox] / div
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						plane[iy*g.w+ix] += v
					}
				}
			}
		}
	}
	return dx
}
