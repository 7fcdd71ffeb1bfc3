package tensor

import "math"

// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2015): each 2×2 block of
// output ("tile") is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, where d is the 4×4 input
// patch under the tile and g a 3×3 kernel. Summed over input channels the
// elementwise product becomes, for each of the 16 positions ξ of the 4×4
// transformed tile, one product M_ξ [O, tiles] = U_ξ [O, C] · V_ξ [C,
// tiles]: 16·O·C multiply-adds per tile instead of 36·O·C for the same four
// outputs by im2col (2.25× fewer), and no column matrix. The transforms
// only add and subtract (and halve, in G), so the result differs from the
// direct sum by rounding alone.
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]

// winoMinChannels is the fewest input channels for which the Winograd path
// pays: with fewer, the products are too short (k = C) for the transforms'
// passes to be repaid.
const winoMinChannels = 16

// winoMinBatch is the smallest batch that takes the Winograd path: its
// products are short (k = C), so a few images at a time are not enough to
// repay its transforms. Measured on this project's AVX2 machine (32→64
// channels, 14×14, CPU time): even with im2col at 2 and 4 images, 20%
// faster at 8, 5% slower at 1.
const winoMinBatch = 8

// winoMulMinBatch is winoMinBatch when the products run as winoMul: its
// kernels keep even one image's 49 tiles a row busy (32→64 channels,
// 14×14, CPU time on this project's AVX2 machine: 244 µs against 282 for
// im2col at batch 1).
const winoMulMinBatch = 1

// winograd reports whether the forward pass may run as F(2×2, 3×3): a 3×3
// kernel, stride and dilation 1, one group, enough input channels. Any
// padding is allowed. (forward also asks for winoMinBatch images.)
func (g *convGeom) winograd() bool {
	return g.kh == 3 && g.kw == 3 && g.p.Stride == [2]int{1, 1} && g.p.Dilation == [2]int{1, 1} &&
		g.g == 1 && g.c >= winoMinChannels
}

// winoWeights returns U = G g Gᵀ for every kernel of w [O,C,3,3], laid out
// [16][O][C] with the planes winoUStride(o, c) apart: U_ξ is the left
// operand of product ξ.
func winoWeights(w []float32, o, c int) []float32 {
	oc := o * c
	us := winoUStride(o, c)
	u := getFloats(16 * us)
	var p [16][]float32
	for k := range p {
		p[k] = u[k*us:][:oc]
	}
	w = w[:9*oc]
	for k := range oc {
		t := winoKernel(w[k*9:])
		for j := range p {
			p[j][k] = t[j]
		}
	}
	return u
}

// winoWeightsPacked is winoWeights laid out for winoMul: for each ξ, the
// output channels in blocks of 6 (the last filled with zeros), each block
// [C][6]: U_ξ[o][c] at ξ·om·C + (o/6)·6·C + c·6 + o%6, om = O rounded up
// to 6.
func winoWeightsPacked(w []float32, o, c int) []float32 {
	om := (o + 5) / 6 * 6
	u := getFloats(16 * om * c)
	// winoWeightsPar's planes (its AVX2 pass, the same bits as
	// winoKernel), then each block of 6 rows interleaved into its run of
	// C·6 floats. Stored straight from winoKernel, the 16 streams a power
	// of 2 apart thrashed the cache: 512×512 kernels took 19.5 ms on one
	// thread, 9.5 this way (BenchmarkWinoWeightsPacked).
	us := winoUStride(o, c)
	src := winoWeightsPar(w, o, c, false)
	defer putFloats(src)
	parallelFor(16*(om/6), max(1, 256/max(c, 1)), func(j0, j1 int) {
		for j := j0; j < j1; j++ {
			k, blk := j/(om/6), j%(om/6)
			dst := u[k*om*c+blk*6*c:][:6*c]
			if blk*6+6 > o {
				clear(dst) // the last block's spare rows stay 0
			}
			var rows [6][]float32
			for r := range min(6, o-blk*6) {
				rows[r] = src[k*us+(blk*6+r)*c:][:c]
			}
			if blk*6+6 <= o {
				r0, r1, r2, r3, r4, r5 := rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]
				for ci := range c {
					d := dst[ci*6:][:6]
					d[0], d[1], d[2], d[3], d[4], d[5] = r0[ci], r1[ci], r2[ci], r3[ci], r4[ci], r5[ci]
				}
				continue
			}
			for r, row := range rows {
				for ci, v := range row {
					dst[ci*6+r] = v
				}
			}
		}
	})
	return u
}

