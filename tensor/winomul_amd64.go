//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasWinoMul says winoMul (AVX2 and FMA) can run.
var hasWinoMul = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func winoMul(u, v *float32, ldv, k, blocks int, c *float32, ldc int)

//go:noescape
func winoMul8(u, v *float32, ldv, k, blocks int, c *float32, ldc int)

// winoMulOK reports whether winoMulVec can run.
func winoMulOK() bool { return hasWinoMul }

// winoMulVec is one of Winograd's products, M [om, nt] = U [om, k] · V [k,
// nt], with U packed by winoWeightsPacked (om a multiple of 6), V's rows ldv
// floats apart and M's ldm apart: 16 columns at a time, and 8 for the
// rest (ldv and ldm must leave room for nt rounded up to 8).
func winoMulVec(u, v []float32, ldv, k int, m []float32, ldm, nt int) {
	om := len(u) / max(k, 1)
	n8 := (nt + 7) &^ 7
	if k == 0 || om == 0 || nt == 0 {
		return
	}
	_ = u[om*k-1]
	_ = v[(k-1)*ldv+n8-1]
	_ = m[(om-1)*ldm+n8-1]
	c := 0
	for ; c+16 <= n8; c += 16 {
		winoMul(&u[0], &v[c], ldv, k, om/6, &m[c], ldm)
	}
	if c < n8 {
		winoMul8(&u[0], &v[c], ldv, k, om/6, &m[c], ldm)
	}
}
