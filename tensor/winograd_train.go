package tensor

import "fmt"

// Winograd F(2×2, 3×3) in training. The forward pass is winograd.go's
// (Y = Aᵀ[U ⊙ V]A with U = G g Gᵀ, V = Bᵀ d B), run block by block with
// each block's V kept for the backward pass. Differentiating the bilinear
// form tile by tile gives both gradients from one transform of the output
// gradient, Ŷ = A dY Aᵀ (4×4 per 2×2 tile):
//
//	dV = U ⊙ Ŷ  →  dX = B dV Bᵀ, each 4×4 patch added where it overlaps
//	dU = Ŷ ⊙ V  →  dW = Gᵀ dU G
//
// so that dX_ξ [C, tiles] = U_ξᵀ · Ŷ_ξ and dW_ξ [O, C] = Σ_tiles Ŷ_ξ · V_ξᵀ
// are 16 products each, 2.25× fewer multiply-adds than im2col's, and no
// column matrix is built in either direction. The transforms only add,
// subtract and halve, so the results differ from im2col's by rounding.

// WinogradMinBatch is the smallest batch for which Conv2dWinogradKeep
// takes the Winograd path.
const WinogradMinBatch = winoMinBatch

// winoTrain lets Conv2dWinogradKeep take the Winograd path; off, a hook for
// tests and benchmarks that compare it with im2col.
var winoTrain = true

// winoMinTiles is the fewest tiles a block of the training path holds:
// a block of fewer would make its products too narrow (a 2×2 output is one
// tile per image) for the packing of U_ξ to be repaid.
const winoMinTiles = 64

// winoSaved is what the Winograd forward pass keeps for the backward pass:
// each block's input transform V, [16][C][cnt·tiles + 8] per block.
type winoSaved struct {
	sub, nsub int // images per block, blocks
	v         []float32
	vs        int // floats per block in v
}

// release hands s's buffers back to the pool.
func (s *winoSaved) release() {
	putFloats(s.v)
	s.v = nil
}

// Conv2dWinogradKeep is Conv2dKeep computed by Winograd's F(2×2, 3×3)
// where it pays: a float32 convolution with a 3×3 kernel, stride and
// dilation 1, one group, at least 64 input and output channels and a
// batch of at least WinogradMinBatch. The columns it returns then hold the input
// transform, from which Conv2dGradsKeep computes both gradients by
// Winograd too (and releases them). The results differ from Conv2dKeep's
// by float32 rounding only, and do not depend on the thread count. Other
// convolutions are Conv2dKeep's, bit for bit.
func Conv2dWinogradKeep(x, w, bias *Tensor, p ConvParams) (*Tensor, *ConvCols) {
	return conv2dWinoKeep(x, w, bias, p, false)
}

// Conv2dReLUWinogradKeep is Conv2dReLUKeep computed as Conv2dWinogradKeep
// computes Conv2dKeep; its backward pass is Conv2dReLUGradsKeep.
func Conv2dReLUWinogradKeep(x, w, bias *Tensor, p ConvParams) (*Tensor, *ConvCols) {
	return conv2dWinoKeep(x, w, bias, p, true)
}

func conv2dWinoKeep(x, w, bias *Tensor, p ConvParams, relu bool) (*Tensor, *ConvCols) {
	x, w, bias = contig(x), contig(w), contig(bias)
	if x.dtype != Float32 || w.dtype != Float32 || (bias != nil && bias.dtype != Float32) || !winoTrain {
		if relu {
			return Conv2dReLUKeep(x, w, bias, p)
		}
		return Conv2dKeep(x, w, bias, p)
	}
	g := newConvGeom(x, w, p)
	if !g.winoTrainable() {
		if relu {
			return Conv2dReLUKeep(x, w, bias, p)
		}
		return Conv2dKeep(x, w, bias, p)
	}
	if bias != nil && (bias.Dims() != 1 || bias.shape[0] != g.o) {
		panic(fmt.Sprintf("tensor.Conv2d: bias %v for %d output channels", bias.shape, g.o))
	}
	out := Empty(g.n, g.o, g.oh, g.ow)
	s := g.winoTrainForward(x, w, bias, convOut{relu: relu, out: out.data})
	return out, &ConvCols{wino: s}
}

