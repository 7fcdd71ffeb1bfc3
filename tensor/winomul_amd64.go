//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasWinoMul says winoMul (AVX2 and FMA) can run.
var hasWinoMul = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func winoMul(u, v *float32, ldv, k, blocks int, c *float32, ldc int)

//go:noescape
func winoMul4(u, v *float32, ldv, k, blocks int, c *float32, ldc int)

//go:noescape
func winoMul8(u, v *float32, ldv, k, blocks int, c *float32, ldc int)

// winoMulOK reports whether winoMulVec can run.
func winoMulOK() bool { return hasWinoMul }

// winoMulVec is one of Winograd's products, M [om, nt] = U [om, k] · V [k,
// nt], with U packed by winoWeightsPacked (om a multiple of 6), V's rows ldv
// floats apart and M's ldm apart: 16 columns at a time, then 8 and 4 for
// the rest (ldv and ldm must leave room for nt rounded up to 4).
func winoMulVec(u, v []float32, ldv, k int, m []float32, ldm, nt int) {
	om := len(u) / max(k, 1)
	n4 := (nt + 3) &^ 3
	if k == 0 || om == 0 || nt == 0 {
		return
	}
	_ = u[om*k-1]
	_ = v[(k-1)*ldv+n4-1]
	_ = m[(om-1)*ldm+n4-1]
	for c := 0; c < n4; {
		switch r := n4 - c; {
		case r >= 16:
			winoMul(&u[0], &v[c], ldv, k, om/6, &m[c], ldm)
			c += 16
		case r >= 8:
			winoMul8(&u[0], &v[c], ldv, k, om/6, &m[c], ldm)
			c += 8
		default:
			winoMul4(&u[0], &v[c], ldv, k, om/6, &m[c], ldm)
			c += 4
		}
	}
}
