//go:build !amd64 || noasm

package tensor

func winoMulOK() bool { return false }

func winoMulVec(u, v []float32, ldv, k int, m []float32, ldm, nt int) {
	panic("tensor: winoMulVec without its kernel")
}
