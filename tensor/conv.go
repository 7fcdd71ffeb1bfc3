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
	rowByRow         bool // tests: im2col and col2im one output row at a time
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
	x, w, bias = contig(x), contig(w), contig(bias)
	if is64("tensor.Conv2d", x, w, bias) {
		return conv64(x, w, bias, p, false)
	}
	out, _ := conv2d(x, w, bias, p, false, false)
	return out
}

// ConvCols holds the im2col columns of a Conv2d forward pass, so that the
// backward pass computes the weight gradient without building them again.
type ConvCols struct {
	data []float32
	wino *winoSaved // the input transform of Conv2dWinogradKeep
}

// Release hands the columns back to the pool; c must not be used after.
// A nil c is allowed.
func (c *ConvCols) Release() {
	if c != nil && c.data != nil {
		putFloats(c.data)
		c.data = nil
	}
	if c != nil && c.wino != nil {
		c.wino.release()
		c.wino = nil
	}
}

// Conv2dKeep is Conv2d that also returns the columns it built, for
// Conv2dGradsKeep. The columns are nil when the batch took several
// lowering chunks (the backward pass then builds them chunk by chunk).
func Conv2dKeep(x, w, bias *Tensor, p ConvParams) (*Tensor, *ConvCols) {
	x, w, bias = contig(x), contig(w), contig(bias)
	if is64("tensor.Conv2d", x, w, bias) {
		return conv64(x, w, bias, p, false), nil
	}
	return conv2d(x, w, bias, p, true, false)
}

// Conv2dReLUKeep is Conv2dKeep followed by ReLU, max(y, 0), applied in the
// same pass that adds the bias: bit for bit ReLU(Conv2d(x, w, bias, p)),
// without a separate pass over the output. Its backward pass is
// Conv2dReLUGradsKeep.
func Conv2dReLUKeep(x, w, bias *Tensor, p ConvParams) (*Tensor, *ConvCols) {
	x, w, bias = contig(x), contig(w), contig(bias)
	if is64("tensor.Conv2d", x, w, bias) {
		return conv64(x, w, bias, p, true), nil
	}
	return conv2d(x, w, bias, p, true, true)
}

// Conv2dReLUMaxPool2Keep returns MaxPool2d(ReLU(Conv2d(x, w, bias, p)))
// with a 2×2 window, stride 2, no padding (as MaxPool2d with
// PoolParams{Kernel: [2]int{2, 2}}), bit for bit, together with the argmax
// indices MaxPool2d returns (from the pool that RecycleInt32s fills) and the
// columns for the weight gradient. The unpooled activations are built one
// plane at a time in a scratch buffer and never written out: the output
// and the pooling's input pass over memory once instead of three times.
// Its backward pass is Conv2dReLUMaxPool2GradsKeep.
func Conv2dReLUMaxPool2Keep(x, w, bias *Tensor, p ConvParams) (pooled *Tensor, arg []int32, cols *ConvCols) {
	x, w, bias = contig(x), contig(w), contig(bias)
	if is64("tensor.Conv2d", x, w, bias) {
		pooled, arg = maxPool64(conv64(x, w, bias, p, true), PoolParams{Kernel: [2]int{2, 2}})
		return pooled, arg, nil
	}
	g := newConvGeom(x, w, p)
	ph, pw := g.oh/2, g.ow/2
	if ph < 1 || pw < 1 {
		panic(fmt.Sprintf("tensor.Conv2dReLUMaxPool2Keep: output %d×%d too small for 2×2 pooling", g.oh, g.ow))
	}
	pooled = Empty(g.n, g.o, ph, pw)
	arg = Int32s(len(pooled.data))
	cols = g.forward(x, w, bias, true, convOut{pool: true, pooled: pooled.data, arg: arg, ph: ph, pw: pw})
	return pooled, arg, cols
}