// winoTrainMinChannels is the fewest input and output channels for which
// the training path pays: the products of the three passes are C, O and
// tiles long, and with fewer channels they are too short for the
// transforms to be repaid. Measured on this project's AVX2 machine (CPU
// time, forward and backward, BenchmarkConvTrainWinograd): 64→64
// channels at 16×16, batch 32: 40 ms against im2col's 64; 32→64 at 14×14,
// batch 64 (W-CNN's second convolution): 53 against 52.
const winoTrainMinChannels = 64

// winoKeepMaxFloats caps the input transform that the training path keeps
// from the forward pass to the backward (256 MiB): 4 floats per input
// element, 103 MiB for a 64-channel 56×56 convolution of ResNet-18 at
// 224×224 and batch 32. A larger one takes im2col, which keeps nothing.
const winoKeepMaxFloats = 1 << 26

// winoTrainable reports whether the training path applies: winograd's
// conditions, a full batch, winoTrainMinChannels, a padding of at most 2
// (the input gradient's patches must overlap the input), and a kept input
// transform of at most winoKeepMaxFloats.
func (g *convGeom) winoTrainable() bool {
	if !g.winograd() || g.n < winoMinBatch || g.c < winoTrainMinChannels || g.o < winoTrainMinChannels ||
		g.p.Padding[0] > 2 || g.p.Padding[1] > 2 {
		return false
	}
	sub, nsub := g.winoBlocks()
	tpi := ((g.oh + 1) / 2) * ((g.ow + 1) / 2)
	return 16*g.c*(sub*tpi+8)*nsub <= winoKeepMaxFloats
}

// winoBlocks returns the images per block and the number of blocks of the
// training path: as many images as keep a block's transforms in L2, but
// at least winoMinTiles tiles. They depend on the geometry only.
func (g *convGeom) winoBlocks() (sub, nsub int) {
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	tpi := th * tw
	per := 16*(g.c+g.o)*tpi + g.o*g.oh*g.ow
	nb := roundUp4(max(1, (g.n*per+2*l2Floats-1)/(2*l2Floats)))
	sub = max(1, (g.n+nb-1)/nb, (winoMinTiles+tpi-1)/tpi)
	sub = min(sub, g.n)
	return sub, (g.n + sub - 1) / sub
}

// winoTrainForward is winoForward keeping every block's V.
func (g *convGeom) winoTrainForward(x, w, bias *Tensor, dst convOut) *winoSaved {
	var bd []float32
	if bias != nil {
		bd = bias.data
	}
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	tpi, ohw := th*tw, g.oh*g.ow
	u := winoWeightsPar(w.data, g.o, g.c, false)
	sub, nsub := g.winoBlocks()
	vs := 16 * g.c * (sub*tpi + 8)
	defer putFloats(u)
	s := &winoSaved{sub: sub, nsub: nsub, v: getFloats(nsub * vs), vs: vs}
	block := func(b int, par bool) {
		i0 := b * sub
		cnt := min(sub, g.n-i0)
		nt := cnt * tpi
		v := s.v[b*vs:][:16*g.c*(nt+8)]
		m := getFloats(16 * g.o * nt)
		ys := getFloats(g.o * cnt * ohw)
		buf := getFloats(16 * (th + 1) * (tw + 1))
		defer func() { putFloats(m); putFloats(ys); putFloats(buf) }()
		lay := newWinoLayout(nt, g.o, false)
		g.winoInput(x.data, i0, cnt, v, lay.ldv, buf)
		mul := func(k0, k1 int) {
			for k := k0; k < k1; k++ {
				// M_ξ [O, nt] = U_ξ [O, C] · V_ξ [C, nt]
				sgemmSerial(false, false, g.o, nt, g.c, 1,
					u[k*winoUStride(g.o, g.c):], g.c, v[k*g.c*(nt+8):], nt+8, 0, m[k*g.o*nt:], nt)
			}
		}
		if !par {
			mul(0, 16)
			g.winoOutput(m, lay, cnt, 0, g.o, ys)
			g.layoutRange(ys, false, i0, cnt, 0, cnt, 0, g.o, bd, dst)
			return
		}
		parallelFor(16, 1, mul)
		parallelFor(g.o, 1, func(o0, o1 int) {
			g.winoOutput(m, lay, cnt, o0, o1, ys)
			g.layoutRange(ys, false, i0, cnt, 0, cnt, o0, o1, bd, dst)
		})
	}
	if nsub < 4 {
		// Too few blocks to share out: each block's products and
		// layout are split over the workers instead.
		for b := range nsub {
			block(b, true)
		}
		return s
	}
	parallelFor(nsub, 1, func(b0, b1 int) {
		for b := b0; b < b1; b++ {
			block(b, false)
		}
	})
	return s
}

