//go:build !amd64 || noasm

package tensor

const hasPool3Vec = false

func maxPool3x3s2Vec(src []float32, r1, r2 int, out []float32, arg []int32, groups, base int, offs *[2][9][8]int32, left bool) {
	panic("tensor: maxPool3x3s2Vec without the vector loop")
}
