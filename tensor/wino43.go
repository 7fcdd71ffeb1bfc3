package tensor

// Winograd's F(4×4, 3×3) (Lavin and Gray 2015, points 0, ±1, ±2 and ∞):
// each 4×4 block of output is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over the 6×6 input
// patch d under it, so the products are 36 for 16 outputs (2.25 an output)
// against F(2×2, 3×3)'s 16 for 4 (4 an output). Used for inference only,
// with AVX2 and FMA, where wino43 says it pays; the products are the same
// winoMulVec kernels, one per ξ of the 6×6 transformed tile.
//
//	Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//	G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
//	Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//
// The transforms are passes of one kernel each over rows of consecutive
// tiles (wino43In6, wino43Out6): the padded plane's rows split into their
// four column phases make 8 consecutive tiles' element j one load. Their
// multiplications are separate from their additions (no FMA), so the AVX2
// passes and the scalar ones give the same bits. F(4×4, 3×3) rounds more
// than F(2×2, 3×3): its transforms multiply by up to 8 and by sixths
// (measured within 3–7e-6 of the largest output against a float64 direct
// sum, 64 input channels the worst; F(2×2, 3×3) and im2col 2–7e-7).

// wino43Kernel is G g Gᵀ (6×6, row by row) for one 3×3 kernel g: the
// scalar twin of wino43U6, its operations in its order (float32, no FMA).
func wino43Kernel(g []float32) (u [36]float32) {
	g = g[:9]
	// G·g, by the columns of g
	a0, a1, a2, a3, a4, a5 := wino43G(g[0], g[3], g[6])
	b0, b1, b2, b3, b4, b5 := wino43G(g[1], g[4], g[7])
	c0, c1, c2, c3, c4, c5 := wino43G(g[2], g[5], g[8])
	t := [6][3]float32{{a0, b0, c0}, {a1, b1, c1}, {a2, b2, c2}, {a3, b3, c3}, {a4, b4, c4}, {a5, b5, c5}}
	for i := range 6 {
		row := u[i*6:][:6]
		row[0], row[1], row[2], row[3], row[4], row[5] = wino43G(t[i][0], t[i][1], t[i][2])
	}
	return u
}

// wino43G is G·(a, b, c), G's six rows a/4, -(a+b+c)/6, -(a-b+c)/6,
// a/24+b/12+c/6, a/24-b/12+c/6 and c, by multiplications by the rounded
// reciprocals (wino43UConsts' values).
func wino43G(a, b, c float32) (r0, r1, r2, r3, r4, r5 float32) {
	const minusSixth, sixth, twelfth, twentyFourth = float32(-1.0 / 6), float32(1.0 / 6), float32(1.0 / 12), float32(1.0 / 24)
	s := a + c
	e := float32(a*twentyFourth) + float32(c*sixth)
	f := b * twelfth
	return a * 0.25, (s + b) * minusSixth, (s - b) * minusSixth, e + f, e - f, c
}

// wino43WeightsPacked is winoWeightsPacked for F(4×4, 3×3): for each of
// the 36 ξ, the output channels in blocks of 6 (the last filled with
// zeros), each block [C][6], the planes om·C apart (om = O rounded up to 6).
func wino43WeightsPacked(w []float32, o, c int) []float32 {
	om := (o + 5) / 6 * 6
	u := getFloats(36 * om * c)
	var p [36][]float32
	for k := range p {
		p[k] = u[k*om*c:][:om*c]
	}
	w = w[:9*o*c]
	// Each block of 6 output channels fills a run of C·6 floats in each
	// plane, made wino43Chunk input channels at a time in a scratch
	// [36][6·wino43Chunk+2] (by wino43U6, the block's 6 kernels a vector,
	// where the block is full) and copied run by run: stored straight,
	// the 36 streams a power of 2 apart thrash the cache. The workers'
	// split does not change a bit.
	parallelFor(om/6, max(1, 512/max(c, 1)), func(b0, b1 int) {
		const rs = 6*wino43Chunk + 2 // tmp's rows: wino43U6 writes 2 past a run
		tmp := getFloats(36 * rs)
		defer putFloats(tmp)
		for blk := b0; blk < b1; blk++ {
			for c0 := 0; c0 < c; c0 += wino43Chunk {
				cn := min(wino43Chunk, c-c0)
				run := 6 * cn
				if blk*6+6 <= o && wino43UVec(w, c, blk*6, c0, cn, tmp, rs) {
					for k := range 36 {
						copy(p[k][blk*6*c+c0*6:][:run], tmp[k*rs:][:run])
					}
					continue
				}
				for r := range 6 {
					oi := blk*6 + r
					if oi >= o {
						for k := range 36 {
							for ci := range cn {
								tmp[k*rs+ci*6+r] = 0
							}
						}
						continue
					}
					for ci := range cn {
						t := wino43Kernel(w[(oi*c+c0+ci)*9:])
						for k := range 36 {
							tmp[k*rs+ci*6+r] = t[k]
						}
					}
				}
				for k := range 36 {
					copy(p[k][blk*6*c+c0*6:][:run], tmp[k*rs:][:run])
				}
			}
		}
	})
	return u
}

