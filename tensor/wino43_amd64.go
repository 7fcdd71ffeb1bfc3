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
