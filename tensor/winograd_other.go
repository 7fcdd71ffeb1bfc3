//go:build !amd64 || noasm

package tensor

func winoInVec(e, o []float32, s, n int, out []float32, stride int) int { return 0 }

func winoOutVec(m []float32, ms, n int, y []float32, ys int) int { return 0 }

func winoPoolVec(m []float32, ms, n int, k *[64]float32, pos []int32, out []float32, arg []int32) (int, bool) {
	return 0, false
}

func winoSplitVec(src []float32, n int, ev, od []float32) int { return 0 }

func winoRowsVec(e, o []float32, s, rows, tw, tw1 int, out []float32, stride int) bool { return false }

func winoTilesVec(q []float32, l, tw1, th, tw int, out []float32, cs int) bool { return false }