// wino43In6Go is Bᵀ·d for n columns of six rows d0..d5 (in[k][i]), into
// out[k·stride+i] for the six rows of the result: the scalar twin of
// wino43In6, the same operations in the same order.
func wino43In6Go(in *[6][]float32, out []float32, stride, n int) {
	d0, d1, d2, d3, d4, d5 := in[0][:n], in[1][:n], in[2][:n], in[3][:n], in[4][:n], in[5][:n]
	o0, o1, o2 := out[:n], out[stride:][:n], out[2*stride:][:n]
	o3, o4, o5 := out[3*stride:][:n], out[4*stride:][:n], out[5*stride:][:n]
	for i := range n {
		a, b, c, d, e, f := d0[i], d1[i], d2[i], d3[i], d4[i], d5[i]
		p := e - c
		q := float32(2 * (d - b))
		s1 := float32(4 * (b + c))
		r1 := float32(4 * (b - c))
		o0[i] = float32(4*a) + e - float32(5*c)
		o1[i] = (d + e) - s1
		o2[i] = (e - d) + r1
		o3[i] = p + q
		o4[i] = p - q
		o5[i] = float32(4*b) + f - float32(5*d)
	}
}

// wino43Out6Go is Aᵀ·m for n columns of six rows m0..m5 (in[k][i]), into
// out[k·stride+i] for the four rows of the result: the scalar twin of
// wino43Out6.
func wino43Out6Go(in *[6][]float32, out []float32, stride, n int) {
	m0, m1, m2, m3, m4, m5 := in[0][:n], in[1][:n], in[2][:n], in[3][:n], in[4][:n], in[5][:n]
	o0, o1, o2, o3 := out[:n], out[stride:][:n], out[2*stride:][:n], out[3*stride:][:n]
	for i := range n {
		a1, b1 := m1[i]+m2[i], m1[i]-m2[i]
		a2, b2 := m3[i]+m4[i], m3[i]-m4[i]
		o0[i] = m0[i] + a1 + a2
		o1[i] = b1 + float32(2*b2)
		o2[i] = a1 + float32(4*a2)
		o3[i] = b1 + float32(8*b2) + m5[i]
	}
}

// wino43In is wino43In6 where it can run (n rounded up to 8: the slices
// must hold that many), else wino43In6Go.
func wino43In(in *[6][]float32, out []float32, stride, n int) {
	if !wino43Vec(in, out, stride, n, 6, false) {
		wino43In6Go(in, out, stride, n)
	}
}

// wino43Out is wino43Out6 where it can run, else wino43Out6Go.
func wino43Out(in *[6][]float32, out []float32, stride, n int) {
	if !wino43Vec(in, out, stride, n, 4, true) {
		wino43Out6Go(in, out, stride, n)
	}
}

