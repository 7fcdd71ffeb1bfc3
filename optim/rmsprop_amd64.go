//go:build amd64 && !noasm

package optim

//go:noescape
func rmspropAVX2(p, grad, sq, buf *float32, n int, c *rmsVecConsts)

// rmspropVec runs rmspropUpdate's common case (not centered, not
// maximising, no weight decay) on a leading multiple of 8 of the
// parameters with AVX2 and returns how many it did: 0 without AVX2 and
// FMA. buf is read and written only with momentum.
func rmspropVec(p, g, sq, buf []float32, c *rmsVecConsts) int {
	n := len(p) &^ 7
	if !hasSGD256 || n == 0 {
		return 0
	}
	_, _, _ = g[n-1], sq[n-1], buf[n-1]
	rmspropAVX2(&p[0], &g[0], &sq[0], &buf[0], n, c)
	return n
}
