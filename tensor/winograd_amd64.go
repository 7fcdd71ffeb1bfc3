//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasWinoVec says the AVX2 passes of winograd_amd64.s can run.
var hasWinoVec = cpu.X86.HasAVX2

//go:noescape
func winoIn4(e, o *float32, s, n int, out *float32, stride int)

//go:noescape
func winoOut4(m *float32, ms, n int, y *float32, ys int)

// winoInVec runs winoIn4 over the first n&^7 elements (those are
// in bounds: the callers' slices hold them) and returns how many it did.
func winoInVec(e, o []float32, s, n int, out []float32, stride int) int {
	k := n &^ 7
	if !hasWinoVec || k == 0 {
		return 0
	}
	_, _ = e[k-1+s], o[k-1+s]
	_ = out[3*stride+k-1]
	winoIn4(&e[0], &o[0], s, k, &out[0], stride)
	return k
}

// winoOutVec is winoOut4 over the first n&^7 elements, as winoInVec.
func winoOutVec(m []float32, ms, n int, y []float32, ys int) int {
	k := n &^ 7
	if !hasWinoVec || k == 0 {
		return 0
	}
	_ = m[15*ms+k-1]
	_ = y[3*ys+k-1]
	winoOut4(&m[0], ms, k, &y[0], ys)
	return k
}

//go:noescape
func winoPoolBN(m *float32, ms, n int, k *float32, pos *int32, out *float32, arg *int32) bool

// winoPoolVec runs winoPoolBN over the first n&^7 tiles and returns how
// many it did and whether it met a NaN.
func winoPoolVec(m []float32, ms, n int, k *[64]float32, pos []int32, out []float32, arg []int32) (int, bool) {
	c := n &^ 7
	if !hasWinoVec || c == 0 {
		return 0, false
	}
	_ = m[15*ms+c-1]
	_, _, _ = pos[c-1], out[c-1], arg[c-1]
	nan := winoPoolBN(&m[0], ms, c, &k[0], &pos[0], &out[0], &arg[0])
	return c, nan
}

//go:noescape
func winoSplit(src *float32, n int, ev, od *float32)

// winoSplitVec runs winoSplit over the first n&^7 pairs and returns how
// many it did.
func winoSplitVec(src []float32, n int, ev, od []float32) int {
	k := n &^ 7
	if !hasWinoVec || k == 0 {
		return 0
	}
	_, _, _ = src[2*k-1], ev[k-1], od[k-1]
	winoSplit(&src[0], k, &ev[0], &od[0])
	return k
}

//go:noescape
func winoIn4Rows(e, o *float32, s, rows, tw, tw1 int, out *float32, stride int)

// winoRowsVec runs winoIn4Rows and reports whether it could; the slices
// must hold what it reads and writes, 8 past the last row's tw included.
func winoRowsVec(e, o []float32, s, rows, tw, tw1 int, out []float32, stride int) bool {
	if !hasWinoVec || rows == 0 || tw == 0 {
		return hasWinoVec
	}
	last := (rows-1)*tw1 + (tw+7)&^7 - 1
	_, _ = e[last+s], o[last+s]
	_ = out[3*stride+(rows-1)*tw+(tw+7)&^7-1]
	winoIn4Rows(&e[0], &o[0], s, rows, tw, tw1, &out[0], stride)
	return true
}

//go:noescape
func winoInTiles(q *float32, l, tw1, th, tw int, out *float32, cs int)

// winoTilesVec runs winoInTiles and reports whether it could; q must hold
// the four quarters and 8 floats past them, out the tiles' 16 planes and
// 7 tiles past the last row in each.
func winoTilesVec(q []float32, l, tw1, th, tw int, out []float32, cs int) bool {
	if !hasWinoVec || th == 0 || tw == 0 {
		return hasWinoVec
	}
	_ = q[4*l+7]
	_ = out[15*cs+(th-1)*tw+(tw+7)&^7-1]
	winoInTiles(&q[0], l, tw1, th, tw, &out[0], cs)
	return true
}