// wino43MinTiles is the fewest 4×4 tiles an image's output holds for
// which winoForward takes F(4×4, 3×3) rather than F(2×2, 3×3). It counts
// one image's tiles, not the batch's, so that an image's values do not
// depend on the batch it comes in, and holds for prepared weights
// (WinogradFilter) and weights transformed in the call alike, so that
// both give the same values bit for bit. Below it the products are too
// short to repay streaming 2.25 times more transformed weight for each
// block of tiles. Measured on this project's AVX2 machine
// (BenchmarkWino43: one thread, CPU time, batch norm, residual and ReLU;
// ms, F(2,3) against F(4,3), with a prepared weight, then transforming it
// in the call; under load from other work, ±15%), at batch 1: 64
// channels of 56² (196 tiles) 7.3 / 4.3, 6.6 / 4.0; 128 of 28² (49) 4.4
// / 3.5, 4.9 / 4.6; 256 of 14² (16) 4.3 / 3.9, 8.3 / 8.5; 512 of 7² (4)
// 4.5 / 7.0, 26 / 22; at batch 32: 184 / 108, 189 / 108; 124 / 97, 123
// / 95; 121 / 105, 122 / 107; 142 / 104, 163 / 123. So ResNet's 56², 28²
// and 14² stages take it; its 7² stage would gain at large batches only.
const wino43MinTiles = 16

// wino43 reports whether winoForward runs a convolution that winograd
// accepts as F(4×4, 3×3): for inference only (its callers), with AVX2 and
// FMA, not pooled (the fused pooling reads F(2×2, 3×3)'s tiles), with
// enough tiles in an image.
func (g *convGeom) wino43(pool bool) bool {
	th, tw := g.wino43Tiles()
	return !pool && winoMulOK() && th*tw >= wino43MinTiles
}

// isWino43U reports whether u is laid out as wino43WeightsPacked's
// transform for g's weight (36 planes; F(2×2, 3×3)'s hold 16).
func (g *convGeom) isWino43U(u []float32) bool {
	return winoMulOK() && len(u) > 0 && len(u) == 36*((g.o+5)/6*6)*g.c
}

// winoWeightsFor returns the transformed weight winoForward is to take
// for a convolution by g that winograd accepts (pool: with the fused
// pooling): F(4×4, 3×3)'s where wino43 says so (f's, made on its first
// use, where made says f was made from w's values; else a new one, fresh,
// for the caller to hand back by putFloats); else F(2×2, 3×3)'s from f
// where made, or nil, for winoForward to make.
func (g *convGeom) winoWeightsFor(w *Tensor, f *WinogradFilter, made, pool bool) (u []float32, fresh bool) {
	if !g.wino43(pool) {
		if made {
			return f.u, false
		}
		return nil, false
	}
	if made {
		return f.weights43(), false
	}
	return wino43WeightsPacked(w.data, g.o, g.c), true
}

// weights43 returns f's weight transformed for F(4×4, 3×3), made on the
// first call (from the copy f keeps: the same values as the weight's
// while f is not stale) and kept.
func (f *WinogradFilter) weights43() []float32 {
	f.once43.Do(func() {
		u := wino43WeightsPacked(f.w, f.o, f.c)
		f.u43 = append([]float32(nil), u...) // out of the pool: f keeps it
		putFloats(u)
	})
	return f.u43
}

// wino43Chunk is how many input channels wino43WeightsPacked transforms
// into its scratch at a time: 36·6·64 floats (55 kB) stay in L2.
const wino43Chunk = 64

// wino43BlockTiles is the fewest tiles a block of images holds (where
// the batch has them): each block streams all of U (36·O·C floats, 37 MB
// at 512 channels) through the products, which a few tiles do not repay.
var wino43BlockTiles = 64

// wino43Tiles returns the 4×4 tiles of the output, down and across.
func (g *convGeom) wino43Tiles() (th, tw int) { return (g.oh + 3) / 4, (g.ow + 3) / 4 }