// winoKernel is G g Gᵀ for one 3×3 kernel g, row by row: winoWeights'
// arithmetic.
func winoKernel(g []float32) [16]float32 {
	g = g[:9]
	// G·g (4×3), row by row
	a0, a1, a2 := g[0], g[1], g[2]
	b0 := (g[0] + g[3] + g[6]) * 0.5
	b1 := (g[1] + g[4] + g[7]) * 0.5
	b2 := (g[2] + g[5] + g[8]) * 0.5
	c0 := (g[0] - g[3] + g[6]) * 0.5
	c1 := (g[1] - g[4] + g[7]) * 0.5
	c2 := (g[2] - g[5] + g[8]) * 0.5
	d0, d1, d2 := g[6], g[7], g[8]
	// (G·g)·Gᵀ
	return [16]float32{
		a0, (a0 + a1 + a2) * 0.5, (a0 - a1 + a2) * 0.5, a2,
		b0, (b0 + b1 + b2) * 0.5, (b0 - b1 + b2) * 0.5, b2,
		c0, (c0 + c1 + c2) * 0.5, (c0 - c1 + c2) * 0.5, c2,
		d0, (d0 + d1 + d2) * 0.5, (d0 - d1 + d2) * 0.5, d2,
	}
}

// winoUStride is the distance between U's planes: O·C and 16 floats more,
// so that the 16 streams of stores in winoWeights do not fall on the same
// cache sets when O·C is a multiple of a large power of 2 (64·32 floats: the
// stores ran 10 times slower).
func winoUStride(o, c int) int { return o*c + 16 }

// winoForward is forward for a convolution that winograd accepts (by
// F(4×4, 3×3) where dst.wu is its transformed weight, which the callers
// choose by wino43; else as follows): the
// images go in blocks (as many as keep their transformed tiles, products
// and outputs in L2; the blocks depend on the geometry only), each block
// transformed, multiplied (16 products, each on one goroutine: the results
// do not depend on the thread count), transformed back and laid out by
// layoutRange, which adds the bias and applies what dst asks for.
//
// The tiles of an image are numbered row by row (th rows of tw). The
// block's nt = cnt·th·tw tiles lie in V and M as winoLayout says.
func (g *convGeom) winoForward(x, w, bias *Tensor, dst convOut) {
	var bd []float32
	if bias != nil {
		bd = bias.data
	}
	if g.isWino43U(dst.wu) {
		g.wino43Forward(x, w, bias, dst)
		return
	}
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	tpi, ohw := th*tw, g.oh*g.ow
	vec := winoMulOK()
	u := dst.wu
	switch {
	case u != nil && (!vec || len(u) == 16*((g.o+5)/6*6)*g.c): // a WinogradFilter's
	case vec:
		u = winoWeightsPacked(w.data, g.o, g.c)
		defer putFloats(u)
	default:
		u = winoWeights(w.data, g.o, g.c)
		defer putFloats(u)
	}
	per := 16*(g.c+g.o)*tpi + g.o*ohw
	nb := roundUp4(max(1, (g.n*per+2*l2Floats-1)/(2*l2Floats)))
	sub := max(1, (g.n+nb-1)/nb)
	nsub := (g.n + sub - 1) / sub
	// where each tile's top left output lies in its plane
	pos := make([]int32, sub*tpi)
	for t := range pos {
		ty, tx := t%tpi/tw, t%tpi%tw
		pos[t] = int32(2*ty*g.ow + 2*tx)
	}
	big := newWinoLayout(sub*tpi, g.o, vec)
	parallelFor(nsub, 1, func(s0, s1 int) {
		v := getFloats(16 * g.c * big.ldv)
		m := getFloats(16 * big.om * big.ldm)
		ys := getFloats(g.o * sub * ohw)
		buf := getFloats(16 * (th + 1) * (tw + 1))
		defer func() { putFloats(v); putFloats(m); putFloats(ys); putFloats(buf) }()
		for s := s0; s < s1; s++ {
			i0 := s * sub
			cnt := min(sub, g.n-i0)
			nt := cnt * tpi
			lay := newWinoLayout(nt, g.o, vec)
			input := func(c0, c1 int, buf []float32) {
				g.winoInputRange(x.data, i0, cnt, c0, c1, v, lay.ldv, buf)
				if !vec {
					return
				}
				for k := range 16 {
					for c := c0; c < c1; c++ {
						r := k*g.c + c
						clear(v[r*lay.ldv+nt : (r+1)*lay.ldv])
					}
				}
			}
			if nsub == 1 {
				// A single block: its input channels split over the
				// workers, as its products and layout are below.
				parallelFor(g.c, 1, func(c0, c1 int) {
					b := getFloats(len(buf))
					input(c0, c1, b)
					putFloats(b)
				})
			} else {
				input(0, g.c, buf)
			}
			mul := func(k0, k1 int) {
				for k := k0; k < k1; k++ {
					if vec {
						// M_ξ [O, nt] = U_ξ [O, C] · V_ξ [C, nt], U packed
						winoMulVec(u[k*lay.om*g.c:][:lay.om*g.c], v[k*g.c*lay.ldv:][:g.c*lay.ldv], lay.ldv, g.c,
							m[k*lay.om*lay.ldm:][:lay.om*lay.ldm], lay.ldm, nt)
						continue
					}
					// M_ξ [O, nt] = U_ξ [O, C] · V_ξ [C, nt]
					sgemmSerial(false, false, g.o, nt, g.c, 1,
						u[k*winoUStride(g.o, g.c):], g.c, v[k*g.c*lay.ldv:], lay.ldv, 0, m[k*lay.om*lay.ldm:], lay.ldm)
				}
			}
			if nsub == 1 {
				// A single block (a batch of one): its products and
				// layout are split over the workers instead.
				parallelFor(16, 1, mul)
				parallelFor(g.o, 1, func(o0, o1 int) {
					if dst.pool && dst.bn != nil && winoFusePool {
						g.winoPooled(m, lay, cnt, i0, o0, o1, bd, dst, pos, ys)
						return
					}
					g.winoOutput(m, lay, cnt, o0, o1, ys)
					g.layoutRange(ys, false, i0, cnt, 0, cnt, o0, o1, bd, dst)
				})
				continue
			}
			mul(0, 16)
			if dst.pool && dst.bn != nil && winoFusePool {
				g.winoPooled(m, lay, cnt, i0, 0, g.o, bd, dst, pos, ys)
				continue
			}
			g.winoOutput(m, lay, cnt, 0, g.o, ys)
			g.layoutRange(ys, false, i0, cnt, 0, cnt, 0, g.o, bd, dst)
		}
	})
}