// Conv2dReLUMaxPool2GradsKeep is the backward pass of
// Conv2dReLUMaxPool2Keep: pooled and arg are its results and gp the
// gradient of pooled. The gradient reaching the convolution is built
// plane by plane as MaxPool2dBackward and ReLU's backward pass would make
// it, bit for bit, directly in the GEMM's layout. It releases saved (not
// arg).
func Conv2dReLUMaxPool2GradsKeep(x, w, pooled, gp *Tensor, arg []int32, p ConvParams, saved *ConvCols, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	x, w, pooled, gp = contig(x), contig(w), contig(pooled), contig(gp)
	if is64("tensor.Conv2dReLUMaxPool2GradsKeep", x, w, pooled, gp) {
		g := newConvGeom(x, w, p)
		// the pooling's gradient at the argmax, where ReLU passed it (y > 0)
		masked := zip64("tensor.Conv2dReLUMaxPool2GradsKeep", gp, pooled, func(g, y float64) float64 {
			if y > 0 {
				return g
			}
			return 0
		})
		gy := maxPoolBackward64(new64(g.n, g.o, g.oh, g.ow), masked, arg)
		return convGrads64(x, w, gy, p, wantX, wantW, wantB)
	}
	g := newConvGeom(x, w, p)
	ph, pw := g.oh/2, g.ow/2
	if !EqualShapes(gp.shape, []int{g.n, g.o, ph, pw}) || !EqualShapes(pooled.shape, gp.shape) || len(arg) != len(gp.data) {
		panic(fmt.Sprintf("tensor.Conv2dReLUMaxPool2GradsKeep: gradient %v, output %v and %d indices for pooled output [%d %d %d %d]",
			gp.shape, pooled.shape, len(arg), g.n, g.o, ph, pw))
	}
	return conv2dGrads(x, w, &convGrad{gp: gp.data, arg: arg, pooled: pooled.data, ph: ph, pw: pw}, p, saved, wantX, wantW, wantB)
}

// convOut says what the forward pass makes of the GEMM result: the bias
// is always added; relu applies max(·, 0); pool (which implies relu) pools
// 2×2 windows with stride 2 into pooled and arg instead of writing the full
// output.
type convOut struct {
	relu, pool  bool
	out, pooled []float32
	arg         []int32
	ph, pw      int
	bn          *convBN   // a batch norm between the bias and the ReLU
	res         []float32 // with bn: a residual added after it, before the ReLU
	wino        bool      // Winograd F(2×2, 3×3) where winograd allows (nothing kept)
	wu          []float32 // with wino, the transformed weight if already made (WinogradFilter)
}

func conv2d(x, w, bias *Tensor, p ConvParams, keep, relu bool) (*Tensor, *ConvCols) {
	g := newConvGeom(x, w, p)
	out := Empty(g.n, g.o, g.oh, g.ow)
	cols := g.forward(x, w, bias, keep, convOut{relu: relu, out: out.data})
	return out, cols
}

