//go:build !amd64 || noasm

package tensor

func winoKernVec(w []float32, s, n int, u []float32, us int) int { return 0 }

func winoWeightGradVec(mw []float32, oc, e0, e1 int, dw []float32) int { return 0 }

func winoPatchVec(x []float32, cs, n int, p []float32, ps int) int { return 0 }

func winoZipVec(dst, a, b []float32) int { return 0 }

func winoDXTail(x []float32, cs, t0, t1 int, row []float32, pw int) bool { return false }
