//go:build amd64 && !noasm

package gemm

//go:noescape
func kT256(kc int, a, b0, b1, b2, b3, b4, b5, t *float32)

// tileT256 is the AVX2 kernel.tileT: up to 6 rows of Bᵀ read in place
// against up to 32 lanes (rows of A) of a packed panel, 16 lanes at a
// time, the 6×16 sums stored transposed into C by Go. Rows past the end
// read the last row again (their sums are not stored); lanes past the end
// hold stale panel values, also not stored.
func tileT256(kc int, a, b []float32, ldb int, c []float32, ldc, rows, lanes int, alpha, beta float32) {
	_ = a[(kc-1)*tLanes+16*((lanes+15)/16)-1]
	_ = b[(rows-1)*ldb+kc-1]
	_ = c[(lanes-1)*ldc+rows-1]
	var bp [6]*float32
	for r := range bp {
		bp[r] = &b[min(r, rows-1)*ldb]
	}
	var t [6][16]float32
	for h := 0; h*16 < lanes; h++ {
		kT256(kc, &a[16*h], bp[0], bp[1], bp[2], bp[3], bp[4], bp[5], &t[0][0])
		for l := range min(16, lanes-16*h) {
			row := c[(16*h+l)*ldc:][:rows]
			if beta == 0 {
				for r := range row {
					row[r] = alpha * t[r][l]
				}
			} else {
				for r := range row {
					row[r] = alpha*t[r][l] + beta*row[r]
				}
			}
		}
	}
}
