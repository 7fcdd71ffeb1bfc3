package tensor

import "math"

// The float32 transcendental functions of the sequence models' hot loops
// (exp, erf, sigmoid, tanh) and the row loops built on them: softmax,
// log-softmax, GELU forward and backward, the LSTM cell forward and
// backward, and the softmax gradient of attention. On amd64 with AVX2 the
// leading multiple of 8 elements of each row runs in transc_avx2_amd64.s,
// which rounds every operation as these Go loops do (a multiply, then an
// add, never fused; sums in 8 lanes combined as sum8 does), so results
// are the same bit for bit with or without the assembly and for any split
// of the work between threads. The explicit float32 conversions keep the
// compiler from fusing a multiply and an add (it may for GOAMD64=v3).

// Exp32 returns eˣ in float32 to within about one unit in the last place
// (Cephes' expf: x = n·ln2 + r, a degree-6 polynomial in r, times 2ⁿ), about
// four times faster than float32(math.Exp(float64(x))). It returns 0 below
// −87.3 (where eˣ leaves the normal float32s), +Inf above 88.7, NaN for NaN.
func Exp32(x float32) float32 {
	if !(x >= -87.33654) { // below the normal float32s, or NaN
		if x != x {
			return x
		}
		return 0
	}
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	return exp32Core(x)
}

// exp32Core is Exp32 on [−87.3, 88.7]. Adding 1.5·2²³ rounds x·log₂e to
// the nearest integer n (float32 arithmetic in Go is exact IEEE single),
// so no call to Floor; the remainder r = x − n·ln2 (in two parts) lies in
// [−ln2/2, ln2/2].
func exp32Core(x float32) float32 {
	t := float32(x*1.44269504088896341) + 12582912
	n := int32(math.Float32bits(t)) - 0x4b400000
	fx := t - 12582912
	x -= float32(fx * 0.693359375)
	x -= float32(fx * -2.12194440e-4)
	p := float32(1.9875691500e-4*x) + 1.3981999507e-3
	p = float32(p*x) + 8.3334519073e-3
	p = float32(p*x) + 4.1665795894e-2
	p = float32(p*x) + 1.6666665459e-1
	p = float32(p*x) + 5.0000001201e-1
	y := float32(p*float32(x*x)) + x + 1
	// 2ⁿ in two halves: n reaches 128 near the top, beyond the exponent
	return y * math.Float32frombits(uint32(n>>1+127)<<23) * math.Float32frombits(uint32(n-n>>1+127)<<23)
}

// Erf32 returns the error function of x in float32, to within a few units
// in the last place (a rational approximation, odd degree 13 over even
// degree 8, on [−4, 4]; ±1 beyond, where erf rounds to ±1 in float32).
func Erf32(x float32) float32 {
	x = max(min(x, 4), -4)
	x2 := x * x
	p := float32(x2*-2.72614225801306e-10) + 2.77068142495902e-08
	p = float32(p*x2) + -2.10102402082508e-06
	p = float32(p*x2) + -5.69250639462346e-05
	p = float32(p*x2) + -7.34990630326855e-04
	p = float32(p*x2) + -2.95459980854025e-03
	p = float32(p*x2) + -1.60960333262415e-02
	q := float32(x2*-1.45660718464996e-05) + -2.13374055278905e-04
	q = float32(q*x2) + -1.68282697438203e-03
	q = float32(q*x2) + -7.37332916720468e-03
	q = float32(q*x2) + -1.42647390514189e-02
	return x * p / q
}

// sigmoidFast is the logistic function with [Exp32], stable for large |x|.
func sigmoidFast(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + Exp32(-x))
	}
	e := Exp32(x)
	return e / (1 + e)
}

// tanh32 returns tanh(x) in float32 to within a few units in the last
// place (Cephes' tanhf): a + (P(a²)·a²)·a for a = |x| below 0.625, where
// 1 − 2/(e²ᵃ+1) would lose digits, that beyond; then x's sign.
func tanh32(x float32) float32 {
	const sign = 1 << 31
	a := math.Float32frombits(math.Float32bits(x) &^ sign)
	var r float32
	if a < 0.625 {
		z := a * a
		p := float32(-5.70498872745e-3*z) + 2.06390887954e-2
		p = float32(p*z) + -5.37397155531e-2
		p = float32(p*z) + 1.33314422036e-1
		p = float32(p*z) + -3.33332819422e-1
		r = a + float32(float32(p*z)*a)
	} else {
		r = 1 - 2/(Exp32(a+a)+1)
	}
	return math.Float32frombits(math.Float32bits(r) | math.Float32bits(x)&sign)
}