// winoTrainGrads computes the gradients of a convolution whose forward
// pass was winoTrainForward (its saved transforms in s, released here)
// and whose output gradient comes from src.
func (g *convGeom) winoTrainGrads(w *Tensor, src *convGrad, s *winoSaved, wantX, wantW, wantB bool, x *Tensor) (dx, dw, db *Tensor) {
	defer s.release()
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	tpi, ohw := th*tw, g.oh*g.ow
	sub, nsub := s.sub, s.nsub
	// Ŷ's planes are 16 floats more than O·nt apart, and dV's more
	// than C·nt: 16 streams a power of 2 apart would fall on the same
	// cache sets (see winoUStride).
	ys := 16 * (g.o*sub*tpi + 16) // floats per block of Ŷ
	yh := getFloats(nsub * ys)
	defer putFloats(yh)
	var part []float32
	if wantB {
		db = Empty(g.o)
		part = getFloats(g.n * g.o)
		defer putFloats(part)
	}
	// Ŷ = A dY Aᵀ for every block, and the bias's partial sums: each
	// output channel's planes of the block split into their even and odd
	// rows, so that one vector pass runs over all its tiles, however
	// narrow the planes.
	yhat := func(b, o0, o1 int) {
		plane := getFloats(ohw)
		rows := getFloats(4 * sub * tpi)
		defer func() { putFloats(plane); putFloats(rows) }()
		i0 := b * sub
		cnt := min(sub, g.n-i0)
		nt := cnt * tpi
		y := yh[b*ys:][:16*(g.o*nt+16)]
		ev, od := rows[:2*nt], rows[2*nt:][:2*nt]
		for o := o0; o < o1; o++ {
			for i := range cnt {
				src.plane(plane, i0+i, o, g.o)
				if wantB {
					part[(i0+i)*g.o+o] = sumLanes(plane)
				}
				g.winoGradRows(plane, ev[2*i*tpi:], od[2*i*tpi:])
			}
			winoGradTiles(ev, od, nt, y[o*nt:], g.o*nt+16)
		}
	}
	if nsub < 4 {
		// Too few blocks to share out (as in the forward pass): each
		// block's channels are split over the workers instead.
		for b := range nsub {
			parallelFor(g.o, 1, func(o0, o1 int) { yhat(b, o0, o1) })
		}
	} else {
		parallelFor(nsub, 1, func(b0, b1 int) {
			for b := b0; b < b1; b++ {
				yhat(b, 0, g.o)
			}
		})
	}
	if wantB {
		sumParts(db, part, g.n, g.o)
	}
	if wantX {
		// Uᵀ as winoWeights lays out the transform of the transposed
		// kernels wᵀ [C,O,3,3]: the products then read their left
		// operand row by row, which packs faster than U read transposed.
		ut := winoWeightsPar(w.data, g.o, g.c, true)
		defer putFloats(ut)
		dx = emptyLike(x)
		// dX = B (U_ξᵀ · Ŷ_ξ) Bᵀ, block by block.
		mul := func(b, k0, k1 int, d []float32) {
			nt := min(sub, g.n-b*sub) * tpi
			y := yh[b*ys:]
			for k := k0; k < k1; k++ {
				// dV_ξ [C, nt] = U_ξᵀ [C, O] · Ŷ_ξ [O, nt]
				sgemmSerial(false, false, g.c, nt, g.o, 1,
					ut[k*winoUStride(g.c, g.o):], g.o, y[k*(g.o*nt+16):], nt, 0, d[k*(g.c*nt+16):], nt)
			}
		}
		if nsub < 4 {
			// As the forward pass: the products of a block, then its
			// channels, split over the workers.
			d := getFloats(16 * (g.c*sub*tpi + 16))
			defer putFloats(d)
			for b := range nsub {
				i0 := b * sub
				cnt := min(sub, g.n-i0)
				nt := cnt * tpi
				parallelFor(16, 1, func(k0, k1 int) { mul(b, k0, k1, d) })
				parallelFor(g.c, 1, func(c0, c1 int) { g.winoInputGrad(d, g.c*nt+16, i0, cnt, c0, c1, dx.data) })
			}
		} else {
			parallelFor(nsub, 1, func(b0, b1 int) {
				d := getFloats(16 * (g.c*sub*tpi + 16))
				defer putFloats(d)
				for b := b0; b < b1; b++ {
					i0 := b * sub
					cnt := min(sub, g.n-i0)
					mul(b, 0, 16, d)
					g.winoInputGrad(d, g.c*cnt*tpi+16, i0, cnt, 0, g.c, dx.data)
				}
			})
		}
	}
	if wantW {
		dw = emptyLike(w)
		us := winoUStride(g.o, g.c)
		mw := getFloats(16 * us)
		defer putFloats(mw)
		// dU_ξ [O, C] = Σ_blocks Ŷ_ξ · V_ξᵀ, the blocks in order: each ξ
		// on one goroutine, so the sums do not depend on the thread count.
		parallelFor(16, 1, func(k0, k1 int) {
			for k := k0; k < k1; k++ {
				for b := range nsub {
					cnt := min(sub, g.n-b*sub)
					nt := cnt * tpi
					beta := float32(1)
					if b == 0 {
						beta = 0
					}
					sgemmSerial(false, true, g.o, g.c, nt, 1,
						yh[b*ys+k*(g.o*nt+16):], nt, s.v[b*s.vs+k*g.c*(nt+8):], nt+8,
						beta, mw[k*us:], g.c)
				}
			}
		})
		parallelFor(g.o*g.c, 256, func(e0, e1 int) { winoWeightGrad(mw, us, e0, e1, dw.data) })
	}
	return dx, dw, db
}

