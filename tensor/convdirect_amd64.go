//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasConvDirect says convDirect can run: it needs FMA, as the GEMM
// micro-kernels whose sums it reproduces.
var hasConvDirect = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func convDirect(p *float32, off *int, w *float32, taps int, out *float32, n int)
