//go:build !amd64 || noasm

package tensor

func gather2Vec(d, src []float32) int { return 0 }

func gatherRows2(dst, src []float32, rows, ow, xlo, xhi, srcRow, srcStride int) bool { return false }

func scatterAddRows2(dst, src []float32, rows, n, dstRow, dstStride, srcStride int) bool {
	return false
}