// winoGradRows writes the even rows of one output plane (oh×ow) to ev and
// its odd rows to od, th rows of 2·tw each, padded with zeros past an odd
// edge: tile t = ty·tw + tx then reads dY's 2×2 at ev[2t], ev[2t+1],
// od[2t], od[2t+1].
func (g *convGeom) winoGradRows(plane, ev, od []float32) {
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	w2 := 2 * tw
	for ty := range th {
		e := ev[ty*w2:][:w2]
		copy(e, plane[2*ty*g.ow:][:g.ow])
		o := od[ty*w2:][:w2]
		if 2*ty+1 == g.oh {
			clear(o)
		} else {
			copy(o, plane[(2*ty+1)*g.ow:][:g.ow])
		}
		if g.ow&1 != 0 {
			e[g.ow], o[g.ow] = 0, 0
		}
	}
}

// winoGradTiles writes Ŷ = A dY Aᵀ of tiles 0..n-1, their 2×2 of dY as
// winoGradRows lays them out in ev and od, to y[ξ·stride + t].
//
//	A dY Aᵀ, A = [1 0; 1 1; 1 -1; 0 -1]: each row (p, q) of A·dY becomes
//	(p, p+q, p-q, -q), and A·dY's rows are r0, r0+r1, r0-r1, -r1.
func winoGradTiles(ev, od []float32, n int, y []float32, stride int) {
	ev, od = ev[:2*n], od[:2*n]
	t := winoGradVec(ev, od, n, y, stride)
	if t == n {
		return
	}
	var yk [16][]float32
	for k := range yk {
		yk[k] = y[k*stride:][:n]
	}
	for ; t < n; t++ {
		a, b, c, d := ev[2*t], ev[2*t+1], od[2*t], od[2*t+1]
		// rows of A·dY
		p0, q0 := a, b
		p1, q1 := a+c, b+d
		p2, q2 := a-c, b-d
		p3, q3 := -c, -d
		yk[0][t], yk[1][t], yk[2][t], yk[3][t] = p0, p0+q0, p0-q0, -q0
		yk[4][t], yk[5][t], yk[6][t], yk[7][t] = p1, p1+q1, p1-q1, -q1
		yk[8][t], yk[9][t], yk[10][t], yk[11][t] = p2, p2+q2, p2-q2, -q2
		yk[12][t], yk[13][t], yk[14][t], yk[15][t] = p3, p3+q3, p3-q3, -q3
	}
}

