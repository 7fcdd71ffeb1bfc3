package tensor

// MaxPool2dValues is MaxPool2d without the argmax indices, for inference:
// the maximum over each window of x ([N,C,H,W] or [C,H,W]), taken
// separably (down each column of a window row, then across), with the
// branch-free max builtin. The values are MaxPool2d's, except that a
// window whose maximum is a tie of -0 and +0 may yield +0 (as MaxPool2d's
// own 2×2 path does); a window holding NaN gives NaN. It is about the
// cost of two passes over the input where MaxPool2d's general path tests
// every element of every window with a branch (ResNet's 3×3, stride 2
// stem pooling: 13% of an inference at 224×224).
func MaxPool2dValues(x *Tensor, p PoolParams) *Tensor {
	x = contig(x)
	if is64("tensor.MaxPool2dValues", x) {
		y, _ := maxPool64(x, p)
		return y
	}
	g := newPoolGeom("tensor.MaxPool2dValues", x, p)
	if g.p.Dilation != [2]int{1, 1} {
		y, arg := MaxPool2d(x, p)
		RecycleInt32s(arg)
		return y
	}
	out := Empty(g.outShape(x)...)
	hw, ohw := g.h*g.w, g.oh*g.ow
	parallelFor(g.nc, 4, func(c0, c1 int) {
		col := getFloats(g.w)
		defer putFloats(col)
		for c := c0; c < c1; c++ {
			g.maxPoolValues(x.data[c*hw:][:hw], out.data[c*ohw:][:ohw], col)
		}
	})
	return out
}

// maxPoolValues pools one plane into out: for each output row, the
// maximum down the window's rows into col (w floats), then across each
// window's columns. Windows are cut at the plane's edges (padding never
// wins a maximum).
func (g poolGeom) maxPoolValues(plane, out, col []float32) {
	kh, kw := g.p.Kernel[0], g.p.Kernel[1]
	sh, sw := g.p.Stride[0], g.p.Stride[1]
	ph, pw := g.p.Padding[0], g.p.Padding[1]
	col = col[:g.w]
	for oy := range g.oh {
		y0, y1 := max(oy*sh-ph, 0), min(oy*sh-ph+kh, g.h)
		copy(col, plane[y0*g.w:][:g.w])
		for y := y0 + 1; y < y1; y++ {
			row := plane[y*g.w:][:g.w]
			for j, v := range row {
				col[j] = max(col[j], v)
			}
		}
		o := out[oy*g.ow:][:g.ow]
		if kw == 3 && sw == 2 && pw == 1 {
			// ResNet's window: columns 2ox-1, 2ox, 2ox+1, the first
			// window cut at the left edge, the last perhaps at the right.
			o[0] = col[0]
			if g.w > 1 {
				o[0] = max(col[0], col[1])
			}
			ox := 1
			for ; ox < g.ow && 2*ox+1 < g.w; ox++ {
				o[ox] = max(col[2*ox-1], col[2*ox], col[2*ox+1])
			}
			for ; ox < g.ow; ox++ {
				m := col[2*ox-1]
				if 2*ox < g.w {
					m = max(m, col[2*ox])
				}
				o[ox] = m
			}
			continue
		}
		for ox := range g.ow {
			x0, x1 := max(ox*sw-pw, 0), min(ox*sw-pw+kw, g.w)
			m := col[x0]
			for _, v := range col[x0+1 : x1] {
				m = max(m, v)
			}
			o[ox] = m
		}
	}
}
