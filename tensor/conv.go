package tensor

import (
	"fmt"
	"math"
)

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

// Conv2d returns the 2-D cross-correlation of x [N,C,H,W] with weight
// [O,C/groups,kh,kw], plus bias [O] when bias is not nil: the forward pass of
// torch.nn.functional.conv2d, lowered to GEMM through im2col over whole
// chunks of the batch.
func Conv2d(x, w, bias *Tensor, p ConvParams) *Tensor {
	out, _ := conv2d(x, w, bias, p, false, false)
	return out
}

// ConvCols holds the im2col columns of a Conv2d forward pass, so that the
// backward pass computes the weight gradient without building them again.
type ConvCols struct {
	data []float32
}

// Release hands the columns back to the pool; c must not be used after.
// A nil c is allowed.
func (c *ConvCols) Release() {
	if c != nil && c.data != nil {
		putFloats(c.data)
		c.data = nil
	}
}

// Conv2dKeep is Conv2d that also returns the columns it built, for
// Conv2dGradsKeep. The columns are nil when the batch took several
// lowering chunks (the backward pass then builds them chunk by chunk).
func Conv2dKeep(x, w, bias *Tensor, p ConvParams) (*Tensor, *ConvCols) {
	return conv2d(x, w, bias, p, true, false)
}

// Conv2dReLUKeep is Conv2dKeep followed by ReLU, max(y, 0), applied in the
// same pass that adds the bias: bit for bit ReLU(Conv2d(x, w, bias, p)),
// without a separate pass over the output. Its backward pass is
// Conv2dReLUGradsKeep.
func Conv2dReLUKeep(x, w, bias *Tensor, p ConvParams) (*Tensor, *ConvCols) {
	return conv2d(x, w, bias, p, true, true)
}

func conv2d(x, w, bias *Tensor, p ConvParams, keep, relu bool) (*Tensor, *ConvCols) {
	g := newConvGeom(x, w, p)
	var bd []float32
	if bias != nil {
		if bias.Dims() != 1 || bias.shape[0] != g.o {
			panic(fmt.Sprintf("tensor.Conv2d: bias %v for %d output channels", bias.shape, g.o))
		}
		bd = bias.data
	}
	out := Empty(g.n, g.o, g.oh, g.ow)
	ohw := g.oh * g.ow
	nb := g.chunk()
	cols := getFloats(g.c * g.kh * g.kw * nb * ohw)
	y := getFloats(g.o * nb * ohw)
	for n0 := 0; n0 < g.n; n0 += nb {
		cnt := min(nb, g.n-n0)
		ld := cnt * ohw
		g.im2colBatch(x.data, n0, cnt, cols)
		if g.posMajor() {
			for gi := range g.g {
				// Y_gᵀ [cnt·ohw, og] = cols_gᵀ · W_gᵀ
				Gemm(true, true, ld, g.og, g.kSize,
					cols[gi*g.kSize*ld:], ld,
					w.data[gi*g.og*g.kSize:], g.kSize,
					0, y[gi*g.og*ld:], g.og)
			}
			g.layoutPosMajor(y, n0, cnt, bd, relu, out.data)
			continue
		}
		for gi := range g.g {
			// Y_g [og, cnt·ohw] = W_g [og, kSize] · cols_g [kSize, cnt·ohw]
			Gemm(false, false, g.og, ld, g.kSize,
				w.data[gi*g.og*g.kSize:], g.kSize,
				cols[gi*g.kSize*ld:], ld,
				0, y[gi*g.og*ld:], ld)
		}
		// [O, cnt, ohw] -> [cnt, O, ohw], adding the bias (and applying
		// the ReLU) on the way.
		parallelFor(cnt, 1, func(i0, i1 int) {
			for i := i0; i < i1; i++ {
				for o := range g.o {
					dst := out.data[((n0+i)*g.o+o)*ohw:][:ohw]
					src := y[o*ld+i*ohw:][:ohw]
					var b float32
					if bd != nil {
						b = bd[o]
					}
					switch {
					case relu && bd != nil:
						for j, v := range src {
							dst[j] = max(v+b, 0)
						}
					case relu:
						for j, v := range src {
							dst[j] = max(v, 0)
						}
					case bd != nil:
						for j, v := range src {
							dst[j] = v + b
						}
					default:
						copy(dst, src)
					}
				}
			}
		})
	}
	putFloats(y)
	if keep && nb >= g.n {
		return out, &ConvCols{data: cols}
	}
	putFloats(cols)
	return out, nil
}

