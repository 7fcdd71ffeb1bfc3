//go:build !amd64 || noasm

package tensor

func winoDXVec(x []float32, cs, n int, row []float32, pw int) int { return 0 }

func winoGradVec(r0, r1 []float32, n int, y []float32, stride int) int { return 0 }
