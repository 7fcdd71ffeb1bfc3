package tensor

import "fmt"

// ConvParams are the attributes of a 2-D convolution, as in
// torch.nn.functional.conv2d: [height, width] pairs. Zero values mean the
// defaults (stride 1, padding 0, dilation 1, groups 1).
type ConvParams struct {
	Stride, Padding, Dilation [2]int
	Groups                    int
}

func (p ConvParams) withDefaults() ConvParams {
	for i := range 2 {
		if p.Stride[i] == 0 {
			p.Stride[i] = 1
		}
		if p.Dilation[i] == 0 {
			p.Dilation[i] = 1
		}
	}
	if p.Groups == 0 {
		p.Groups = 1
	}
	return p
}

// ConvOutSize is the output length of a convolution or pooling window of
// size k over in elements: floor((in + 2·pad - dil·(k-1) - 1)/stride) + 1.
func ConvOutSize(in, k, stride, pad, dil int) int {
	return (in+2*pad-dil*(k-1)-1)/stride + 1
}

// convGeom holds the sizes of one convolution.
type convGeom struct {
	n, c, h, w       int // input
	o, kh, kw        int // weight
	oh, ow           int // output
	g, cg, og, kSize int // groups, channels and outputs per group, cg·kh·kw
	p                ConvParams
}

func newConvGeom(x, w *Tensor, p ConvParams) convGeom {
	p = p.withDefaults()
	if x.Dims() != 4 || w.Dims() != 4 {
		panic(fmt.Sprintf("tensor.Conv2d: input %v and weight %v must both be 4-D (NCHW, OIHW)", x.shape, w.shape))
	}
	g := convGeom{n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
		o: w.shape[0], kh: w.shape[2], kw: w.shape[3], g: p.Groups, p: p}
	if p.Stride[0] < 1 || p.Stride[1] < 1 || p.Dilation[0] < 1 || p.Dilation[1] < 1 || p.Padding[0] < 0 || p.Padding[1] < 0 || p.Groups < 1 {
		panic(fmt.Sprintf("tensor.Conv2d: invalid parameters %+v", p))
	}
	if g.c%g.g != 0 || g.o%g.g != 0 || w.shape[1]*g.g != g.c {
		panic(fmt.Sprintf("tensor.Conv2d: input %v and weight %v do not fit groups=%d", x.shape, w.shape, g.g))
	}
	g.cg, g.og = g.c/g.g, g.o/g.g
	g.kSize = g.cg * g.kh * g.kw
	g.oh = ConvOutSize(g.h, g.kh, p.Stride[0], p.Padding[0], p.Dilation[0])
	g.ow = ConvOutSize(g.w, g.kw, p.Stride[1], p.Padding[1], p.Dilation[1])
	if g.oh < 1 || g.ow < 1 {
		panic(fmt.Sprintf("tensor.Conv2d: input %v too small for weight %v with %+v", x.shape, w.shape, p))
	}
	return g
}

// im2col writes one image's patches as a [c·kh·kw, oh·ow] matrix: row
// (ci,ki,kj) holds the input pixel each output position sees through that
// kernel tap (0 in the padding).
func (g *convGeom) im2col(img, cols []float32) {
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
func (g *convGeom) col2im(cols, img []float32) {
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
func Conv2d(x, w, bias *Tensor, p ConvParams) *Tensor {
	g := newConvGeom(x, w, p)
	if bias != nil && (bias.Dims() != 1 || bias.shape[0] != g.o) {
		panic(fmt.Sprintf("tensor.Conv2d: bias %v for %d output channels", bias.shape, g.o))
	}
	ohw := g.oh * g.ow
	out := Zeros(g.n, g.o, g.oh, g.ow)
	cols := make([]float32, g.c*g.kh*g.kw*ohw)
	for n := range g.n {
		g.im2col(x.data[n*g.c*g.h*g.w:][:g.c*g.h*g.w], cols)
		for gi := range g.g {
			Gemm(false, false, g.og, ohw, g.kSize,
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
func Conv2dBackward(x, w, gy *Tensor, p ConvParams, wantX, wantW bool) (dx, dw *Tensor) {
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
			g.im2col(x.data[n*g.c*g.h*g.w:][:g.c*g.h*g.w], cols)
			for gi := range g.g {
				Gemm(false, true, g.og, g.kSize, ohw,
					gyn[gi*g.og*ohw:], ohw,
					cols[gi*g.kSize*ohw:], ohw,
					1, dw.data[gi*g.og*g.kSize:], g.kSize)
			}
		}
		if wantX {
			// dcols_g = W_gᵀ · gy_g, then scattered back by col2im.
			for gi := range g.g {
				Gemm(true, false, g.kSize, ohw, g.og,
					w.data[gi*g.og*g.kSize:], g.kSize,
					gyn[gi*g.og*ohw:], ohw,
					0, cols[gi*g.kSize*ohw:], ohw)
			}
			g.col2im(cols, dx.data[n*g.c*g.h*g.w:][:g.c*g.h*g.w])
		}
	}
	return dx, dw
}