// winoLayout is where a block's nt tiles lie: V is [16][C][ldv] (ldv ≥
// nt+8: the input transform's last vector writes past its row), M is
// [16][om][ldm] (om ≥ O rows, ldm ≥ nt). For winoMul, whose kernels make
// 6 rows of 16, 8 or 4 columns at a time, om is rounded up to 6 and ldm to 4,
// with ldv = ldm+8 (the columns past nt are zeroed; their products are
// never read); for sgemm, they are O, nt+8 and nt.
type winoLayout struct {
	ldv, om, ldm int
}

func newWinoLayout(nt, o int, vec bool) winoLayout {
	if vec {
		n4 := (nt + 3) &^ 3
		return winoLayout{ldv: n4 + 8, om: (o + 5) / 6 * 6, ldm: n4}
	}
	return winoLayout{ldv: nt + 8, om: o, ldm: nt}
}

// winoPass sets, for i < n, out[i] = e[i] - e[i+s], out[stride+i] =
// o[i] + e[i+s], out[2·stride+i] = e[i+s] - o[i] and out[3·stride+i] =
// o[i] - o[i+s]: Bᵀ·d over four rows d0..d3 = e, o, e+s, o+s (or d·B over
// four columns).
func winoPass(e, o []float32, s, n int, out []float32, stride int) {
	k := winoInVec(e, o, s, n, out, stride)
	o0, o1, o2, o3 := out[:n], out[stride:][:n], out[2*stride:][:n], out[3*stride:][:n]
	e0, e1, d1, d3 := e[:n], e[s:][:n], o[:n], o[s:][:n]
	for i := k; i < n; i++ {
		o0[i] = e0[i] - e1[i]
		o1[i] = d1[i] + e1[i]
		o2[i] = e1[i] - d1[i]
		o3[i] = d1[i] - d3[i]
	}
}

