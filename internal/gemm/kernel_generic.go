package gemm

// genericKernel is the pure-Go micro-kernel, used on architectures without
// an assembly kernel and with the noasm build tag. A 4×4 tile keeps its 16
// accumulators in registers on most targets.
var genericKernel = &kernel{
	name: "generic",
	mr:   4, nr: 4,
	mc: 128, kc: 256, nc: 4096,
	tile: tileGeneric,
	dot:  dotGeneric, dotR: 4, dotC: 4,
}

// dotGeneric is kernel.dot in Go: each row of A against up to four rows of
// Bᵀ at once, one accumulator per column summed in k order, so A's values
// are loaded once per four columns and four independent chains hide the
// latency of the adds. Any column's sum is the same sequence of operations
// whatever the tile width, so the result never depends on the split.
func dotGeneric(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc, rows, cols int, alpha, beta float32) {
	for i := 0; i < rows; i++ {
		ar := a[i*lda : i*lda+k]
		cr := c[i*ldc : i*ldc+cols]
		var acc [4]float32
		if cols == 4 {
			b0 := b[:len(ar)]
			b1 := b[ldb:][:len(ar)]
			b2 := b[2*ldb:][:len(ar)]
			b3 := b[3*ldb:][:len(ar)]
			var s0, s1, s2, s3 float32
			for p, av := range ar {
				s0 += av * b0[p]
				s1 += av * b1[p]
				s2 += av * b2[p]
				s3 += av * b3[p]
			}
			acc = [4]float32{s0, s1, s2, s3}
		} else {
			for j := 0; j < cols; j++ {
				bj := b[j*ldb:][:len(ar)]
				var s float32
				for p, av := range ar {
					s += av * bj[p]
				}
				acc[j] = s
			}
		}
		for j := range cr {
			if beta == 0 {
				cr[j] = alpha * acc[j]
			} else {
				cr[j] = alpha*acc[j] + beta*cr[j]
			}
		}
	}
}

func tileGeneric(kc int, a, b []float32, bstride int, c []float32, ldc, rows, cols int, alpha, beta float32) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a = a[:4*kc]
	for p := 0; p < kc; p++ {
		ap := a[4*p : 4*p+4 : 4*p+4]
		bp := b[p*bstride : p*bstride+4 : p*bstride+4]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	acc := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	storeTile(acc[:rows], c, ldc, cols, alpha, beta)
}

// storeTile writes C = alpha*acc + beta*C for the first cols columns of
// each row of acc, reading C only when beta is non-zero.
func storeTile[T ~[4]float32 | ~[16]float32](acc []T, c []float32, ldc, cols int, alpha, beta float32) {
	for i := range acc {
		row := c[i*ldc : i*ldc+cols]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * acc[i][j]
			}
		} else {
			for j := range row {
				row[j] = alpha*acc[i][j] + beta*row[j]
			}
		}
	}
}
