//go:build !amd64 || noasm

package tensor

func conv1PoolVec(eo []float32, rs, rows, pw int, w []float32, k *[64]float32, pos []int32, pooled []float32, arg []int32, tp []float32, ta []int32) (ok, nan bool) {
	return false, false
}
