//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasTransc says the AVX2 loops of transc_avx2_amd64.s can run; it is set
// once at package init and never written afterwards.
var hasTransc = cpu.X86.HasAVX2

// The loops of transc_avx2_amd64.s, each over a multiple of 8 elements
// (n, or for the LSTM rows n of each segment of h); see their Go twins in
// transc.go.

//go:noescape
func maxRow8(x *float32, n int) float32

//go:noescape
func expSubSum8(dst, src *float32, n int, m float32) float32

//go:noescape
func expScale8(dst, src *float32, n int, c float32)

//go:noescape
func scale8(x *float32, n int, s float32)

//go:noescape
func sub8(dst, src *float32, n int, s float32)

//go:noescape
func dot8(a, b *float32, n int) float32

//go:noescape
func softmaxGrad8(p, d *float32, n int, dot, scale float32)

//go:noescape
func geluCDF8(y, cdf, x *float32, n int)

//go:noescape
func geluGrad8(dx, grad, x, cdf *float32, n int)

//go:noescape
func lstmGates8(p, hw, c, gates, cNew, hNew, tanhC *float32, h, n int)

//go:noescape
func lstmBack8(gr, ar, gy, dh, tc, cp, dc *float32, h, n int)

// The layer norm loops of layernorm_avx2_amd64.s; see layernorm.go.

//go:noescape
func lnForward8(dst, src, w, b *float32, n int, mean, inv float32)

//go:noescape
func lnBackRow8(xs, gs, w, dxh *float32, n int, mean, inv float32) (s1, s2 float64)

//go:noescape
func lnBackDx8(ds, dxh, xs *float32, n int, mean, inv, m1, m2 float32)

//go:noescape
func lnParams8(dw, db, xs, gs *float32, n int, mean, inv float32)
