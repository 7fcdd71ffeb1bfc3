//go:build !amd64 || noasm

package optim

func adamVec(p, g, m, v []float32, c *adamVecConsts) int { return 0 }
