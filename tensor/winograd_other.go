//go:build !amd64 || noasm

package tensor

func winoInVec(e, o []float32, s, n int, out []float32, stride int) int { return 0 }

func winoOutVec(m []float32, ms, n int, y []float32, ys int) int { return 0 }
