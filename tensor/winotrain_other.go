//go:build !amd64 || noasm

package tensor

func winoKernVec(w []float32, s, n int, u []float32, us int) int { return 0 }
