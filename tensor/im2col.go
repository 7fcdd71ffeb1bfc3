package tensor

// The convolution is lowered onto one large GEMM per chunk of images rather
// than one small GEMM per image: the patch matrix ("columns") of a chunk of
// cnt images is [C·kh·kw, cnt·oh·ow], row (c,ki,kj) holding, for every output
// position of every image, the input pixel that kernel tap sees. With
// columns = positions, im2col and col2im read and write whole output rows
// contiguously, and the GEMM result [O, cnt·oh·ow] turns into NCHW by
// copying blocks of oh·ow (where the bias is added on the way).

// maxColsFloats caps the column matrix of one chunk (64 MiB). The chunk
// size depends on the geometry only, never on the thread count, so the
// order in which the weight gradient accumulates is fixed.
const maxColsFloats = 1 << 24

// chunk returns how many images one lowering step covers.
func (g *convGeom) chunk() int {
	per := g.c * g.kh * g.kw * g.oh * g.ow
	return max(1, min(g.n, maxColsFloats/max(per, 1)))
}

// l2Floats is about how many floats of a block's columns and outputs one
// core's L2 (2 MiB here) holds beside the packed panels.
var l2Floats = 1 << 18

// blockImages returns how many of cnt images the convolution lowers and
// multiplies at a time, one block per worker: about as many as keep their
// columns and their outputs (or output gradients) in L2, in a number of
// blocks that is a multiple of 4 so that 2 or 4 workers get equal shares.
// It depends on the geometry only. Counting the outputs matters when they
// outnumber the columns (a first layer with one input channel: 9 columns
// and 32 outputs per position), which would otherwise go to memory and back
// between the product and the layout that follows it.
func (g *convGeom) blockImages(cnt int) int {
	per := (g.c*g.kh*g.kw + g.o) * g.oh * g.ow
	nb := (cnt*per + l2Floats - 1) / l2Floats
	nb = roundUp4(max(nb, 1))
	return max(1, (cnt+nb-1)/nb)
}

func roundUp4(x int) int { return (x + 3) &^ 3 }

// tapRanges returns, for every kernel row ki and column kj, the output
// rows ys[ki] and columns xs[kj] whose taps land inside the input
// (validRange), which the lowering loops would otherwise work out (two
// integer divisions each) again for every channel of every image. buf
// holds them when the kernel fits it.
func (g *convGeom) tapRanges(buf *[32][2]int) (ys, xs [][2]int) {
	all := buf[:0]
	if g.kh+g.kw > len(buf) {
		all = make([][2]int, 0, g.kh+g.kw)
	}
	for ki := range g.kh {
		lo, hi := validRange(g.oh, g.h, g.p.Stride[0], ki*g.p.Dilation[0]-g.p.Padding[0])
		all = append(all, [2]int{lo, hi})
	}
	for kj := range g.kw {
		lo, hi := validRange(g.ow, g.w, g.p.Stride[1], kj*g.p.Dilation[1]-g.p.Padding[1])
		all = append(all, [2]int{lo, hi})
	}
	return all[:g.kh], all[g.kh:]
}

// zeroEnds zeroes, in each output row oy in [ylo, yhi) of row (ow wide),
// the columns before xlo and from xhi on: the padding columns.
func zeroEnds(row []float32, ow, ylo, yhi, xlo, xhi int) {
	for b := ylo * ow; b < yhi*ow; b += ow {
		for j := b; j < b+xlo; j++ {
			row[j] = 0
		}
		for j := b + xhi; j < b+ow; j++ {
			row[j] = 0
		}
	}
}

// validRange returns the output indices [lo, hi) whose input index
// o·stride + off falls inside [0, size): the taps that do not land in the
// padding. hi >= lo always.
func validRange(out, size, stride, off int) (lo, hi int) {
	if off < 0 {
		lo = min(out, (-off+stride-1)/stride)
	}
	if last := size - 1 - off; last >= 0 {
		hi = min(out, last/stride+1)
	}
	return lo, max(lo, hi)
}

// im2colBatch writes the columns of images n0..n0+cnt-1 of x into cols
// ([c·kh·kw, cnt·oh·ow]), one goroutine per range of images.
func (g *convGeom) im2colBatch(x []float32, n0, cnt int, cols []float32) {
	parallelFor(cnt, 1, func(i0, i1 int) { g.im2colRange(x, n0, cnt, i0, i1, cols) })
}

// im2colRange is im2colBatch for images n0+i0..n0+i1-1 alone, on the
// calling goroutine; cols holds the columns of images n0..n0+cnt-1.
func (g *convGeom) im2colRange(x []float32, n0, cnt, i0, i1 int, cols []float32) {
	g.im2colChannels(x, n0, cnt, i0, i1, 0, g.c, cols)
}

