//go:build !amd64 || noasm

package optim

func sgdMomVec(p, g, b []float32, nlr, mu, damp float32) int { return 0 }

func sgdPlainVec(p, g []float32, nlr float32) int { return 0 }

func sgdGeneralVec(p, g, b []float32, c *sgdVecConsts) int { return 0 }
