//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasGatherBias256 says gatherBias256 can run (AVX2 gathers).
var hasGatherBias256 = cpu.X86.HasAVX2

//go:noescape
func gatherBias256(dst, src *float32, n, stride int, b float32, mode int)