// im2colChannels is im2colRange for input channels c0..c1-1 alone: the
// rows of the columns that come from them.
func (g *convGeom) im2colChannels(x []float32, n0, cnt, i0, i1, c0, c1 int, cols []float32) {
	ohw, chw := g.oh*g.ow, g.c*g.h*g.w
	ld := cnt * ohw
	shifted := g.shifted()
	var tapBuf [32][2]int
	ys, xs := g.tapRanges(&tapBuf)
	{
		for i := i0; i < i1; i++ {
			img := x[(n0+i)*chw:][:chw]
			for ci := c0; ci < c1; ci++ {
				plane := img[ci*g.h*g.w:][:g.h*g.w]
				for ki := range g.kh {
					ylo, yhi := ys[ki][0], ys[ki][1]
					for kj := range g.kw {
						xoff := kj*g.p.Dilation[1] - g.p.Padding[1]
						xlo, xhi := xs[kj][0], xs[kj][1]
						row := cols[((ci*g.kh+ki)*g.kw+kj)*ld+i*ohw:][:ohw]
						if shifted {
							// Row = the plane shifted by off, as one copy
							// (memmove is vectorised), then the padding
							// zeros: rows above and below, and the few
							// columns at each end of a row that the copy
							// filled from the neighbouring input row.
							off := (ki-g.p.Padding[0])*g.w + xoff
							lo, hi := ylo*g.ow, yhi*g.ow
							clear(row[:lo])
							clear(row[hi:])
							qs, qe := max(lo, -off), min(hi, len(plane)-off)
							if qe > qs {
								copy(row[qs:qe], plane[qs+off:qe+off])
							}
							if xlo > 0 || xhi < g.ow { // not the centre tap
								zeroEnds(row, g.ow, ylo, yhi, xlo, xhi)
							}
							continue
						}
						clear(row[:ylo*g.ow])
						clear(row[yhi*g.ow:])
						if g.p.Stride[1] == 2 && yhi > ylo {
							// ResNet's strided convolutions: all the tap's
							// rows in one vector call.
							iy := ylo*g.p.Stride[0] + ki*g.p.Dilation[0] - g.p.Padding[0]
							x0 := 2*xlo + xoff
							if xhi == xlo {
								x0 = 0 // nothing is read
							}
							src := plane[iy*g.w+x0:]
							if gatherRows2(row[ylo*g.ow:], src, yhi-ylo, g.ow, xlo, xhi, g.w-x0, g.p.Stride[0]*g.w) {
								continue
							}
						}
						// Rows are short (14 or 28 pixels for MNIST), so the
						// copies and the padding zeros are plain loops: a call
						// to memmove or memclr per row costs more than the row.
						for oy := ylo; oy < yhi; oy++ {
							iy := oy*g.p.Stride[0] + ki*g.p.Dilation[0] - g.p.Padding[0]
							dst := row[oy*g.ow : (oy+1)*g.ow]
							for j := range dst[:xlo] {
								dst[j] = 0
							}
							for j := range dst[xhi:] {
								dst[xhi+j] = 0
							}
							if xhi == xlo {
								continue
							}
							src := plane[iy*g.w : (iy+1)*g.w]
							d := dst[xlo:xhi]
							if s := g.p.Stride[1]; s == 1 {
								copy(d, src[xlo+xoff:xhi+xoff])
							} else {
								src = src[xlo*s+xoff:]
								k := 0
								if s == 2 {
									// ResNet's strided convolutions
									k = gather2Vec(d, src)
								}
								for j := k; j < len(d); j++ {
									d[j] = src[j*s]
								}
							}
						}
					}
				}
			}
		}
	}
}

// col2imBatch overwrites images n0..n0+cnt-1 of dx with the sum, over the
// columns, of every entry at the pixel it came from: the adjoint of
// im2colBatch. Each image is written by one goroutine and summed in the
// same (c, ki, kj, oy, ox) order whatever the thread count.
func (g *convGeom) col2imBatch(cols []float32, n0, cnt int, dx []float32) {
	parallelFor(cnt, 1, func(i0, i1 int) { g.col2imRange(cols, n0, cnt, i0, i1, dx, false) })
}