// sum8 adds 8 lane sums in the order of the assembly's horizontal add.
func sum8(l *[8]float32) float32 {
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

// maxRow returns the largest element of x (−Inf for none), NaN if one is.
func maxRow(x []float32) float32 {
	m := float32(math.Inf(-1))
	k := 0
	if hasTransc && len(x) >= 8 {
		k = len(x) &^ 7
		m = maxRow8(&x[0], k)
	}
	for _, v := range x[k:] {
		m = max(m, v)
	}
	return m
}

// expSubSum sets dst[i] = Exp32(src[i] − m) and returns their sum: the
// leading multiple of 8 in 8 lanes, then the rest in order.
func expSubSum(dst, src []float32, m float32) float32 {
	k := len(src) &^ 7
	dst = dst[:len(src)]
	var s float32
	switch {
	case k == 0:
	case hasTransc:
		s = expSubSum8(&dst[0], &src[0], k, m)
	default:
		var l [8]float32
		for i := 0; i < k; i += 8 {
			for j, v := range src[i : i+8] {
				e := Exp32(v - m)
				dst[i+j] = e
				l[j] += e
			}
		}
		s = sum8(&l)
	}
	for i := k; i < len(src); i++ {
		e := Exp32(src[i] - m)
		dst[i] = e
		s += e
	}
	return s
}

// softmaxRow replaces x by softmax(x), in float32 with [Exp32].
func softmaxRow(x []float32) {
	if len(x) == 0 {
		return
	}
	m := maxRow(x)
	inv := 1 / expSubSum(x, x, m)
	k := 0
	if hasTransc && len(x) >= 8 {
		k = len(x) &^ 7
		scale8(&x[0], k, inv)
	}
	for i := k; i < len(x); i++ {
		x[i] *= inv
	}
}

// subRow sets dst[i] = src[i] − s.
func subRow(dst, src []float32, s float32) {
	dst = dst[:len(src)]
	k := 0
	if hasTransc && len(src) >= 8 {
		k = len(src) &^ 7
		sub8(&dst[0], &src[0], k, s)
	}
	for i := k; i < len(src); i++ {
		dst[i] = src[i] - s
	}
}

// expScaleRow sets dst[i] = Exp32(src[i])·c.
func expScaleRow(dst, src []float32, c float32) {
	dst = dst[:len(src)]
	k := 0
	if hasTransc && len(src) >= 8 {
		k = len(src) &^ 7
		expScale8(&dst[0], &src[0], k, c)
	}
	for i := k; i < len(src); i++ {
		dst[i] = Exp32(src[i]) * c
	}
}

// dotRow returns Σ a[i]·b[i] over a, each product rounded before its add:
// the leading multiple of 8 in 8 lanes, then the rest in order.
func dotRow(a, b []float32) float32 {
	k := len(a) &^ 7
	b = b[:len(a)]
	var s float32
	switch {
	case k == 0:
	case hasTransc:
		s = dot8(&a[0], &b[0], k)
	default:
		var l [8]float32
		for i := 0; i < k; i += 8 {
			for j, v := range a[i : i+8] {
				l[j] += float32(v * b[i+j])
			}
		}
		s = sum8(&l)
	}
	for i := k; i < len(a); i++ {
		s += float32(a[i] * b[i])
	}
	return s
}

// softmaxGradRow sets d[i] = p[i]·(d[i] − dot)·scale: the gradient of the
// scores of a softmax row given d = dL/dp and dot = Σ p·d.
func softmaxGradRow(p, d []float32, dot, scale float32) {
	d = d[:len(p)]
	k := 0
	if hasTransc && len(p) >= 8 {
		k = len(p) &^ 7
		softmaxGrad8(&p[0], &d[0], k, dot, scale)
	}
	for i := k; i < len(p); i++ {
		d[i] = p[i] * (d[i] - dot) * scale
	}
}

// geluCDFRow sets cdf[i] = Φ(x[i]) = ½(1 + erf(x/√2)) and y[i] = x[i]·Φ(x[i]).
func geluCDFRow(y, cdf, x []float32) {
	y, cdf = y[:len(x)], cdf[:len(x)]
	k := 0
	if hasTransc && len(x) >= 8 {
		k = len(x) &^ 7
		geluCDF8(&y[0], &cdf[0], &x[0], k)
	}
	for i := k; i < len(x); i++ {
		v := x[i]
		c := 0.5 * (1 + Erf32(v*math.Sqrt2/2))
		cdf[i] = c
		y[i] = v * c
	}
}

// geluGradRow sets dx[i] = g[i]·(Φ(x) + x·φ(x)) given cdf[i] = Φ(x[i]).
func geluGradRow(dx, g, x, cdf []float32) {
	dx, x, cdf = dx[:len(g)], x[:len(g)], cdf[:len(g)]
	k := 0
	if hasTransc && len(g) >= 8 {
		k = len(g) &^ 7
		geluGrad8(&dx[0], &g[0], &x[0], &cdf[0], k)
	}
	for i := k; i < len(g); i++ {
		v := x[i]
		// d/dx = Φ(x) + x·φ(x)
		dx[i] = g[i] * (cdf[i] + float32(v*Exp32(-0.5*v*v)*(1/math.Sqrt2/math.SqrtPi)))
	}
}

// lstmGatesRow is one row of lstmGates: the gates σ(i), σ(f), tanh(g),
// σ(o) of the pre-activations p + hw (four segments of H), then
// c' = f·c + i·g and h' = o·tanh(c').
func lstmGatesRow(p, hw, c, gates, cNew, hNew, tanhC []float32, H int) {
	if H == 0 {
		return
	}
	_, _, _ = p[4*H-1], hw[4*H-1], gates[4*H-1]
	_, _, _, _ = c[H-1], cNew[H-1], hNew[H-1], tanhC[H-1]
	k := 0
	if hasTransc && H >= 8 {
		k = H &^ 7
		lstmGates8(&p[0], &hw[0], &c[0], &gates[0], &cNew[0], &hNew[0], &tanhC[0], H, k)
	}
	for j := k; j < H; j++ {
		i := sigmoidFast(p[j] + hw[j])
		f := sigmoidFast(p[H+j] + hw[H+j])
		g := tanh32(p[2*H+j] + hw[2*H+j])
		o := sigmoidFast(p[3*H+j] + hw[3*H+j])
		gates[j], gates[H+j], gates[2*H+j], gates[3*H+j] = i, f, g, o
		cv := float32(f*c[j]) + float32(i*g) // no fused multiply-add: as Mul, Mul, Add
		cNew[j] = cv
		tv := tanh32(cv)
		tanhC[j] = tv
		hNew[j] = o * tv
	}
}

// lstmBackRow is one row of LSTMBackward's element-wise part: from the
// gates gr (i, f, g, o in four segments of H), tanh(c') tc, the previous
// cell cp and the gradients dh (from the next step) and gy (of this step's
// output), it writes the pre-activation gradients ar and replaces dc (the
// cell's gradient from the next step) by the previous cell's.
func lstmBackRow(gr, ar, gy, dh, tc, cp, dc []float32, H int) {
	if H == 0 {
		return
	}
	_, _ = gr[4*H-1], ar[4*H-1]
	_, _, _, _, _ = gy[H-1], dh[H-1], tc[H-1], cp[H-1], dc[H-1]
	k := 0
	if hasTransc && H >= 8 {
		k = H &^ 7
		lstmBack8(&gr[0], &ar[0], &gy[0], &dh[0], &tc[0], &cp[0], &dc[0], H, k)
	}
	for j := k; j < H; j++ {
		i, f, g, o := gr[j], gr[H+j], gr[2*H+j], gr[3*H+j]
		dhv := dh[j] + gy[j]
		tv := tc[j]
		dcv := dc[j] + float32(dhv*o*(1-tv*tv))
		ar[j] = dcv * g * i * (1 - i)       // d/da_i: σ' · g
		ar[H+j] = dcv * cp[j] * f * (1 - f) // d/da_f: σ' · c
		ar[2*H+j] = dcv * i * (1 - g*g)     // d/da_g: tanh' · i
		ar[3*H+j] = dhv * tv * o * (1 - o)  // d/da_o: σ' · tanh(c')
		dc[j] = dcv * f                     // to the previous cell
	}
}
