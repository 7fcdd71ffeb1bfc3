//go:build !amd64 || noasm

package tensor

func conv1PoolVec(eo []float32, rs, rows, n int, w []float32, k *[64]float32, pos []int32, out []float32, arg []int32) (ok, nan bool) {
	return false, false
}
