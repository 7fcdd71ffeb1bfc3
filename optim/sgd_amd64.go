//go:build amd64 && !noasm

package optim

import "golang.org/x/sys/cpu"

// The vector SGD loops: AVX-512F (8-lane float64 FMAs, 16 parameters a
// turn) where the CPU has it, else AVX2 with FMA (4-lane, 8 parameters a
// turn). Both compute fma32's float64 FMA lane by lane, so either gives the
// scalar loop's bits.
var (
	hasSGD512 = cpu.X86.HasAVX512F
	hasSGD256 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

//go:noescape
func sgdMomAVX512(p, grad, b *float32, n int, nlr, mu, damp float32)

//go:noescape
func sgdPlainAVX512(p, grad *float32, n int, nlr float32)

//go:noescape
func sgdMomAVX2(p, grad, b *float32, n int, nlr, mu, damp float32)

//go:noescape
func sgdPlainAVX2(p, grad *float32, n int, nlr float32)

// sgdMomVec runs the common momentum update (no weight decay, not the first
// step, not Nesterov, not maximising) on a leading multiple of 16 (AVX-512)
// or 8 (AVX2) of the parameters and returns how many it did.
func sgdMomVec(p, g, b []float32, nlr, mu, damp float32) int {
	switch {
	case hasSGD512:
		n := len(p) &^ 15
		if n == 0 {
			return 0
		}
		_, _ = g[n-1], b[n-1]
		sgdMomAVX512(&p[0], &g[0], &b[0], n, nlr, mu, damp)
		return n
	case hasSGD256:
		return sgdMom256(p, g, b, nlr, mu, damp)
	}
	return 0
}

// sgdMom256 is sgdMomVec's AVX2 form, callable on its own so that the
// tests reach it on AVX-512 machines too.
func sgdMom256(p, g, b []float32, nlr, mu, damp float32) int {
	n := len(p) &^ 7
	if n == 0 {
		return 0
	}
	_, _ = g[n-1], b[n-1]
	sgdMomAVX2(&p[0], &g[0], &b[0], n, nlr, mu, damp)
	return n
}

// sgdPlainVec is sgdMomVec for the update without momentum.
func sgdPlainVec(p, g []float32, nlr float32) int {
	switch {
	case hasSGD512:
		n := len(p) &^ 15
		if n == 0 {
			return 0
		}
		_ = g[n-1]
		sgdPlainAVX512(&p[0], &g[0], n, nlr)
		return n
	case hasSGD256:
		return sgdPlain256(p, g, nlr)
	}
	return 0
}

// sgdPlain256 is sgdPlainVec's AVX2 form.
func sgdPlain256(p, g []float32, nlr float32) int {
	n := len(p) &^ 7
	if n == 0 {
		return 0
	}
	_ = g[n-1]
	sgdPlainAVX2(&p[0], &g[0], n, nlr)
	return n
}

//go:noescape
func sgdGeneralAVX2(p, grad, b *float32, n int, c *sgdVecConsts)

// sgdGeneralVec runs SGD's update with any options (c.flags) on a leading
// multiple of 4 of the parameters with AVX2 and returns how many it did: 0
// without AVX2 and FMA. b is read and written only with momentum.
func sgdGeneralVec(p, g, b []float32, c *sgdVecConsts) int {
	n := len(p) &^ 3
	if !hasSGD256 || n == 0 {
		return 0
	}
	_ = g[n-1]
	bp := &p[0] // not touched without momentum
	if c.flags&sgdMomentumFlag != 0 {
		_ = b[n-1]
		bp = &b[0]
	}
	sgdGeneralAVX2(&p[0], &g[0], bp, n, c)
	return n
}
