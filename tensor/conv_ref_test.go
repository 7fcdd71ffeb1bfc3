package tensor

import "fmt"

// The per-image lowering that Conv2d used before the batched one: one
// im2col and one small GEMM per image, run against the plain reference
// GEMM. It is the definition the batched lowering is tested against.

// im2col writes one image's patches as a [c·kh·kw, oh·ow] matrix: row
// (ci,ki,kj) holds the input pixel each output position sees through that
// kernel tap (0 in the padding).
func (g *convGeom) refIm2col(img, cols []float32) {
	ohw := g.oh * g.ow
	for ci := range g.c {
		for ki := range g.kh {
			for kj := range g.kw {
				row := cols[((ci*g.kh+ki)*g.kw+kj)*ohw:][:ohw]
				for oy := range g.oh {
					iy := oy*g.p.Stride[0] - g.p.Padding[0] + ki*g.p.Dilation[0]
					dst := row[oy*g.ow : (oy+1)*g.ow]
					if iy < 0 || iy >= g.h {
						clear(dst)
						continue
					}
					src := img[(ci*g.h+iy)*g.w:][:g.w]
					for ox := range dst {
						ix := ox*g.p.Stride[1] - g.p.Padding[1] + kj*g.p.Dilation[1]
						if ix < 0 || ix >= g.w {
							dst[ox] = 0
						} else {
							dst[ox] = src[ix]
						}
					}
				}
			}
		}
	}
}

// col2im adds a [c·kh·kw, oh·ow] patch matrix back into an image: the
// adjoint of im2col.
func (g *convGeom) refCol2im(cols, img []float32) {
	ohw := g.oh * g.ow
	for ci := range g.c {
		for ki := range g.kh {
			for kj := range g.kw {
				row := cols[((ci*g.kh+ki)*g.kw+kj)*ohw:][:ohw]
				for oy := range g.oh {
					iy := oy*g.p.Stride[0] - g.p.Padding[0] + ki*g.p.Dilation[0]
					if iy < 0 || iy >= g.h {
						continue
					}
					dst := img[(ci*g.h+iy)*g.w:][:g.w]
					src := row[oy*g.ow : (oy+1)*g.ow]
					for ox, v := range src {
						ix := ox*g.p.Stride[1] - g.p.Padding[1] + kj*g.p.Dilation[1]
						if ix >= 0 && ix < g.w {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

// Conv2d returns the 2-D cross-correlation of x [N,C,H,W] with weight
// [O,C/groups,kh,kw], plus bias [O] when bias is not nil: the forward pass of
// torch.nn.functional.conv2d, lowered to GEMM through im2col.
func refConv2d(x, w, bias *Tensor, p ConvParams) *Tensor {
	g := newConvGeom(x, w, p)
	if bias != nil && (bias.Dims() != 1 || bias.shape[0] != g.o) {
		panic(fmt.Sprintf("tensor.Conv2d: bias %v for %d output channels", bias.shape, g.o))
	}
	ohw := g.oh * g.ow
	out := Zeros(g.n, g.o, g.oh, g.ow)
	cols := make([]float32, g.c*g.kh*g.kw*ohw)
	for n := range g.n {
		g.refIm2col(x.data[n*g.c*g.h*g.w:][:g.c*g.h*g.w], cols)
		for gi := range g.g {
			referenceSgemm(false, false, g.og, ohw, g.kSize, 1,
				w.data[gi*g.og*g.kSize:], g.kSize,
				cols[gi*g.kSize*ohw:], ohw,
				0, out.data[(n*g.o+gi*g.og)*ohw:], ohw)
		}
		if bias != nil {
			for o := range g.o {
				dst := out.data[(n*g.o+o)*ohw:][:ohw]
				for i := range dst {
					dst[i] += bias.data[o]
				}
			}
		}
	}
	return out
}

// Conv2dBackward returns the gradients of Conv2d with respect to x and the
// weight, given the upstream gradient gy [N,O,oh,ow]. A gradient not asked
// for is nil. The bias gradient is gy summed over N, oh and ow.
func refConv2dBackward(x, w, gy *Tensor, p ConvParams, wantX, wantW bool) (dx, dw *Tensor) {
	g := newConvGeom(x, w, p)
	if !EqualShapes(gy.shape, []int{g.n, g.o, g.oh, g.ow}) {
		panic(fmt.Sprintf("tensor.Conv2dBackward: gradient %v for output [%d %d %d %d]", gy.shape, g.n, g.o, g.oh, g.ow))
	}
	ohw := g.oh * g.ow
	cols := make([]float32, g.c*g.kh*g.kw*ohw)
	if wantX {
		dx = Zeros(x.shape...)
	}
	if wantW {
		dw = Zeros(w.shape...)
	}
	for n := range g.n {
		gyn := gy.data[n*g.o*ohw:]
		if wantW {
			// dW_g += gy_g · cols_gᵀ
			g.refIm2col(x.data[n*g.c*g.h*g.w:][:g.c*g.h*g.w], cols)
			for gi := range g.g {
				referenceSgemm(false, true, g.og, g.kSize, ohw, 1,
					gyn[gi*g.og*ohw:], ohw,
					cols[gi*g.kSize*ohw:], ohw,
					1, dw.data[gi*g.og*g.kSize:], g.kSize)
			}
		}
		if wantX {
			// dcols_g = W_gᵀ · gy_g, then scattered back by col2im.
			for gi := range g.g {
				referenceSgemm(true, false, g.kSize, ohw, g.og, 1,
					w.data[gi*g.og*g.kSize:], g.kSize,
					gyn[gi*g.og*ohw:], ohw,
					0, cols[gi*g.kSize*ohw:], ohw)
			}
			g.refCol2im(cols, dx.data[n*g.c*g.h*g.w:][:g.c*g.h*g.w])
		}
	}
	return dx, dw
}
