package tensor

// A convolution with a short kernel (a first layer: one or three input
// channels) spends most of its time writing the im2col columns and
// reading them back, not multiplying: its product is computed instead
// straight from the zero-padded image, each output one sum of the kernel's
// taps in the columns' order (channel, kernel row, kernel column), by fused
// multiply-adds onto +0 as the GEMM micro-kernels add them: the same bits
// as im2col and GEMM, without the columns.

// maxDirectTaps is the longest kernel (C·kh·kw) the direct product takes.
const maxDirectTaps = 27

// direct reports whether forward computes its products directly: stride
// and dilation 1, one group, a short kernel, channel-major products (the
// layout the direct product writes), and the assembly at hand.
func (g *convGeom) direct() bool {
	return hasConvDirect && g.g == 1 && g.p.Stride == [2]int{1, 1} && g.p.Dilation == [2]int{1, 1} &&
		g.kSize <= maxDirectTaps && !g.posMajor() && !g.rowByRow
}

// directProduct writes output channels o0..o1-1 of Y = W·cols for images
// n0..n0+cnt-1 into ys ([O, cnt·oh·ow], as the GEMM writes it). Each image
// is padded once into a scratch buffer whose rows are ow+kw-1 wide; every
// output row is then computed that wide (the extra outputs are dropped).
func (g *convGeom) directProduct(x, w []float32, n0, cnt, o0, o1 int, ys []float32) {
	py, px := g.p.Padding[0], g.p.Padding[1]
	pw, ph := g.w+2*px, g.h+2*py
	ps := ph * pw
	nq := g.oh * pw
	n8 := (nq + 7) &^ 7
	plen := (g.c-1)*ps + n8 + (g.kh-1)*pw + g.kw + 8
	p := getFloats(plen)
	out := getFloats(n8)
	defer func() { putFloats(p); putFloats(out) }()
	var offs [maxDirectTaps]int
	off := offs[:g.kSize]
	for ci := range g.c {
		for ki := range g.kh {
			for kj := range g.kw {
				off[(ci*g.kh+ki)*g.kw+kj] = ci*ps + ki*pw + kj
			}
		}
	}
	ohw, hw := g.oh*g.ow, g.h*g.w
	ld := cnt * ohw
	for i := range cnt {
		clear(p)
		img := x[(n0+i)*g.c*hw:][:g.c*hw]
		for ci := range g.c {
			for iy := range g.h {
				copy(p[ci*ps+(iy+py)*pw+px:][:g.w], img[ci*hw+iy*g.w:][:g.w])
			}
		}
		for o := o0; o < o1; o++ {
			wo := w[o*g.kSize:][:g.kSize]
			convDirect(&p[0], &off[0], &wo[0], g.kSize, &out[0], n8)
			dst := ys[o*ld+i*ohw:][:ohw]
			for oy := range g.oh {
				copy(dst[oy*g.ow:][:g.ow], out[oy*pw:][:g.ow])
			}
		}
	}
}
