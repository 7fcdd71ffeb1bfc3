//go:build amd64 && !noasm

package optim

import "golang.org/x/sys/cpu"

// hasSGDAsm says the vector SGD loops can run: they need AVX-512F for the
// 8-lane float64 FMAs (FMA itself comes with AVX-512F).
var hasSGDAsm = cpu.X86.HasAVX512F

//go:noescape
func sgdMomAVX512(p, grad, b *float32, n int, nlr, mu, damp float32)

//go:noescape
func sgdPlainAVX512(p, grad *float32, n int, nlr float32)

// sgdMomVec runs the common momentum update (no weight decay, not the first
// step, not Nesterov, not maximising) on a leading multiple of 16 of the
// parameters and returns how many it did.
func sgdMomVec(p, g, b []float32, nlr, mu, damp float32) int {
	n := len(p) &^ 15
	if !hasSGDAsm || n == 0 {
		return 0
	}
	_, _ = g[n-1], b[n-1]
	sgdMomAVX512(&p[0], &g[0], &b[0], n, nlr, mu, damp)
	return n
}

// sgdPlainVec is sgdMomVec for the update without momentum.
func sgdPlainVec(p, g []float32, nlr float32) int {
	n := len(p) &^ 15
	if !hasSGDAsm || n == 0 {
		return 0
	}
	_ = g[n-1]
	sgdPlainAVX512(&p[0], &g[0], n, nlr)
	return n
}
