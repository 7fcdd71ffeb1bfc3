//go:build !amd64 || noasm

package tensor

func wino43Vec(in *[6][]float32, out []float32, stride, n, rows int, outT bool) bool { return false }

func wino43SplitVec(src []float32, n int, phs []float32, pl int) bool { return false }

func wino43JoinVec(p *[4][]float32, n int, dst []float32) bool { return false }

func wino43UVec(w []float32, c, o0, c0, cn int, tmp []float32, run int) bool { return false }