// winoInput writes V = Bᵀ d B for every tile of images n0..n0+cnt-1 and
// every input channel into v, laid out [16][C][ldv] (ldv ≥ cnt·tiles + 8).
// buf is scratch for 16·(th+1)·(tw+1) floats: the zero-padded plane split into its even
// and odd rows and columns (padded row 2r+a, column 2k+b in quarter 2a+b
// at r·(tw+1)+k), the rows' transforms of the even and of the odd rows, and
// the padded plane's even rows, then its odd rows.
func (g *convGeom) winoInput(x []float32, n0, cnt int, v []float32, ldv int, buf []float32) {
	g.winoInputRange(x, n0, cnt, 0, g.c, v, ldv, buf)
}

// winoInputRange is winoInput for input channels c0..c1-1.
func (g *convGeom) winoInputRange(x []float32, n0, cnt, c0, c1 int, v []float32, ldv int, buf []float32) {
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	tw1 := tw + 1
	l := (th + 1) * tw1
	tpi := th * tw
	quads := buf[:4*l]
	hs := buf[4*l:] // [parity][j][l], and room for the last row's vector
	pw := 2 * tw1
	l2 := 2 * l
	prows := buf[12*l:][:2*l2] // the padded plane's even rows, then its odd rows
	hw := g.h * g.w
	py, px := g.p.Padding[0], g.p.Padding[1]
	n := min(g.w, pw-px)
	cs := g.c * ldv // stride between the ξ planes
	for i := range cnt {
		img := x[(n0+i)*g.c*hw:][:g.c*hw]
		for ci := c0; ci < c1; ci++ {
			plane := img[ci*hw:][:hw]
			// The plane inside its padding, its even and odd rows apart,
			// then each split into its even and odd columns; the tiles
			// past an odd output's edge read zeros too.
			clear(prows)
			for iy := range g.h {
				r := iy + py
				if r >= 2*(th+1) {
					break
				}
				copy(prows[(r&1)*l2+(r>>1)*pw+px:][:n], plane[iy*g.w:][:n])
			}
			for par := range 2 {
				src := prows[par*l2:][:l2]
				ev, od := quads[par*2*l:][:l], quads[(par*2+1)*l:][:l]
				k := winoSplitVec(src, l, ev, od)
				for i := k; i < l; i++ {
					ev[i], od[i] = src[2*i], src[2*i+1]
				}
			}
			base := ci*ldv + i*tpi
			if winoTilesVec(buf, l, tw1, th, tw, v[base:], cs) {
				continue
			}
			// d·B along each row, the even rows and the odd rows apart
			for par := range 2 {
				h := hs[par*4*l:][:4*l]
				winoPass(quads[par*2*l:][:l], quads[(par*2+1)*l:][:l], 1, l-1, h, l)
				for j := range 4 {
					h[j*l+l-1] = 0 // a spare tile's
				}
			}
			// Bᵀ·(d·B) down the columns, into the ξ planes
			for j := range 4 {
				e, o, out := hs[j*l:], hs[(4+j)*l:], v[j*cs+base:]
				if winoRowsVec(e, o, tw1, th, tw, tw1, out, 4*cs) {
					continue
				}
				for ty := range th {
					winoPass(e[ty*tw1:], o[ty*tw1:], tw1, tw, out[ty*tw:], 4*cs)
				}
			}
		}
	}
}

// winoOutput writes Y = Aᵀ M A for output channels o0..o1-1 of every tile
// of the block's cnt images, from m ([16][O][cnt·tiles]) into ys
// ([O, cnt·oh·ow], the layout layoutRange reads), cutting the tiles at an
// winoOutTile is the scalar output transform Aᵀ·M·A of tile t, for the
// tiles the vector passes leave: the 2×2 outputs y00, y01, y10, y11 from
// the tile's 16 products mk[0..15][t].
func winoOutTile(mk *[16][]float32, t int) (y00, y01, y10, y11 float32) {
	// Aᵀ M: rows
	a0 := mk[0][t] + mk[4][t] + mk[8][t]
	a1 := mk[1][t] + mk[5][t] + mk[9][t]
	a2 := mk[2][t] + mk[6][t] + mk[10][t]
	a3 := mk[3][t] + mk[7][t] + mk[11][t]
	b0 := mk[4][t] - mk[8][t] - mk[12][t]
	b1 := mk[5][t] - mk[9][t] - mk[13][t]
	b2 := mk[6][t] - mk[10][t] - mk[14][t]
	b3 := mk[7][t] - mk[11][t] - mk[15][t]
	// (Aᵀ M) A: columns
	return a0 + a1 + a2, a1 - a2 - a3, b0 + b1 + b2, b1 - b2 - b3
}

