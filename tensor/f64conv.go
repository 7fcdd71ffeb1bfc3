package tensor

import "math"

// The float64 paths of convolution and pooling (see f64.go): a direct
// convolution, each output a plain sum over its window, and the same loops
// run backwards for the gradients.

// conv64 returns Conv2d(x, w, bias, p) for float64 operands, with ReLU
// applied when relu is set.
func conv64(x, w, bias *Tensor, p ConvParams, relu bool) *Tensor {
	g := newConvGeom(x, w, p)
	pp := g.p
	y := new64(g.n, g.o, g.oh, g.ow)
	for n := range g.n {
		for o := range g.o {
			grp := o / g.og
			for oy := range g.oh {
				for ox := range g.ow {
					var s float64
					if bias != nil {
						s = bias.f64[o]
					}
					for c := range g.cg {
						ci := grp*g.cg + c
						for ki := range g.kh {
							iy := oy*pp.Stride[0] - pp.Padding[0] + ki*pp.Dilation[0]
							if iy < 0 || iy >= g.h {
								continue
							}
							for kj := range g.kw {
								ix := ox*pp.Stride[1] - pp.Padding[1] + kj*pp.Dilation[1]
								if ix < 0 || ix >= g.w {
									continue
								}
								s += x.f64[((n*g.c+ci)*g.h+iy)*g.w+ix] * w.f64[((o*g.cg+c)*g.kh+ki)*g.kw+kj]
							}
						}
					}
					if relu {
						s = relu64(s)
					}
					y.f64[((n*g.o+o)*g.oh+oy)*g.ow+ox] = s
				}
			}
		}
	}
	return y
}

// convGrads64 returns the gradients of conv64 (without ReLU) given gy.
func convGrads64(x, w, gy *Tensor, p ConvParams, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	g := newConvGeom(x, w, p)
	pp := g.p
	if wantX {
		dx = new64(x.shape...)
	}
	if wantW {
		dw = new64(w.shape...)
	}
	if wantB {
		db = new64(g.o)
	}
	for n := range g.n {
		for o := range g.o {
			grp := o / g.og
			for oy := range g.oh {
				for ox := range g.ow {
					gv := gy.f64[((n*g.o+o)*g.oh+oy)*g.ow+ox]
					if db != nil {
						db.f64[o] += gv // db = Σ G
					}
					for c := range g.cg {
						ci := grp*g.cg + c
						for ki := range g.kh {
							iy := oy*pp.Stride[0] - pp.Padding[0] + ki*pp.Dilation[0]
							if iy < 0 || iy >= g.h {
								continue
							}
							for kj := range g.kw {
								ix := ox*pp.Stride[1] - pp.Padding[1] + kj*pp.Dilation[1]
								if ix < 0 || ix >= g.w {
									continue
								}
								xi, wi := ((n*g.c+ci)*g.h+iy)*g.w+ix, ((o*g.cg+c)*g.kh+ki)*g.kw+kj
								if dx != nil {
									dx.f64[xi] += gv * w.f64[wi] // dy/dx = w
								}
								if dw != nil {
									dw.f64[wi] += gv * x.f64[xi] // dy/dw = x
								}
							}
						}
					}
				}
			}
		}
	}
	return dx, dw, db
}

// maxPool64 is MaxPool2d for float64: the first maximum in window order
// wins, a NaN wins over any number; arg holds plane-relative indices.
func maxPool64(x *Tensor, p PoolParams) (*Tensor, []int32) {
	g := newPoolGeom("tensor.MaxPool2d", x, p)
	out := new64(g.outShape(x)...)
	arg := make([]int32, len(out.f64))
	hw, ohw := g.h*g.w, g.oh*g.ow
	pp := g.p
	for c := range g.nc {
		plane := x.f64[c*hw:][:hw]
		for oy := range g.oh {
			for ox := range g.ow {
				best, bi := math.Inf(-1), -1
				for ki := range pp.Kernel[0] {
					iy := oy*pp.Stride[0] - pp.Padding[0] + ki*pp.Dilation[0]
					if iy < 0 || iy >= g.h {
						continue
					}
					for kj := range pp.Kernel[1] {
						ix := ox*pp.Stride[1] - pp.Padding[1] + kj*pp.Dilation[1]
						if ix < 0 || ix >= g.w {
							continue
						}
						if v := plane[iy*g.w+ix]; v > best || bi < 0 || v != v {
							best, bi = v, iy*g.w+ix
						}
					}
				}
				out.f64[c*ohw+oy*g.ow+ox] = best
				arg[c*ohw+oy*g.ow+ox] = int32(bi)
			}
		}
	}
	return out, arg
}

// maxPoolBackward64 sends gy back to the positions arg chose.
func maxPoolBackward64(x, gy *Tensor, arg []int32) *Tensor {
	dx := new64(x.shape...)
	r := x.Dims()
	hw := x.shape[r-2] * x.shape[r-1]
	ohw := gy.shape[r-2] * gy.shape[r-1]
	for i, v := range gy.f64 {
		if a := arg[i]; a >= 0 {
			dx.f64[(i/ohw)*hw+int(a)] += v // d(max)/dx = 1 at the argmax
		}
	}
	return dx
}

// avgPool64 is AvgPool2d for float64, and its backward pass when gy is
// not nil (then it returns dx).
func avgPool64(x, gy *Tensor, p PoolParams) *Tensor {
	g := newPoolGeom("tensor.AvgPool2d", x, p)
	var out *Tensor
	if gy == nil {
		out = new64(g.outShape(x)...)
	} else {
		out = new64(x.shape...)
	}
	hw := g.h * g.w
	for c := range g.nc {
		for oy := range g.oh {
			for ox := range g.ow {
				y0, y1, x0, x1, div := g.avgWindow(oy, ox)
				o := (c*g.oh+oy)*g.ow + ox
				if gy == nil {
					var s float64
					for iy := y0; iy < y1; iy++ {
						for ix := x0; ix < x1; ix++ {
							s += x.f64[c*hw+iy*g.w+ix]
						}
					}
					out.f64[o] = s / float64(div)
					continue
				}
				v := gy.f64[o] / float64(div) // d(mean)/dx = 1/divisor
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						out.f64[c*hw+iy*g.w+ix] += v
					}
				}
			}
		}
	}
	return out
}
