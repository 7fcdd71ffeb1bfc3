//go:build !amd64 || noasm

package tensor

func addVec(dst, src []float32) int { return 0 }

func biasVec(dst, src []float32, b float32, relu bool) int { return 0 }

func sumLanes(x []float32) float32 { return sumLanesGo(x) }

func maxPool2x2Vec(plane, out []float32, arg []int32, w, oh, ow int) bool { return false }

const hasVec512 = false

func gatherBias(d, src []float32, stride int, b float32, hasBias, relu bool) bool { return false }

func unpoolVec(dst, gp, y []float32, arg []int32) bool { return false }