// posMajor reports whether the forward GEMM runs with output positions as
// its rows (Yᵀ = colsᵀ·Wᵀ) rather than output channels (Y = W·cols). With
// few output channels and many positions, positions as rows tile the
// micro-kernel without ragged edges (14-row tiles of positions against
// 32-wide tiles of channels) and pack the large operand through the
// fast transposed-A path; the sums are the same products added in the same
// order, so the results are bit-identical either way. With a short kernel
// (a single input channel) the GEMM is bound by its stores and the extra
// transposition would not pay.
func (g *convGeom) posMajor() bool { return g.kSize >= 32 && g.og%16 == 0 }

// layoutPosMajor turns the position-major GEMM result (group gi at
// y[gi·og·ld:], [cnt·ohw, og]) into images n0..n0+cnt-1 of out (NCHW),
// adding the bias and applying the ReLU on the way. It transposes blocks
// of 16 positions, which stay in L1 while all channels are written.
func (g *convGeom) layoutPosMajor(y []float32, n0, cnt int, bd []float32, relu bool, out []float32) {
	ohw := g.oh * g.ow
	ld := cnt * ohw
	parallelFor(cnt, 1, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			for gi := range g.g {
				yg := y[gi*g.og*ld+i*ohw*g.og:][:ohw*g.og]
				for p0 := 0; p0 < ohw; p0 += 16 {
					np := min(16, ohw-p0)
					for o := range g.og {
						oc := gi*g.og + o
						dst := out[((n0+i)*g.o+oc)*ohw+p0:][:np]
						src := yg[p0*g.og+o:]
						var b float32
						if bd != nil {
							b = bd[oc]
						}
						switch {
						case relu && bd != nil:
							for j := range dst {
								dst[j] = max(src[j*g.og]+b, 0)
							}
						case relu:
							for j := range dst {
								dst[j] = max(src[j*g.og], 0)
							}
						case bd != nil:
							for j := range dst {
								dst[j] = src[j*g.og] + b
							}
						default:
							for j := range dst {
								dst[j] = src[j*g.og]
							}
						}
					}
				}
			}
		}
	})
}

// Conv2dBackward returns the gradients of Conv2d with respect to x and the
// weight, given the upstream gradient gy [N,O,oh,ow]. A gradient not asked
// for is nil. The bias gradient is gy summed over N, oh and ow.
func Conv2dBackward(x, w, gy *Tensor, p ConvParams, wantX, wantW bool) (dx, dw *Tensor) {
	dx, dw, _ = Conv2dGrads(x, w, gy, p, wantX, wantW, false)
	return dx, dw
}

// Conv2dGrads returns the gradients of Conv2d with respect to x, the weight
// and the bias, given the upstream gradient gy [N,O,oh,ow]; a gradient not
// asked for is nil. The results come from the pool that Recycle fills.
//
// dW = Σ_chunks G·colsᵀ accumulates over the chunks of the batch in order;
// dx = col2im(Wᵀ·G); db[o] = Σ_n Σ_{y,x} gy[n,o,y,x], summed over positions
// first, then over images in order. Every sum runs in a fixed order, so the
// results do not depend on the thread count.
func Conv2dGrads(x, w, gy *Tensor, p ConvParams, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	return Conv2dGradsKeep(x, w, gy, p, nil, wantX, wantW, wantB)
}

// Conv2dGradsKeep is Conv2dGrads reusing the columns that Conv2dKeep built
// for the same x, w and p (nil builds them); it releases them.
func Conv2dGradsKeep(x, w, gy *Tensor, p ConvParams, saved *ConvCols, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	return conv2dGrads(x, w, gy, nil, p, saved, wantX, wantW, wantB)
}

// Conv2dReLUGradsKeep is the backward pass of Conv2dReLUKeep: y is the
// forward's output, and the gradient reaching the convolution is gy where
// y > 0 and +0 elsewhere, exactly as ReLU's backward pass makes it; that
// mask is applied while gy is rearranged for the GEMMs, with no pass of its
// own. It releases saved.
func Conv2dReLUGradsKeep(x, w, y, gy *Tensor, p ConvParams, saved *ConvCols, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	if !EqualShapes(y.shape, gy.shape) {
		panic(fmt.Sprintf("tensor.Conv2dReLUGradsKeep: output %v and gradient %v differ in shape", y.shape, gy.shape))
	}
	return conv2dGrads(x, w, gy, y.data, p, saved, wantX, wantW, wantB)
}

// reluMask returns g where y > 0 and +0 elsewhere, branch-free (the signs
// of activations are random, so a branch mispredicts half the time):
// y = max(x, 0) is +0, positive, +Inf or NaN, and y > 0 holds for
// 0 < bits <= +Inf.
func reluMask(g, y float32) float32 {
	b := math.Float32bits(y)
	keep := uint32(int32(b-1-0x7f800000)>>31) & uint32(int32(-b)>>31)
	return math.Float32frombits(math.Float32bits(g) & keep)
}

