//go:build !amd64 || noasm

package tensor

const hasPool3Vec = false

func maxPool3x3s2Vec(src []float32, w int, out []float32, arg []int32, groups, base int, offs *[9][8]int32) {
	panic("tensor: maxPool3x3s2Vec without the vector loop")
}
