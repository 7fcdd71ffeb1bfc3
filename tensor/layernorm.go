package tensor

// Layer norm's row loops, shared by LayerNorm and LayerNormBackward: on
// amd64 with AVX2 the leading multiple of 8 of each row runs in
// layernorm_avx2_amd64.s, which rounds as these Go loops do (float64 sums
// in 8 lanes, combined as sum8d does), so the results are the same bit for
// bit with and without it.

// sum8d adds 8 float64 lane sums in the order of sum8.
func sum8d(l *[8]float64) float64 {
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

// lnForwardRow sets dst[j] = ((src[j] − mean)·inv)·w[j] + b[j], w and b
// each left out when nil.
func lnForwardRow(dst, src, w, b []float32, mean, inv float32) {
	dst = dst[:len(src)]
	k := 0
	if hasTransc && w != nil && b != nil && len(src) >= 8 {
		k = len(src) &^ 7
		_, _ = w[k-1], b[k-1]
		lnForward8(&dst[0], &src[0], &w[0], &b[0], k, mean, inv)
	}
	for j := k; j < len(src); j++ {
		y := (src[j] - mean) * inv
		if w != nil {
			y *= w[j]
		}
		if b != nil {
			y += b[j]
		}
		dst[j] = y
	}
}

// lnBackRow sets dxh[j] = gs[j]·w[j] (w = 1 when nil) and returns
// s1 = Σ dxh[j] and s2 = Σ dxh[j]·x̂[j] in float64, x̂ = (xs[j] − mean)·inv.
func lnBackRow(xs, gs, w, dxh []float32, mean, inv float32) (s1, s2 float64) {
	n := len(gs)
	xs, dxh = xs[:n], dxh[:n]
	k := n &^ 7
	switch {
	case k == 0:
	case hasTransc && w != nil:
		_ = w[k-1]
		s1, s2 = lnBackRow8(&xs[0], &gs[0], &w[0], &dxh[0], k, mean, inv)
	default:
		var l1, l2 [8]float64
		for i := 0; i < k; i += 8 {
			for j := i; j < i+8; j++ {
				v := gs[j]
				if w != nil {
					v *= w[j]
				}
				dxh[j] = v
				l1[j-i] += float64(v)
				l2[j-i] += float64(v * ((xs[j] - mean) * inv))
			}
		}
		s1, s2 = sum8d(&l1), sum8d(&l2)
	}
	for j := k; j < n; j++ {
		v := gs[j]
		if w != nil {
			v *= w[j]
		}
		dxh[j] = v
		s1 += float64(v)
		s2 += float64(v * ((xs[j] - mean) * inv))
	}
	return s1, s2
}

// lnBackDxRow sets ds[j] = inv·(dxh[j] − m1 − x̂·m2), x̂ = (xs[j] − mean)·inv:
// dx = invstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
func lnBackDxRow(ds, dxh, xs []float32, mean, inv, m1, m2 float32) {
	n := len(ds)
	dxh, xs = dxh[:n], xs[:n]
	k := 0
	if hasTransc && n >= 8 {
		k = n &^ 7
		lnBackDx8(&ds[0], &dxh[0], &xs[0], k, mean, inv, m1, m2)
	}
	for j := k; j < n; j++ {
		xh := (xs[j] - mean) * inv
		ds[j] = inv * (dxh[j] - m1 - float32(xh*m2))
	}
}

// lnParamsRow adds one row's share to the weight and bias gradients:
// dw[j] += gs[j]·x̂, db[j] += gs[j].
func lnParamsRow(dw, db, xs, gs []float32, mean, inv float32) {
	n := len(gs)
	dw, db, xs = dw[:n], db[:n], xs[:n]
	k := 0
	if hasTransc && n >= 8 {
		k = n &^ 7
		lnParams8(&dw[0], &db[0], &xs[0], &gs[0], k, mean, inv)
	}
	for j := k; j < n; j++ {
		g := gs[j]
		dw[j] += float32(g * ((xs[j] - mean) * inv))
		db[j] += g
	}
}
