//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasGather2 says gather2x8 can run (AVX2).
var hasGather2 = cpu.X86.HasAVX2

//go:noescape
func gather2x8(d, src *float32, n int)

// gather2Vec sets d[j] = src[2j] for the leading j that gather2x8 can do
// (a multiple of 8, reading no further than src's end) and returns how
// many it did.
func gather2Vec(d, src []float32) int {
	k := min(len(d), len(src)/2) &^ 7
	if !hasGather2 || k == 0 {
		return 0
	}
	_, _ = d[k-1], src[2*k-1]
	gather2x8(&d[0], &src[0], k)
	return k
}