// forward runs the convolution's GEMMs chunk by chunk and lays their
// results out as dst says; with keep (and a single chunk) it returns the
// columns for the weight gradient.
func (g *convGeom) forward(x, w, bias *Tensor, keep bool, dst convOut) *ConvCols {
	var bd []float32
	if bias != nil {
		if bias.Dims() != 1 || bias.shape[0] != g.o {
			panic(fmt.Sprintf("tensor.Conv2d: bias %v for %d output channels", bias.shape, g.o))
		}
		bd = bias.data
	}
	if dst.wino && !keep && g.winograd() && g.n >= winoBatch() {
		g.winoForward(x, w, bias, dst)
		return nil
	}
	ohw := g.oh * g.ow
	nb := g.chunk()
	// The columns are no longer kept for the weight gradient, which
	// lowers the images again block by block (gradsBlocked): writing the
	// batch's columns out to memory and reading them back costs more.
	keepCols := keep && nb >= g.n && keepColumns
	var cols []float32
	if keepCols {
		cols = getFloats(g.c * g.kh * g.kw * nb * ohw)
	}
	pm := g.posMajor()
	// Each worker lowers a few images at a time (as many as L2 holds) and
	// runs their product alone, laying the result out while it is still
	// in L2: the columns and the product never make a trip to memory and
	// back. Every output element is the same sum (over kSize) as in one
	// batch-wide product, and the blocks depend on the geometry only.
	for n0 := 0; n0 < g.n; n0 += nb {
		cnt := min(nb, g.n-n0)
		ld := cnt * ohw
		sub := g.blockImages(cnt)
		nsub := (cnt + sub - 1) / sub
		// A single block (one image, in inference) would leave the other
		// workers idle: its product, lowering and layout are split over
		// them instead (by output tiles, input and output channels).
		mul := sgemmSerial
		lower := g.im2colChannels
		layout := g.layoutRange
		if nsub == 1 {
			mul = sgemm
			lower = func(x []float32, n0, cnt, i0, i1, _, _ int, cols []float32) {
				parallelFor(g.c, 1, func(c0, c1 int) { g.im2colChannels(x, n0, cnt, i0, i1, c0, c1, cols) })
			}
			layout = func(y []float32, pm bool, n0, cnt, i0, i1, _, _ int, bd []float32, dst convOut) {
				parallelFor(g.o, 1, func(o0, o1 int) { g.layoutRange(y, pm, n0, cnt, i0, i1, o0, o1, bd, dst) })
			}
		}
		parallelFor(nsub, 1, func(s0, s1 int) {
			ys := getFloats(g.o * sub * ohw)
			defer putFloats(ys)
			var cs []float32
			if !keepCols {
				cs = getFloats(g.c * g.kh * g.kw * sub * ohw)
				defer putFloats(cs)
			}
			for s := s0; s < s1; s++ {
				i0 := s * sub
				m := min(sub, cnt-i0)
				lds := m * ohw
				a, lda, aoff := cs, lds, 0
				if keepCols {
					// Into the batch's columns, kept for the weight
					// gradient.
					lower(x.data, n0, cnt, i0, i0+m, 0, g.c, cols)
					a, lda, aoff = cols, ld, i0*ohw
				} else {
					lower(x.data, n0+i0, m, 0, m, 0, g.c, cs)
				}
				for gi := range g.g {
					if pm {
						// Y_gᵀ [m·ohw, og] = cols_gᵀ · W_gᵀ
						mul(true, true, lds, g.og, g.kSize, 1,
							a[gi*g.kSize*lda+aoff:], lda,
							w.data[gi*g.og*g.kSize:], g.kSize,
							0, ys[gi*g.og*lds:], g.og)
					} else {
						// Y_g [og, m·ohw] = W_g [og, kSize] · cols_g [kSize, m·ohw]
						mul(false, false, g.og, lds, g.kSize, 1,
							w.data[gi*g.og*g.kSize:], g.kSize,
							a[gi*g.kSize*lda+aoff:], lda,
							0, ys[gi*g.og*lds:], lds)
					}
				}
				layout(ys, pm, n0+i0, m, 0, m, 0, g.o, bd, dst)
			}
		})
	}
	if keepCols {
		return &ConvCols{data: cols}
	}
	return nil
}

// keepColumns makes the forward pass keep its columns for the weight
// gradient (ConvCols), as it did before gradsBlocked; off, a hook for tests
// of the kept path.
var keepColumns = false

