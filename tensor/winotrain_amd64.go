//go:build amd64 && !noasm

package tensor

//go:noescape
func winoKern8(w *float32, ls, n int, u *float32, us int)

// winoKernVec runs winoKern8 over the first n&^7 kernels of a run whose
// lane l reads its kernel at w[9·l·s:] (s = 1: consecutive kernels; s = C:
// a column of w for Uᵀ) and writes U's 16 values at u[ξ·us + l], and
// returns how many it did.
func winoKernVec(w []float32, s, n int, u []float32, us int) int {
	k := n &^ 7
	if !hasWinoVec || k == 0 {
		return 0
	}
	_ = w[9*s*(k-1)+8]
	_ = u[15*us+k-1]
	winoKern8(&w[0], 36*s, k/8, &u[0], us)
	return k
}

//go:noescape
func winoWG8(mw *float32, oc, n int, dw *float32)

// winoWeightGradVec runs winoWG8 over kernels e0..e0+k-1, k the largest
// multiple of 8 up to e1-e0, and returns k.
func winoWeightGradVec(mw []float32, oc, e0, e1 int, dw []float32) int {
	k := (e1 - e0) &^ 7
	if !hasWinoVec || k <= 0 {
		return 0
	}
	_ = mw[15*oc+e0+k-1]
	_ = dw[9*(e0+k)-1]
	winoWG8(&mw[e0], oc, k/8, &dw[9*e0])
	return k
}

//go:noescape
func winoPatch8(x *float32, cs, n int, p *float32, ps int)

// winoPatchVec runs winoPatch8 over the first n&^7 tiles and returns how
// many it did.
func winoPatchVec(x []float32, cs, n int, p []float32, ps int) int {
	k := n &^ 7
	if !hasWinoVec || k == 0 {
		return 0
	}
	_ = x[15*cs+k-1]
	_ = p[15*ps+k-1]
	winoPatch8(&x[0], cs, k, &p[0], ps)
	return k
}

//go:noescape
func winoZip8(a, b *float32, n int, dst *float32)

// winoZipVec interleaves the first len(a)&^7 elements of a and b into dst
// (dst[2i], dst[2i+1] = a[i], b[i]) and returns how many of a it did.
func winoZipVec(dst, a, b []float32) int {
	k := len(a) &^ 7
	if !hasWinoVec || k == 0 {
		return 0
	}
	_, _ = b[k-1], dst[2*k-1]
	winoZip8(&a[0], &b[0], k, &dst[0])
	return k
}

// winoDXTail adds the patches of the last tiles t0..t1-1 (fewer than 8)
// of a tile row as winoDXGroup does, by winoDX8 on a copy of their dV
// padded with zeros to 8 tiles, and reports whether it could. The padding
// tiles' patches are all ±0, and adding ±0 leaves every value of the
// scratch plane as it is (none is -0: they are sums that start at +0), so
// the sums are winoDXGroup's, bit for bit. row must hold 3·pw + 2·t0 + 18
// floats: the padding tiles' columns run past the row.
func winoDXTail(x []float32, cs, t0, t1 int, row []float32, pw int) bool {
	if !hasWinoVec {
		return false
	}
	var buf [16 * 8]float32
	for k := range 16 {
		copy(buf[k*8:][:t1-t0], x[k*cs+t0:][:t1-t0])
	}
	_ = row[3*pw+2*t0+17]
	winoDX8(&buf[0], 8, 8, &row[2*t0], pw)
	return true
}