// wino43Forward is winoForward by F(4×4, 3×3), for a convolution that
// winograd accepts, with winoMulVec's kernels (winoMulOK): the images in
// blocks that keep their transformed tiles, products and outputs in L2
// (the blocks depend on the geometry only), each block transformed (V =
// Bᵀ d B, [36][C][ldv]), multiplied (36 products M_ξ = U_ξ V_ξ, each on one
// goroutine), transformed back (Aᵀ M A, cut at the output's edges) into
// [O, cnt·oh·ow] and laid out by layoutRange, which adds the bias and
// applies what dst asks for (not pool). dst.wu, where it holds 36 planes,
// is wino43WeightsPacked's transform of w.
func (g *convGeom) wino43Forward(x, w, bias *Tensor, dst convOut) {
	var bd []float32
	if bias != nil {
		bd = bias.data
	}
	th, tw := g.wino43Tiles()
	tpi, ohw := th*tw, g.oh*g.ow
	om := (g.o + 5) / 6 * 6
	u := dst.wu
	if len(u) != 36*om*g.c {
		u = wino43WeightsPacked(w.data, g.o, g.c)
		defer putFloats(u)
	}
	per := 36*(g.c+g.o)*tpi + g.o*ohw
	nb := roundUp4(max(1, (g.n*per+4*l2Floats-1)/(4*l2Floats)))
	sub := max(1, (g.n+nb-1)/nb, min(g.n, (wino43BlockTiles+tpi-1)/tpi))
	nsub := (g.n + sub - 1) / sub
	big := newWinoLayout(sub*tpi, g.o, true)
	parallelFor(nsub, 1, func(s0, s1 int) {
		v := getFloats(36 * g.c * big.ldv)
		m := getFloats(36*big.om*big.ldm + 8) // the output pass reads up to 7 past
		ys := getFloats(g.o * sub * ohw)
		defer func() { putFloats(v); putFloats(m); putFloats(ys) }()
		for s := s0; s < s1; s++ {
			i0 := s * sub
			cnt := min(sub, g.n-i0)
			nt := cnt * tpi
			lay := newWinoLayout(nt, g.o, true)
			input := func(c0, c1 int) {
				g.wino43InputRange(x.data, i0, cnt, c0, c1, v, lay.ldv)
				for k := range 36 {
					for c := c0; c < c1; c++ {
						r := k*g.c + c
						clear(v[r*lay.ldv+nt : (r+1)*lay.ldv])
					}
				}
			}
			mul := func(k0, k1 int) {
				for k := k0; k < k1; k++ {
					// M_ξ [O, nt] = U_ξ [O, C] · V_ξ [C, nt], U packed
					winoMulVec(u[k*lay.om*g.c:][:lay.om*g.c], v[k*g.c*lay.ldv:][:g.c*lay.ldv], lay.ldv, g.c,
						m[k*lay.om*lay.ldm:][:lay.om*lay.ldm], lay.ldm, nt)
				}
			}
			if nsub == 1 {
				// A single block (a batch of one): its transforms and
				// products split over the workers.
				parallelFor(g.c, 1, input)
				parallelFor(36, 1, mul)
				parallelFor(g.o, 1, func(o0, o1 int) {
					g.wino43Output(m, lay, cnt, o0, o1, ys)
					g.layoutRange(ys, false, i0, cnt, 0, cnt, o0, o1, bd, dst)
				})
				continue
			}
			input(0, g.c)
			mul(0, 36)
			g.wino43Output(m, lay, cnt, 0, g.o, ys)
			g.layoutRange(ys, false, i0, cnt, 0, cnt, 0, g.o, bd, dst)
		}
	})
}