// layoutRange turns the GEMM result of images n0..n0+cnt-1 into NCHW planes,
// adding the bias (and applying the ReLU, and pooling) on the way. The
// result is channel-major (group gi at y[gi·og·ld:], [og, cnt·ohw]) or,
// with pm, position-major ([cnt·ohw, og]). A pooled plane is first built
// in a scratch plane that stays in L1, then pooled by maxPool2x2, so that
// its values are exactly those of the unfused ops.
// Only images n0+i0..n0+i1-1 are laid out, and of them only output
// channels o0..o1-1, on the calling goroutine.
func (g *convGeom) layoutRange(y []float32, pm bool, n0, cnt, i0, i1, o0, o1 int, bd []float32, dst convOut) {
	ohw := g.oh * g.ow
	ld := cnt * ohw
	pohw := dst.ph * dst.pw
	{
		var scratch []float32
		if dst.pool {
			scratch = getFloats(ohw)
			defer putFloats(scratch)
		}
		for i := i0; i < i1; i++ {
			for oc := o0; oc < o1; oc++ {
				gi, o := oc/g.og, oc%g.og
				var b float32
				if bd != nil {
					b = bd[oc]
				}
				var d []float32
				if dst.pool {
					d = scratch
				} else {
					d = dst.out[((n0+i)*g.o+oc)*ohw:][:ohw]
				}
				stride := 1
				var src []float32
				if pm {
					src = y[gi*g.og*ld+i*ohw*g.og+o:][:(ohw-1)*g.og+1]
					stride = g.og
				} else {
					src = y[gi*g.og*ld+o*ld+i*ohw:][:ohw]
				}
				switch {
				case dst.bn != nil && dst.res != nil:
					biasReLU(d, src, stride, b, bd != nil, false)
					dst.bn.apply(d, oc, false)
					addResidual(d, dst.res[((n0+i)*g.o+oc)*ohw:][:ohw], dst.relu)
				case dst.bn != nil:
					biasReLU(d, src, stride, b, bd != nil, false)
					dst.bn.apply(d, oc, dst.relu || dst.pool)
				default:
					biasReLU(d, src, stride, b, bd != nil, dst.relu || dst.pool)
				}
				if dst.pool {
					k := ((n0+i)*g.o + oc) * pohw
					maxPool2x2(scratch, dst.pooled[k:][:pohw], dst.arg[k:][:pohw], g.ow, dst.ph, dst.pw)
				}
			}
		}
	}
}

// biasReLU sets d[j] = src[j·stride] + b (without a bias, src[j·stride]
// itself: adding +0 would turn -0 into +0), then max(·, 0) with relu: the
// expressions of the separate ops, so that the fused passes give their bits.
func biasReLU(d, src []float32, stride int, b float32, hasBias, relu bool) {
	if stride == 1 && (hasBias || relu) {
		// Without a bias, max(x+0, 0) = max(x, 0) for every x.
		src = src[:len(d)]
		k := biasVec(d, src, b, relu)
		d, src = d[k:], src[k:]
		if relu {
			for j, v := range src {
				d[j] = max(v+b, 0)
			}
		} else {
			for j, v := range src {
				d[j] = v + b
			}
		}
		return
	}
	if stride > 1 && gatherBias(d, src, stride, b, hasBias, relu) {
		return
	}
	switch {
	case hasBias && relu:
		for j := range d {
			d[j] = max(src[j*stride]+b, 0)
		}
	case hasBias:
		for j := range d {
			d[j] = src[j*stride] + b
		}
	case relu:
		for j := range d {
			d[j] = max(src[j*stride], 0)
		}
	default:
		for j := range d {
			d[j] = src[j*stride]
		}
	}
}

// posMajor reports whether the forward GEMM runs with output positions as
// its rows (Yᵀ = colsᵀ·Wᵀ) rather than output channels (Y = W·cols). With
// few output channels and many positions, positions as rows tile the
// micro-kernel without ragged edges (14-row tiles of positions against
// 32-wide tiles of channels) and pack the large operand through the
// fast transposed-A path; the sums are the same products added in the same
// order, so the results are bit-identical either way. With a short kernel
// (a single input channel) the GEMM is bound by its stores and the extra
// transposition would not pay. With 56 to 128 output channels channel rows
// win instead: the GEMM then reads the columns in place, with no packing
// at all (internal/gemm reads B in place for up to 128 rows), which costs
// less than the at most 1/8 of the tiles that the ragged last row panel
// wastes (conv2 of W-CNN, 64 channels, batch 64: 2.73-2.77 ms -> 2.39-2.44
// ms forward).
func (g *convGeom) posMajor() bool {
	return g.kSize >= 32 && g.og%16 == 0 && (g.og < 56 || g.og > 128)
}

