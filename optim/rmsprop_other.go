//go:build !amd64 || noasm

package optim

func rmspropVec(p, g, sq, buf []float32, c *rmsVecConsts) int { return 0 }