// conv2dGrads computes the gradients of a convolution whose output gradient
// is gy, masked by ReLU's derivative at the output mask when mask is not
// nil. The bias gradient is summed while gy is rearranged into the GEMM's
// layout, per image over positions, then over images in order.
func conv2dGrads(x, w, gy *Tensor, mask []float32, p ConvParams, saved *ConvCols, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	g := newConvGeom(x, w, p)
	if !EqualShapes(gy.shape, []int{g.n, g.o, g.oh, g.ow}) {
		panic(fmt.Sprintf("tensor.Conv2dBackward: gradient %v for output [%d %d %d %d]", gy.shape, g.n, g.o, g.oh, g.ow))
	}
	ohw := g.oh * g.ow
	var part []float32 // part[n*O+o]: Σ over positions of image n, channel o
	if wantB {
		db = Empty(g.o)
		part = getFloats(g.n * g.o)
		defer putFloats(part)
	}
	if !wantX && !wantW {
		// Only the bias: sum the (masked) gradient without moving it.
		parallelFor(g.n, 1, func(i0, i1 int) {
			for i := i0; i < i1; i++ {
				for o := range g.o {
					src := gy.data[(i*g.o+o)*ohw:][:ohw]
					var sp float32
					if mask == nil {
						for _, v := range src {
							sp += v
						}
					} else {
						m := mask[(i*g.o+o)*ohw:][:ohw]
						for j, v := range src {
							sp += reluMask(v, m[j])
						}
					}
					part[i*g.o+o] = sp
				}
			}
		})
		if wantB {
			sumParts(db, part, g.n, g.o)
		}
		saved.Release()
		return dx, dw, db
	}
	if wantX {
		dx = emptyLike(x)
	}
	if wantW {
		dw = emptyLike(w)
		if g.n == 0 {
			clear(dw.data)
		}
	}
	nb := g.chunk()
	var cols []float32
	if saved != nil && saved.data != nil && nb >= g.n && len(saved.data) == g.c*g.kh*g.kw*nb*ohw {
		cols, saved.data = saved.data, nil
	} else {
		saved.Release()
		saved = nil
		cols = getFloats(g.c * g.kh * g.kw * nb * ohw)
	}
	gm := getFloats(g.o * nb * ohw)
	for n0 := 0; n0 < g.n; n0 += nb {
		cnt := min(nb, g.n-n0)
		ld := cnt * ohw
		// G [O, cnt·ohw] from gy [cnt, O, ohw], masked by the ReLU and
		// summed for the bias on the way.
		parallelFor(cnt, 1, func(i0, i1 int) {
			for i := i0; i < i1; i++ {
				for o := range g.o {
					dst := gm[o*ld+i*ohw:][:ohw]
					src := gy.data[((n0+i)*g.o+o)*ohw:][:ohw]
					if mask != nil {
						m := mask[((n0+i)*g.o+o)*ohw:][:ohw]
						for j, v := range src {
							dst[j] = reluMask(v, m[j])
						}
					} else {
						copy(dst, src)
					}
					if wantB {
						var sp float32
						for _, v := range dst {
							sp += v
						}
						part[(n0+i)*g.o+o] = sp
					}
				}
			}
		})
		if wantW {
			// dW_g += G_g · cols_gᵀ
			if saved == nil {
				g.im2colBatch(x.data, n0, cnt, cols)
			}
			beta := float32(1)
			if n0 == 0 {
				beta = 0
			}
			for gi := range g.g {
				Gemm(false, true, g.og, g.kSize, ld,
					gm[gi*g.og*ld:], ld,
					cols[gi*g.kSize*ld:], ld,
					beta, dw.data[gi*g.og*g.kSize:], g.kSize)
			}
		}
		if wantX {
			// dcols_g = W_gᵀ · G_g, then scattered back by col2im.
			for gi := range g.g {
				Gemm(true, false, g.kSize, ld, g.og,
					w.data[gi*g.og*g.kSize:], g.kSize,
					gm[gi*g.og*ld:], ld,
					0, cols[gi*g.kSize*ld:], ld)
			}
			g.col2imBatch(cols, n0, cnt, dx.data)
		}
	}
	putFloats(cols)
	putFloats(gm)
	if wantB {
		sumParts(db, part, g.n, g.o)
	}
	return dx, dw, db
}

// sumParts sets db[c] = Σ_i part[i*o+c], over the n images in order.
func sumParts(db *Tensor, part []float32, n, o int) {
	for c := range o {
		var s float32
		for i := range n {
			s += part[i*o+c]
		}
		db.data[c] = s
	}
}