// Conv2dBackward returns the gradients of Conv2d with respect to x and the
// weight, given the upstream gradient gy [N,O,oh,ow]. A gradient not asked
// for is nil. The bias gradient is gy summed over N, oh and ow.
func Conv2dBackward(x, w, gy *Tensor, p ConvParams, wantX, wantW bool) (dx, dw *Tensor) {
	x, w, gy = contig(x), contig(w), contig(gy)
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
	x, w, gy = contig(x), contig(w), contig(gy)
	return Conv2dGradsKeep(x, w, gy, p, nil, wantX, wantW, wantB)
}

// Conv2dGradsKeep is Conv2dGrads reusing the columns that Conv2dKeep built
// for the same x, w and p (nil builds them); it releases them.
func Conv2dGradsKeep(x, w, gy *Tensor, p ConvParams, saved *ConvCols, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	x, w, gy = contig(x), contig(w), contig(gy)
	if is64("tensor.Conv2dGradsKeep", x, w, gy) {
		checkGradShape(x, w, gy, p)
		return convGrads64(x, w, gy, p, wantX, wantW, wantB)
	}
	checkGradShape(x, w, gy, p)
	return conv2dGrads(x, w, &convGrad{gy: gy.data}, p, saved, wantX, wantW, wantB)
}

// checkGradShape panics unless gy has the shape of the convolution's output.
func checkGradShape(x, w, gy *Tensor, p ConvParams) {
	g := newConvGeom(x, w, p)
	if !EqualShapes(gy.shape, []int{g.n, g.o, g.oh, g.ow}) {
		panic(fmt.Sprintf("tensor.Conv2dBackward: gradient %v for output [%d %d %d %d]", gy.shape, g.n, g.o, g.oh, g.ow))
	}
}