// winoInputGrad turns dV (d, [16][C][cnt·tiles], planes cs apart) of
// images n0..n0+cnt-1 into their input gradient, channels c0..c1-1: each
// tile's B·dV·Bᵀ, a 4×4 patch at input row 2ty - pad, column 2tx - pad,
// added where patches overlap and cut at the plane's edges. The patches
// are added in a padded scratch plane (2th+2 rows of 2tw+2), then its
// inside copied out, in a fixed order (winoDXGroup's) that the AVX2 pass
// keeps; planes of fewer than 8 tiles a row take winoInputGradNarrow,
// which gives the same bits.
func (g *convGeom) winoInputGrad(d []float32, cs, n0, cnt, c0, c1 int, dx []float32) {
	if (g.ow+1)/2 < 8 {
		g.winoInputGradNarrow(d, cs, n0, cnt, c0, c1, dx)
		return
	}
	g.winoInputGradPlanes(d, cs, n0, cnt, c0, c1, dx)
}

// winoInputGradPlanes is winoInputGrad plane by plane, in the scratch
// plane.
func (g *convGeom) winoInputGradPlanes(d []float32, cs, n0, cnt, c0, c1 int, dx []float32) {
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	tpi := th * tw
	nt := cnt * tpi
	hw := g.h * g.w
	py, px := g.p.Padding[0], g.p.Padding[1]
	pw := 2*tw + 2
	pp := getFloats((2*th+2)*pw + 16) // room for the vector pass's last stores
	defer putFloats(pp)
	for i := range cnt {
		for ci := c0; ci < c1; ci++ {
			clear(pp)
			base := ci*nt + i*tpi
			for ty := range th {
				x := d[base+ty*tw:]
				row := pp[2*ty*pw:]
				t0 := winoDXVec(x, cs, tw, row, pw)
				if t0 < tw && winoDXTail(x, cs, t0, tw, row, pw) {
					continue
				}
				for ; t0 < tw; t0 += 8 {
					winoDXGroup(x, cs, t0, min(t0+8, tw), row, pw)
				}
			}
			plane := dx[((n0+i)*g.c+ci)*hw:][:hw]
			for iy := range g.h {
				copy(plane[iy*g.w:][:g.w], pp[(iy+py)*pw+px:][:g.w])
			}
		}
	}
}