// wino43InputRange writes V = Bᵀ d B for every 4×4 tile of images
// n0..n0+cnt-1 and input channels c0..c1-1 into v ([36][C][ldv], ldv ≥
// cnt·tiles + 8; an image's tiles row by row, ξ = 6i+j for row i, column j
// of the transformed tile). Each padded row is split into its four column
// phases (column 4k+q at phase q, k), so that d·B along the rows is one
// pass over the row's tiles; the rows' results go by their row's phase
// too, which makes Bᵀ·(d·B) down the columns one pass over all the
// image's tiles. The passes run 8 tiles at a time and write up to 7 past
// their row, which the next row (or the caller) overwrites.
func (g *convGeom) wino43InputRange(x []float32, n0, cnt, c0, c1 int, v []float32, ldv int) {
	th, tw := g.wino43Tiles()
	tpi, hw := th*tw, g.h*g.w
	g1 := (tw + 8) &^ 7 // the row's groups of four columns, rounded up to 8
	pl := g1 + 8        // a phase, and room for a vector past it
	hl := (th+1)*tw + 8
	buf := getFloats(4*g1 + 4*pl + 24*hl)
	defer putFloats(buf)
	prow, phs, hs := buf[:4*g1], buf[4*g1:][:4*pl], buf[4*g1+4*pl:]
	py, px := g.p.Padding[0], g.p.Padding[1]
	n := min(g.w, 4*(tw+1)-px)
	cs := g.c * ldv
	var in [6][]float32
	for i := range cnt {
		img := x[(n0+i)*g.c*hw:][:g.c*hw]
		for ci := c0; ci < c1; ci++ {
			plane := img[ci*hw:][:hw]
			// the padded row: its padding is never written, but for the
			// rows under the plane, which follow its last row
			clear(prow)
			for r := range 4*th + 2 {
				iy := r - py
				if iy >= 0 && iy < g.h {
					copy(prow[px:][:n], plane[iy*g.w:][:n])
				} else if iy == g.h {
					clear(prow)
				}
				if !wino43SplitVec(prow, tw+1, phs, pl) {
					for k := range tw + 1 {
						for q := range 4 {
							phs[q*pl+k] = prow[4*k+q]
						}
					}
				}
				// d·B along the row: element j of the row's tiles
				// into hs[j][r%4][(r/4)·tw:]
				for q := range 4 {
					in[q] = phs[q*pl:]
				}
				in[4], in[5] = phs[1:], phs[pl+1:]
				wino43In(&in, hs[(r&3)*hl+(r>>2)*tw:], 4*hl, tw)
			}
			// Bᵀ·(d·B) down the columns: rows 4ty..4ty+5 of the tiles'
			// column j are phases 0–3 at ty and 0–1 at ty+1
			base := ci*ldv + i*tpi
			for j := range 6 {
				h := hs[j*4*hl:][:4*hl]
				for q := range 4 {
					in[q] = h[q*hl:]
				}
				in[4], in[5] = h[tw:], h[hl+tw:]
				wino43In(&in, v[j*cs+base:], 6*cs, tpi)
			}
		}
	}
}

// wino43Output writes Y = Aᵀ M A for output channels o0..o1-1 of every
// tile of the block's cnt images, from m ([36][om][ldm]) into ys ([O,
// cnt·oh·ow], the layout layoutRange reads), cutting the tiles at the
// output's edges.
func (g *convGeom) wino43Output(m []float32, lay winoLayout, cnt, o0, o1 int, ys []float32) {
	th, tw := g.wino43Tiles()
	tpi, ohw := th*tw, g.oh*g.ow
	nt := cnt * tpi
	ms := lay.om * lay.ldm
	ld := cnt * ohw
	tl := (nt+7)&^7 + 8
	tw8 := (tw + 7) &^ 7
	buf := getFloats(40*tl + 4*tw8)
	defer putFloats(buf)
	ts, yt := buf[:24*tl], buf[24*tl:][:16*tl] // [4][6][tl] after Aᵀ·M; [4][4][tl] after ·A
	row4 := buf[40*tl:]                        // an output row's tiles side by side
	var in [6][]float32
	for o := o0; o < o1; o++ {
		mo := m[o*lay.ldm:]
		for j := range 6 {
			for i := range 6 {
				in[i] = mo[(6*i+j)*ms:]
			}
			wino43Out(&in, ts[j*tl:], 6*tl, nt)
		}
		for r := range 4 {
			for c := range 6 {
				in[c] = ts[(6*r+c)*tl:]
			}
			wino43Out(&in, yt[4*r*tl:], tl, nt)
		}
		yo := ys[o*ld:][:ld]
		for i := range cnt {
			yi := yo[i*ohw:][:ohw]
			for ty := range th {
				t0 := i*tpi + ty*tw
				for r := range min(4, g.oh-4*ty) {
					var ph [4][]float32
					for c := range ph {
						ph[c] = yt[(4*r+c)*tl+t0:]
					}
					if !wino43JoinVec(&ph, tw, row4) {
						for tx := range tw {
							d := row4[4*tx:][:4]
							d[0], d[1], d[2], d[3] = ph[0][tx], ph[1][tx], ph[2][tx], ph[3][tx]
						}
					}
					copy(yi[(4*ty+r)*g.ow:][:g.ow], row4) // cut at the edge
				}
			}
		}
	}
}