// Conv2dReLUGradsKeep is the backward pass of Conv2dReLUKeep: y is the
// forward's output, and the gradient reaching the convolution is gy where
// y > 0 and +0 elsewhere, exactly as ReLU's backward pass makes it; that
// mask is applied while gy is rearranged for the GEMMs, with no pass of its
// own. It releases saved.
func Conv2dReLUGradsKeep(x, w, y, gy *Tensor, p ConvParams, saved *ConvCols, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	x, w, y, gy = contig(x), contig(w), contig(y), contig(gy)
	if is64("tensor.Conv2dReLUGradsKeep", x, w, y, gy) {
		checkGradShape(x, w, gy, p)
		return convGrads64(x, w, ReLUGrad(gy, y), p, wantX, wantW, wantB) // G·[y > 0]
	}
	if !EqualShapes(y.shape, gy.shape) {
		panic(fmt.Sprintf("tensor.Conv2dReLUGradsKeep: output %v and gradient %v differ in shape", y.shape, gy.shape))
	}
	checkGradShape(x, w, gy, p)
	return conv2dGrads(x, w, &convGrad{gy: gy.data, mask: y.data}, p, saved, wantX, wantW, wantB)
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

// convGrad is where the gradient of a convolution's output comes from:
// gy itself (masked by ReLU's derivative at mask when mask is not nil), or,
// for the pooled op, the pooled gradient gp scattered to the argmax arg of
// each 2×2 window and masked by the pooled output.
type convGrad struct {
	gy, mask []float32
	gp       []float32
	arg      []int32
	pooled   []float32
	ph, pw   int
}

// plane writes the gradient of image n, channel o into dst (oh·ow floats),
// with the values that the unfused backward passes (MaxPool2dBackward,
// then ReLU's) would give: +0 away from the argmax; at it +0 + gp, which
// turns -0 into +0, then masked.
func (c *convGrad) plane(dst []float32, n, o, nO int) {
	ohw := len(dst)
	k := n*nO + o
	switch {
	case c.gp != nil:
		pohw := c.ph * c.pw
		gp, arg, y := c.gp[k*pohw:][:pohw], c.arg[k*pohw:][:pohw], c.pooled[k*pohw:][:pohw]
		clear(dst)
		if unpoolVec(dst, gp, y, arg) {
			return
		}
		for q, v := range gp {
			if v == 0 {
				v = 0 // +0 + v
			}
			dst[arg[q]] = reluMask(v, y[q])
		}
	case c.mask != nil:
		src, m := c.gy[k*ohw:][:ohw], c.mask[k*ohw:][:ohw]
		for j, v := range src {
			dst[j] = reluMask(v, m[j])
		}
	default:
		copy(dst, c.gy[k*ohw:][:ohw])
	}
}

// conv2dGrads computes the gradients of a convolution whose output gradient
// comes from src. The bias gradient is summed while the gradient is
// rearranged into the GEMM's layout, per image over positions (in
// sumLanes's fixed order), then over images in order.
func conv2dGrads(x, w *Tensor, src *convGrad, p ConvParams, saved *ConvCols, wantX, wantW, wantB bool) (dx, dw, db *Tensor) {
	g := newConvGeom(x, w, p)
	if saved != nil && saved.wino != nil {
		s := saved.wino
		saved.wino = nil
		if (wantX || wantW) && src.gp == nil && g.winoTrainable() {
			if sub, nsub := g.winoBlocks(); sub == s.sub && nsub == s.nsub {
				return g.winoTrainGrads(w, src, s, wantX, wantW, wantB, x)
			}
		}
		s.release()
	}
	ohw := g.oh * g.ow
	var part []float32 // part[n*O+o]: Σ over positions of image n, channel o
	if wantB {
		db = Empty(g.o)
		part = getFloats(g.n * g.o)
		defer putFloats(part)
	}
	if !wantX && !wantW {
		// Only the bias: build each plane in a scratch buffer and sum it.
		if wantB {
			parallelFor(g.n, 1, func(i0, i1 int) {
				d := getFloats(ohw)
				defer putFloats(d)
				for i := i0; i < i1; i++ {
					for o := range g.o {
						src.plane(d, i, o, g.o)
						part[i*g.o+o] = sumLanes(d)
					}
				}
			})
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
	}
	for n0 := 0; n0 < g.n; n0 += nb {
		cnt := min(nb, g.n-n0)
		if cols == nil {
			g.gradsBlocked(x, w, dx, dw, src, part, n0, cnt, wantX, wantW, wantB)
			continue
		}
		ld := cnt * ohw
		// G [O, cnt·ohw] from the output gradient [cnt, O, ohw], summed
		// for the bias on the way.
		gm := getFloats(g.o * ld)
		parallelFor(cnt, 1, func(i0, i1 int) { g.outputGrad(gm, ld, src, part, n0, i0, i1, wantB) })
		g.gradsKept(w, dx, dw, gm, cols, n0, cnt, wantX, wantW)
		putFloats(gm)
	}
	if cols != nil {
		putFloats(cols)
	}
	if wantB {
		sumParts(db, part, g.n, g.o)
	}
	return dx, dw, db
}

// outputGrad writes the output gradient of images n+i0..n+i1-1 into gm,
// [O, ·] with row stride ld and image n+i at column i·ohw, and with wantB
// sums each of its planes into part[image·O + channel] for the bias (per
// image over positions, in sumLanes's fixed order).
func (g *convGeom) outputGrad(gm []float32, ld int, src *convGrad, part []float32, n, i0, i1 int, wantB bool) {
	ohw := g.oh * g.ow
	for i := i0; i < i1; i++ {
		for o := range g.o {
			d := gm[o*ld+i*ohw:][:ohw]
			src.plane(d, n+i, o, g.o)
			if wantB {
				part[(n+i)*g.o+o] = sumLanes(d)
			}
		}
	}
}

// gradsKept computes the weight and input gradients of images
// n0..n0+cnt-1 from G (gm, [O, cnt·ohw]) and columns kept by the forward
// pass: dW in one batch-wide product, dX block by block.
func (g *convGeom) gradsKept(w, dx, dw *Tensor, gm, cols []float32, n0, cnt int, wantX, wantW bool) {
	ohw := g.oh * g.ow
	ld := cnt * ohw
	if wantW {
		// dW_g += G_g · cols_gᵀ
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
		sub := g.blockImages(cnt)
		nsub := (cnt + sub - 1) / sub
		parallelFor(nsub, 1, func(s0, s1 int) {
			dc := getFloats(g.c * g.kh * g.kw * sub * ohw)
			defer putFloats(dc)
			for s := s0; s < s1; s++ {
				i0 := s * sub
				m := min(sub, cnt-i0)
				g.blockDX(w, dx, gm[i0*ohw:], ld, dc, n0+i0, m)
			}
		})
	}
}

// gradsBlocked computes the weight, input and bias gradients of images
// n0..n0+cnt-1 a block of images at a time, one block per worker,
// everything of a block staying in L2: its output gradient G [O, m·ohw]
// (built from src, and summed per image and channel into part for the
// bias), its columns (im2col again from x, far cheaper than keeping the
// batch's columns in memory since the forward pass), its share of dW (a
// partial product of its own), and dcols = Wᵀ·G scattered back by col2im.
// The partial dWs are summed in block order; the blocks depend on the
// geometry only, so dW is the same for any thread count. Each element of
// dcols is the same sum (k = og) as in one batch-wide product.
func (g *convGeom) gradsBlocked(x, w, dx, dw *Tensor, src *convGrad, part []float32, n0, cnt int, wantX, wantW, wantB bool) {
	ohw := g.oh * g.ow
	sub := g.blockImages(cnt)
	nsub := (cnt + sub - 1) / sub
	wsize := g.o * g.kSize
	var parts []float32
	if wantW {
		parts = getFloats(nsub * wsize)
		defer putFloats(parts)
	}
	colsSize := g.c * g.kh * g.kw * sub * ohw
	parallelFor(nsub, 1, func(s0, s1 int) {
		dc := getFloats(colsSize)
		defer putFloats(dc)
		gb := getFloats(g.o * sub * ohw)
		defer putFloats(gb)
		for s := s0; s < s1; s++ {
			i0 := s * sub
			m := min(sub, cnt-i0)
			lds := m * ohw
			g.outputGrad(gb, lds, src, part, n0+i0, 0, m, wantB)
			if wantW {
				g.im2colRange(x.data, n0+i0, m, 0, m, dc)
				for gi := range g.g {
					// P_s,g = G_g · cols_gᵀ over the block's positions
					sgemmSerial(false, true, g.og, g.kSize, lds, 1,
						gb[gi*g.og*lds:], lds,
						dc[gi*g.kSize*lds:], lds,
						0, parts[s*wsize+gi*g.og*g.kSize:], g.kSize)
				}
			}
			if wantX {
				g.blockDX(w, dx, gb, lds, dc, n0+i0, m)
			}
		}
	})
	if !wantW {
		return
	}
	// dW (+)= ((P_0 + P_1) + P_2) + …, element by element.
	first := n0 == 0
	parallelFor(wsize, 1<<12, func(e0, e1 int) {
		acc := dw.data[e0:e1]
		if first {
			copy(acc, parts[e0:e1])
		} else {
			addAll(acc, parts[e0:e1])
		}
		for s := 1; s < nsub; s++ {
			addAll(acc, parts[s*wsize+e0:s*wsize+e1])
		}
	})
}

// blockDX computes the input gradient of the m images from image n on,
// whose output gradient is G (gm, [O, m·ohw] with row stride ld):
// dcols = Wᵀ·G into dc, scattered back into dx by col2im.
func (g *convGeom) blockDX(w, dx *Tensor, gm []float32, ld int, dc []float32, n, m int) {
	lds := m * g.oh * g.ow
	for gi := range g.g {
		// dcols_g = W_gᵀ · G_g
		sgemmSerial(true, false, g.kSize, lds, g.og, 1,
			w.data[gi*g.og*g.kSize:], g.kSize,
			gm[gi*g.og*ld:], ld,
			0, dc[gi*g.kSize*lds:], lds)
	}
	g.col2imRange(dc, n, m, 0, m, dx.data, true)
}

// addAll does d[i] += r[i] for every i.
func addAll(d, r []float32) {
	done := addVec(d, r)
	d, r = d[done:], r[done:len(d)]
	for j, v := range r {
		d[j] += v
	}
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