// winoInputGradNarrow is winoInputGrad for planes of fewer than 8 tiles
// a row, which its vector pass would leave to winoDXGroup's scalar loop
// one plane at a time: each channel's patches are computed for all the
// block's tiles at once (winoPatches, vector), then each input row sums
// the patch rows that cover it in a padded row, in winoDXGroup's order
// for a row of at most 8 tiles (the tile row above first, and in each
// tile row every tile's columns 0 and 1, then their columns 2 and 3):
// winoInputGradPlanes's sums, bit for bit.
func (g *convGeom) winoInputGradNarrow(d []float32, cs, n0, cnt, c0, c1 int, dx []float32) {
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	tpi := th * tw
	nt := cnt * tpi
	hw := g.h * g.w
	py, px := g.p.Padding[0], g.p.Padding[1]
	ps := nt + 8
	p := getFloats(16 * ps)
	defer putFloats(p)
	for ci := c0; ci < c1; ci++ {
		x := d[ci*nt:]
		for t := winoPatchVec(x, cs, nt, p, ps); t < nt; t += 8 {
			winoPatches(x, cs, t, min(t+8, nt), p, ps)
		}
		for i := range cnt {
			plane := dx[((n0+i)*g.c+ci)*hw:][:hw]
			for iy := range g.h {
				// the padded row r = 2ry + pr: rows pr+2 of tile row
				// ry-1's patches, then rows pr of tile row ry's
				r := iy + py
				ry, pr := r>>1, r&1
				var acc [2*8 + 2]float32
				for _, q := range [2]struct{ ty, j int }{{ry - 1, pr + 2}, {ry, pr}} {
					if q.ty < 0 || q.ty >= th {
						continue
					}
					at := i*tpi + q.ty*tw
					p0, p1 := p[4*q.j*ps+at:][:tw], p[(4*q.j+1)*ps+at:][:tw]
					p2, p3 := p[(4*q.j+2)*ps+at:][:tw], p[(4*q.j+3)*ps+at:][:tw]
					for tx := range tw {
						acc[2*tx] += p0[tx]
						acc[2*tx+1] += p1[tx]
					}
					for tx := range tw {
						acc[2*tx+2] += p2[tx]
						acc[2*tx+3] += p3[tx]
					}
				}
				copy(plane[iy*g.w:][:g.w], acc[px:])
			}
		}
	}
}

// winoPatches writes the patches B·dV·Bᵀ of tiles t0..t1-1: dV's 16
// values of tile t at x[ξ·cs + t], the patch's value (j, q) to
// p[(4j+q)·ps + t]; winoDXGroup's arithmetic, which the AVX2 pass keeps.
func winoPatches(x []float32, cs, t0, t1 int, p []float32, ps int) {
	x = x[:15*cs+t1]
	p = p[:15*ps+t1]
	for t := t0; t < t1; t++ {
		v := winoPatch(x, cs, t)
		for j := range 4 {
			o := p[4*j*ps+t:]
			o[0], o[ps], o[2*ps], o[3*ps] = v[j][0], v[j][1], v[j][2], v[j][3]
		}
	}
}

// winoPatch is tile t's patch B·dV·Bᵀ, [row j][column q], from dV's 16
// values at x[ξ·cs + t]: winoDXGroup's arithmetic (see there).
func winoPatch(x []float32, cs, t int) (v [4][4]float32) {
	var r [4][4]float32 // B·X: [row][column]
	for q := range 4 {
		x0, x1, x2, x3 := x[q*cs+t], x[(4+q)*cs+t], x[(8+q)*cs+t], x[(12+q)*cs+t]
		r[0][q], r[1][q], r[2][q], r[3][q] = x0, x1-x2+x3, x1+x2-x0, -x3
	}
	for j := range 4 {
		e0, e1, e2, e3 := r[j][0], r[j][1], r[j][2], r[j][3]
		v[j] = [4]float32{e0, e1 - e2 + e3, e1 + e2 - e0, -e3}
	}
	return v
}

