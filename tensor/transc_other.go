//go:build !amd64 || noasm

package tensor

// Without the AVX2 loops transc.go's Go loops do all the work; these
// stand-ins for the assembly are never called.

const hasTransc = false

func maxRow8(x *float32, n int) float32                                { panic(noTransc) }
func expSubSum8(dst, src *float32, n int, m float32) float32           { panic(noTransc) }
func expScale8(dst, src *float32, n int, c float32)                    { panic(noTransc) }
func scale8(x *float32, n int, s float32)                              { panic(noTransc) }
func sub8(dst, src *float32, n int, s float32)                         { panic(noTransc) }
func dot8(a, b *float32, n int) float32                                { panic(noTransc) }
func softmaxGrad8(p, d *float32, n int, dot, scale float32)            { panic(noTransc) }
func geluCDF8(y, cdf, x *float32, n int)                               { panic(noTransc) }
func geluGrad8(dx, grad, x, cdf *float32, n int)                       { panic(noTransc) }
func lstmGates8(p, hw, c, gates, cNew, hNew, tanhC *float32, h, n int) { panic(noTransc) }
func lstmBack8(gr, ar, gy, dh, tc, cp, dc *float32, h, n int)          { panic(noTransc) }

func lnForward8(dst, src, w, b *float32, n int, mean, inv float32) { panic(noTransc) }
func lnBackRow8(xs, gs, w, dxh *float32, n int, mean, inv float32) (s1, s2 float64) {
	panic(noTransc)
}
func lnBackDx8(ds, dxh, xs *float32, n int, mean, inv, m1, m2 float32) { panic(noTransc) }
func lnParams8(dw, db, xs, gs *float32, n int, mean, inv float32)      { panic(noTransc) }

const noTransc = "tensor: the AVX2 loops are not built in"