// odd output's edge.
func (g *convGeom) winoOutput(m []float32, lay winoLayout, cnt, o0, o1 int, ys []float32) {
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	tpi, ohw := th*tw, g.oh*g.ow
	nt := cnt * tpi
	ms := lay.om * lay.ldm
	ld := cnt * ohw
	yt := getFloats(4 * nt)
	defer putFloats(yt)
	y00, y01, y10, y11 := yt[:nt], yt[nt:2*nt], yt[2*nt:3*nt], yt[3*nt:]
	for o := o0; o < o1; o++ {
		mo := m[o*lay.ldm:]
		k := winoOutVec(mo, ms, nt, yt, nt)
		var mk [16][]float32
		for j := range 16 {
			mk[j] = mo[j*ms:][:nt]
		}
		for t := k; t < nt; t++ {
			y00[t], y01[t], y10[t], y11[t] = winoOutTile(&mk, t)
		}
		yo := ys[o*ld:][:ld]
		for i := range cnt {
			yi := yo[i*ohw:][:ohw]
			for ty := range th {
				t0 := i*tpi + ty*tw
				y := 2 * ty
				r0 := yi[y*g.ow:][:g.ow]
				for tx := winoZipVec(r0, y00[t0:][:g.ow/2], y01[t0:]); tx < g.ow/2; tx++ {
					r0[2*tx] = y00[t0+tx]
					r0[2*tx+1] = y01[t0+tx]
				}
				if g.ow&1 != 0 {
					r0[g.ow-1] = y00[t0+tw-1]
				}
				if y+1 == g.oh {
					continue
				}
				r1 := yi[(y+1)*g.ow:][:g.ow]
				for tx := winoZipVec(r1, y10[t0:][:g.ow/2], y11[t0:]); tx < g.ow/2; tx++ {
					r1[2*tx] = y10[t0+tx]
					r1[2*tx+1] = y11[t0+tx]
				}
				if g.ow&1 != 0 {
					r1[g.ow-1] = y10[t0+tw-1]
				}
			}
		}
	}
}

// winoFusePool lets the pooled forward pass take winoPooled; off, a hook
// for the tests that compare it with winoOutput and layoutRange.
var winoFusePool = true

// poolLanes returns the constant block the AVX2 conv–batch norm–ReLU–2×2
// pool kernels read (winoPoolVec, conv1PoolVec): lanes 0–31 a channel's
// bias, mean, scale and shift (setBNLanes), 32–63 the offsets, as int32
// bits, of a pooling window's other three positions (ow+1, ow, 1), then 0.
func poolLanes(ow int) (k [64]float32) {
	for j := range 8 {
		k[32+j] = math.Float32frombits(uint32(ow + 1))
		k[40+j] = math.Float32frombits(uint32(ow))
		k[48+j] = math.Float32frombits(1)
	}
	return k
}

// setBNLanes broadcasts output channel o's bias (bd[o], or -0 without a
// bias: x + -0 is x for every x, as the copy layoutRange makes then) and
// batch-norm factors into lanes 0–31 of k.
func setBNLanes(k *[64]float32, bd []float32, bn *convBN, o int) {
	b := float32(math.Copysign(0, -1))
	if bd != nil {
		b = bd[o]
	}
	for j := range 8 {
		k[j], k[8+j], k[16+j], k[24+j] = b, bn.mean[o], bn.scale[o], bn.shift[o]
	}
}