// winoDXGroup adds the patches of tiles t0..t1-1 (at most 8) of a tile
// row: dV's 16 values of tile t at x[ξ·cs + t], the patch's rows at
// row[j·pw:], tile t's columns at 2t..2t+3. Row j first gets every tile's
// columns 0 and 1, then every tile's columns 2 and 3: the order the AVX2
// pass adds them in, 8 tiles at a time.
//
//	B·X·Bᵀ with B = [1 0 0 0; 0 1 -1 1; -1 1 1 0; 0 0 0 -1]: the rows of
//	B·X are X0, X1-X2+X3, X1+X2-X0, -X3 (each of four columns), and each
//	row (e0, e1, e2, e3) of that becomes (e0, e1-e2+e3, e1+e2-e0, -e3).
func winoDXGroup(x []float32, cs, t0, t1 int, row []float32, pw int) {
	var v [4][4][8]float32 // [row j][column q][tile]
	x = x[:15*cs+t1]
	for t := t0; t < t1; t++ {
		i := t - t0
		pt := winoPatch(x, cs, t)
		for j := range 4 {
			v[j][0][i], v[j][1][i], v[j][2][i], v[j][3][i] = pt[j][0], pt[j][1], pt[j][2], pt[j][3]
		}
	}
	for j := range 4 {
		r := row[j*pw:][:2*t1+2]
		for t := t0; t < t1; t++ {
			r[2*t] += v[j][0][t-t0]
			r[2*t+1] += v[j][1][t-t0]
		}
		for t := t0; t < t1; t++ {
			r[2*t+2] += v[j][2][t-t0]
			r[2*t+3] += v[j][3][t-t0]
		}
	}
}

// winoWeightGrad writes dW = Gᵀ·dU·G for kernels e0..e1-1 (of O·C) from mw
// ([16][O·C], planes oc apart: winoUStride) into dw [O·C][3][3].
//
//	Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1]: Gᵀ·X has rows X0 + (X1+X2)/2,
//	(X1-X2)/2, (X1+X2)/2 + X3.
func winoWeightGrad(mw []float32, oc, e0, e1 int, dw []float32) {
	for e := e0 + winoWeightGradVec(mw, oc, e0, e1, dw); e < e1; e++ {
		var r [12]float32 // Gᵀ·X, 3×4
		for j := range 4 {
			x0, x1, x2, x3 := mw[j*oc+e], mw[(4+j)*oc+e], mw[(8+j)*oc+e], mw[(12+j)*oc+e]
			s, d := (x1+x2)*0.5, (x1-x2)*0.5
			r[j], r[4+j], r[8+j] = x0+s, d, s+x3
		}
		k := dw[e*9:][:9]
		for i := range 3 {
			x0, x1, x2, x3 := r[4*i], r[4*i+1], r[4*i+2], r[4*i+3]
			s, d := (x1+x2)*0.5, (x1-x2)*0.5
			k[3*i], k[3*i+1], k[3*i+2] = x0+s, d, s+x3
		}
	}
}

// winoWeightsPar is winoWeights (winoKernel's arithmetic, so the same
// bits) with the kernels shared out over the workers, 8 at a time by AVX2
// where it can (winoKernVec); with trans, the transform of the transposed
// kernels wᵀ [C,O,3,3] (Uᵀ, planes [C][O]), read from w [O,C,3,3] in place.
func winoWeightsPar(w []float32, o, c int, trans bool) []float32 {
	oc := o * c
	us := winoUStride(o, c)
	u := getFloats(16 * us)
	w = w[:9*oc]
	parallelFor(oc, 1024, func(k0, k1 int) {
		var p [16][]float32
		for k := range p {
			p[k] = u[k*us:][:oc]
		}
		for k := k0; k < k1; {
			// a run of kernels that lie s apart in w: all of the
			// chunk, or (trans) the rest of a row of Uᵀ, a column of w
			src, s, n := k, 1, k1-k
			if trans {
				// position k = ci·O + oi of Uᵀ is kernel oi·C + ci of w
				src, s, n = k%o*c+k/o, c, min(n, o-k%o)
			}
			j := winoKernVec(w[src*9:], s, n, u[k:], us)
			for ; j < n; j++ {
				t := winoKernel(w[(src+j*s)*9:])
				for i := range p {
					p[i][k+j] = t[i]
				}
			}
			k += n
		}
	})
	return u
}
