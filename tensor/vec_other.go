//go:build !amd64 || noasm

package tensor

func addVec(dst, src []float32) int { return 0 }

func biasVec(dst, src []float32, b float32, relu bool) int { return 0 }

func sumLanes(x []float32) float32 { return sumLanesGo(x) }

func maxPool2x2Vec(plane, out []float32, arg []int32, w, oh, ow int) bool { return false }

const hasVec512 = false

func gatherBias(d, src []float32, stride int, b float32, hasBias, relu bool) bool { return false }

func unpoolVec(dst, gp, y []float32, arg []int32) bool { return false }

func sum64Vec(x []float32) (float64, int) { return 0, 0 }

func sumSq64Vec(x []float32, mean float64) (float64, int) { return 0, 0 }

func sumGradXhatVec(xs, gs []float32, mean, inv float32) (sg, sgx float64, k int) { return 0, 0, 0 }

func bnAffineVec(dst, src []float32, mean, scale, shift float32) int { return 0 }

func bnBackwardVec(dst, xs, gs []float32, mean, inv, wi, mg, mgx float32) int { return 0 }

func reluGradVec(dst, g, y []float32) int { return 0 }

func hasVecLoops() bool { return false }