// winoPooled is winoOutput followed by layoutRange for a batch norm, ReLU
// and 2×2 pooling (dst.bn and dst.pool), in one pass: the pooling windows
// are the Winograd tiles, so each tile's four outputs go through the bias,
// the batch norm and the ReLU, as layoutRange computes them, and straight
// into their maximum, never stored. The results are layoutRange's bit for
// bit; a plane that holds a NaN is redone by winoOutput and layoutRange
// (ys is their scratch), which give NaN its place in the pooling.
func (g *convGeom) winoPooled(m []float32, lay winoLayout, cnt, n0, o0, o1 int, bd []float32, dst convOut, pos []int32, ys []float32) {
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	tpi := th * tw
	nt := cnt * tpi
	ms := lay.om * lay.ldm
	pohw := dst.ph * dst.pw
	tp := getFloats(nt)
	ta := intPool.get(nt)
	defer func() { putFloats(tp); intPool.put(ta) }()
	k := poolLanes(g.ow)
	for o := o0; o < o1; o++ {
		setBNLanes(&k, bd, dst.bn, o)
		b, mean, scale, shift := k[0], k[8], k[16], k[24]
		mo := m[o*lay.ldm:]
		var mk [16][]float32
		for j := range 16 {
			mk[j] = mo[j*ms:][:nt]
		}
		// pool lays out tiles t0..t0+len(out)-1 into out and arg, and
		// reports whether it met a NaN.
		pool := func(t0 int, out []float32, arg []int32) bool {
			n := len(out)
			done, nan := winoPoolVec(mo[t0:], ms, n, &k, pos[t0:], out, arg)
			for t := t0 + done; t < t0+n; t++ {
				var v [4]float32
				v[0], v[1], v[2], v[3] = winoOutTile(&mk, t)
				for q, x := range v {
					x = (x+b-mean)*scale + shift
					v[q] = max(x+0, 0)
					if v[q] != v[q] {
						nan = true
					}
				}
				best := max(max(v[0], v[1]), max(v[2], v[3]))
				off := int32(g.ow + 1)
				if v[2] == best {
					off = int32(g.ow)
				}
				if v[1] == best {
					off = 1
				}
				if v[0] == best {
					off = 0
				}
				out[t-t0], arg[t-t0] = best, pos[t]+off
			}
			return nan
		}
		nan := false
		if dst.pw == tw && dst.ph == th {
			// An even output: every tile is a window, and an image's
			// tiles are its pooled plane, written in place.
			for i := range cnt {
				q := ((n0+i)*g.o + o) * pohw
				nan = pool(i*tpi, dst.pooled[q:][:pohw], dst.arg[q:][:pohw]) || nan
			}
		} else {
			nan = pool(0, tp[:nt], ta[:nt])
		}
		if nan {
			g.winoOutput(m, lay, cnt, o, o+1, ys)
			g.layoutRange(ys, false, n0, cnt, 0, cnt, o, o+1, bd, dst)
			continue
		}
		if dst.pw == tw && dst.ph == th {
			continue
		}
		for i := range cnt {
			q := ((n0+i)*g.o + o) * pohw
			for py := range dst.ph {
				src := i*tpi + py*tw
				copy(dst.pooled[q+py*dst.pw:][:dst.pw], tp[src:][:dst.pw])
				copy(dst.arg[q+py*dst.pw:][:dst.pw], ta[src:][:dst.pw])
			}
		}
	}
}

// Conv2dBatchNormReLUWinograd is Conv2dBatchNormReLU with its convolution,
// where the kernel is 3×3 with stride and dilation 1, one group and at
// least 16 input channels (and, on a CPU without AVX2 and FMA, the batch
// holds at least 8 images), computed by Winograd's F(2×2, 3×3): 2.25×
// fewer multiply-adds and no im2col columns. The result differs from
// Conv2dBatchNormReLU's by rounding only (the transforms add, subtract and
// halve; measured within 7e-7 of the largest output, as close to the exact
// sum as im2col's), not bit for bit. With AVX2 and FMA, without the
// pooling, where an image's output holds at least 16 tiles of 4×4 (from
// 13×13), the convolution is F(4×4, 3×3) instead (4× fewer multiply-adds
// than im2col), which rounds more: its transforms multiply by up to 8 and
// by sixths (measured within 8e-6 of the largest output at 64 input
// channels, against 4–7e-7 for F(2×2, 3×3) and im2col). The result is
// the same for any thread count and, with AVX2 and FMA, for any batch
// (each image's values are those it gets alone). A 3×3 stride-1
// convolution of one input channel followed by the 2×2 pooling runs
// directly (nine FMAs an output in im2col's order,
// the batch norm, ReLU and pooling in registers): with AVX2 and FMA,
// Conv2dBatchNormReLU's values bit for bit. Other convolutions take
// Conv2dBatchNormReLU's path, bit for bit. For inference.
func Conv2dBatchNormReLUWinograd(x, w, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias *Tensor, relu, pool bool) (*Tensor, []int32) {
	return conv2dBNReLU(x, w, nil, bias, p, st, bnWeight, bnBias, relu, pool, true)
}

// winoBatch is the smallest batch that takes the Winograd path.
func winoBatch() int {
	if winoMulOK() {
		return winoMulMinBatch
	}
	return winoMinBatch
}
