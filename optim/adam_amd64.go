//go:build amd64 && !noasm

package optim

//go:noescape
func adamAVX2(p, grad, m, v *float32, n int, c *adamVecConsts)

// adamVec runs adamUpdate's common case (not maximising, no AMSGrad, no
// L2 weight decay) on a leading multiple of 8 of the parameters with AVX2
// and returns how many it did: 0 without AVX2 and FMA.
func adamVec(p, g, m, v []float32, c *adamVecConsts) int {
	n := len(p) &^ 7
	if !hasSGD256 || n == 0 {
		return 0
	}
	_, _, _ = g[n-1], m[n-1], v[n-1]
	adamAVX2(&p[0], &g[0], &m[0], &v[0], n, c)
	return n
}