// col2imRange is col2imBatch for images n0+i0..n0+i1-1 alone, on the
// calling goroutine; cols holds the columns of images n0..n0+cnt-1. With
// clobber, cols is scratch that col2imRange may overwrite: the padding
// columns' entries are then zeroed and added along with the rest instead
// of their targets being saved and restored. Same bits: a pixel's sum
// starts at +0 and so is never -0 (x + -x and +0 + -0 are +0), and
// adding +0 to anything else but -0 changes nothing.
func (g *convGeom) col2imRange(cols []float32, n0, cnt, i0, i1 int, dx []float32, clobber bool) {
	ohw, chw := g.oh*g.ow, g.c*g.h*g.w
	ld := cnt * ohw
	shifted := g.shifted()
	var tapBuf [32][2]int
	ys, xs := g.tapRanges(&tapBuf)
	{
		var saved []float32
		if shifted && !clobber {
			saved = make([]float32, 0, 2*g.oh*g.ow)
		}
		for i := i0; i < i1; i++ {
			img := dx[(n0+i)*chw:][:chw]
			clear(img)
			for ci := range g.c {
				plane := img[ci*g.h*g.w:][:g.h*g.w]
				for ki := range g.kh {
					ylo, yhi := ys[ki][0], ys[ki][1]
					for kj := range g.kw {
						xoff := kj*g.p.Dilation[1] - g.p.Padding[1]
						xlo, xhi := xs[kj][0], xs[kj][1]
						if xhi == xlo {
							continue
						}
						row := cols[((ci*g.kh+ki)*g.kw+kj)*ld+i*ohw:][:ohw]
						if shifted {
							// One long add of the row into the plane shifted
							// by off instead of a short one per output row.
							// The entries of a row's padding columns land on
							// pixels at the neighbouring input row's end:
							// those pixels are saved before and restored
							// after, so each pixel still receives exactly
							// its own terms, in the same order.
							off := (ki-g.p.Padding[0])*g.w + xoff
							qs, qe := max(ylo*g.ow, -off), min(yhi*g.ow, len(plane)-off)
							if qe <= qs {
								continue
							}
							// The centre tap has no padding columns.
							pads := xlo > 0 || xhi < g.ow
							if clobber {
								if pads {
									zeroEnds(row, g.ow, ylo, yhi, xlo, xhi)
								}
								addAll(plane[qs+off:qe+off], row[qs:qe])
								continue
							}
							saved = saved[:0]
							for oy := ylo; pads && oy < yhi; oy++ {
								for ox := range xlo {
									if q := oy*g.ow + ox; q >= qs && q < qe {
										saved = append(saved, plane[q+off])
									}
								}
								for ox := xhi; ox < g.ow; ox++ {
									if q := oy*g.ow + ox; q >= qs && q < qe {
										saved = append(saved, plane[q+off])
									}
								}
							}
							d, r := plane[qs+off:qe+off], row[qs:qe]
							done := addVec(d, r)
							d, r = d[done:], r[done:]
							for j, v := range r {
								d[j] += v
							}
							k := 0
							for oy := ylo; pads && oy < yhi; oy++ {
								for ox := range xlo {
									if q := oy*g.ow + ox; q >= qs && q < qe {
										plane[q+off] = saved[k]
										k++
									}
								}
								for ox := xhi; ox < g.ow; ox++ {
									if q := oy*g.ow + ox; q >= qs && q < qe {
										plane[q+off] = saved[k]
										k++
									}
								}
							}
							continue
						}
						if g.p.Stride[1] == 2 && yhi > ylo {
							// ResNet's strided convolutions: all the tap's
							// rows in one vector call, each pixel's terms
							// added in the same order.
							iy := ylo*g.p.Stride[0] + ki*g.p.Dilation[0] - g.p.Padding[0]
							x0 := 2*xlo + xoff
							if scatterAddRows2(plane[iy*g.w+x0:], row[ylo*g.ow+xlo:], yhi-ylo, xhi-xlo, g.w-x0, g.p.Stride[0]*g.w, g.ow) {
								continue
							}
						}
						for oy := ylo; oy < yhi; oy++ {
							iy := oy*g.p.Stride[0] + ki*g.p.Dilation[0] - g.p.Padding[0]
							src := row[oy*g.ow+xlo : oy*g.ow+xhi]
							dst := plane[iy*g.w : (iy+1)*g.w]
							if s := g.p.Stride[1]; s == 1 {
								d := dst[xlo+xoff : xhi+xoff]
								d = d[:len(src)]
								for j, v := range src {
									d[j] += v
								}
							} else {
								d := dst[xlo*s+xoff:]
								for j, v := range src {
									d[j*s] += v
								}
							}
						}
					}
				}
			}
		}
	}
}

// shifted reports whether each im2col row is the input plane shifted by a
// constant offset (stride 1, dilation 1 and an output as wide as the input:
// "same" padding), so that im2col and col2im can move whole planes at a
// time rather than one output row at a time.
func (g *convGeom) shifted() bool {
	return !g.rowByRow && g.p.Stride == [2]int{1, 1} && g.p.Dilation == [2]int{1, 1} && g.ow == g.w
}
