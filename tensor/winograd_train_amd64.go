//go:build amd64 && !noasm

package tensor

//go:noescape
func winoDX8(x *float32, cs, n int, row *float32, pw int)

//go:noescape
func winoGrad8(r0, r1 *float32, n int, y *float32, stride int)

// winoDXVec runs winoDX8 over the first n&^7 tiles of a tile row and
// returns how many it did; the slices must hold what it reads (16 planes
// cs apart) and writes (4 rows pw apart, 2 floats a tile and 2 more).
func winoDXVec(x []float32, cs, n int, row []float32, pw int) int {
	k := n &^ 7
	if !hasWinoVec || k == 0 {
		return 0
	}
	_ = x[15*cs+k-1]
	_ = row[3*pw+2*k+1]
	winoDX8(&x[0], cs, k, &row[0], pw)
	return k
}

// winoGradVec runs winoGrad8 over the first n&^7 tiles and returns how
// many it did.
func winoGradVec(r0, r1 []float32, n int, y []float32, stride int) int {
	k := n &^ 7
	if !hasWinoVec || k == 0 {
		return 0
	}
	_, _ = r0[2*k-1], r1[2*k-1]
	_ = y[15*stride+k-1]
	winoGrad8(&r0[0], &r1[0], k, &y[0], stride)
	return k
}
