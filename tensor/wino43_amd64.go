//go:build amd64 && !noasm

package tensor

//go:noescape
func wino43In6(in *[6]*float32, out *float32, stride, blocks int)

//go:noescape
func wino43Out6(in *[6]*float32, out *float32, stride, blocks int)

// wino43Vec runs wino43In6 (or, with outT, wino43Out6) over n columns
// rounded up to 8, and reports whether it could (AVX2 and FMA, as
// winoMulOK: F(4×4, 3×3) runs only with those); the six input slices and
// out's rows rows, stride apart, must hold the rounded count.
func wino43Vec(in *[6][]float32, out []float32, stride, n, rows int, outT bool) bool {
	if !hasWinoMul {
		return false
	}
	if n == 0 {
		return true
	}
	n8 := (n + 7) &^ 7
	var p [6]*float32
	for k := range p {
		_ = in[k][n8-1]
		p[k] = &in[k][0]
	}
	_ = out[(rows-1)*stride+n8-1]
	if outT {
		wino43Out6(&p, &out[0], stride, n8/8)
	} else {
		wino43In6(&p, &out[0], stride, n8/8)
	}
	return true
}

//go:noescape
func wino43Split(src *float32, blocks int, p0, p1, p2, p3 *float32)

// wino43SplitVec runs wino43Split over n groups of four columns rounded
// up to 8 and reports whether it could; src must hold 4 floats a rounded
// group, each phase (pl floats apart in phs) a float a rounded group.
func wino43SplitVec(src []float32, n int, phs []float32, pl int) bool {
	if !hasWinoMul {
		return false
	}
	n8 := (n + 7) &^ 7
	if n8 == 0 {
		return true
	}
	_ = src[4*n8-1]
	_ = phs[3*pl+n8-1]
	wino43Split(&src[0], n8/8, &phs[0], &phs[pl], &phs[2*pl], &phs[3*pl])
	return true
}

//go:noescape
func wino43Join(p0, p1, p2, p3 *float32, blocks int, dst *float32)

// wino43JoinVec runs wino43Join over n tiles rounded up to 8 and reports
// whether it could; the phases must hold that many floats, dst 4 a tile.
func wino43JoinVec(p *[4][]float32, n int, dst []float32) bool {
	if !hasWinoMul {
		return false
	}
	n8 := (n + 7) &^ 7
	if n8 == 0 {
		return true
	}
	_, _, _, _ = p[0][n8-1], p[1][n8-1], p[2][n8-1], p[3][n8-1]
	_ = dst[4*n8-1]
	wino43Join(&p[0][0], &p[1][0], &p[2][0], &p[3][0], n8/8, &dst[0])
	return true
}

//go:noescape
func wino43U6(w *float32, idx *int32, n int, k *float32, scr *float32, tmp *float32, run int)

// wino43UConsts are wino43U6's factors: ¼, -⅙, 1/24, ⅙, 1/12.
var wino43UConsts = [5]float32{0.25, -1.0 / 6, 1.0 / 24, 1.0 / 6, 1.0 / 12}

// wino43UVec runs wino43U6 for input channels c0..c0+cn-1 of the 6
// output channels from o0 (all of them real), weights w [O][C][3][3] with
// C = c, into tmp (36 rows run apart, run ≥ 6·cn+2), and reports whether it
// could.
func wino43UVec(w []float32, c, o0, c0, cn int, tmp []float32, run int) bool {
	if !hasWinoMul || cn == 0 {
		return hasWinoMul
	}
	if 5*9*c+8 >= 1<<31 {
		return false // the lanes' int32 offsets
	}
	base := (o0*c + c0) * 9
	_ = w[base+5*9*c+(cn-1)*9+8]
	_ = tmp[35*run+6*(cn-1)+7]
	var idx [8]int32
	for l := range idx {
		idx[l] = int32(min(l, 5) * 9 * c)
	}
	var scr [18 * 8]float32
	wino43U6(&w[base], &idx[0], cn, &wino43UConsts[0], &scr[0], &tmp[0], run)
	return true
}
