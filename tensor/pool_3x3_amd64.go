//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasPool3Vec says maxPool3x3s2AVX2 can run.
var hasPool3Vec = cpu.X86.HasAVX2

//go:noescape
func maxPool3x3s2AVX2(src *float32, w int, out *float32, arg *int32, groups, base int, offs *[9][8]int32)

// maxPool3x3s2Vec pools groups·8 windows with maxPool3x3s2AVX2 (see
// there), after checking that src, out and arg reach far enough.
func maxPool3x3s2Vec(src []float32, w int, out []float32, arg []int32, groups, base int, offs *[9][8]int32) {
	if groups <= 0 {
		return
	}
	_ = src[2*w+16*groups]
	_, _ = out[8*groups-1], arg[8*groups-1]
	maxPool3x3s2AVX2(&src[0], w, &out[0], &arg[0], groups, base, offs)
}
