//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasPool3Vec says maxPool3x3s2AVX2 can run.
var hasPool3Vec = cpu.X86.HasAVX2

//go:noescape
func maxPool3x3s2AVX2(src *float32, r1, r2 int, out *float32, arg *int32, groups, base int, offs *[2][9][8]int32, left bool)

// maxPool3x3s2Vec pools groups·8 windows with maxPool3x3s2AVX2 (see
// there), after checking that src, out and arg reach far enough. With
// left, src starts at the row, one float after the first window's
// top-left (padding) pixel.
func maxPool3x3s2Vec(src []float32, r1, r2 int, out []float32, arg []int32, groups, base int, offs *[2][9][8]int32, left bool) {
	if groups <= 0 {
		return
	}
	_ = src[r2+16*groups-1]
	_, _ = out[8*groups-1], arg[8*groups-1]
	if !left {
		_ = src[r2+16*groups]
	}
	maxPool3x3s2AVX2(&src[0], r1, r2, &out[0], &arg[0], groups, base, offs, left)
}
