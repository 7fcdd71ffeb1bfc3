package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ulps is the distance between a and b in units in the last place of
// float32 (0 when both are NaN, a large number when one is).
func ulps(a, b float32) float64 {
	if a != a || b != b {
		if a != a && b != b {
			return 0
		}
		return math.Inf(1)
	}
	ord := func(x float32) int64 { // the float32s in order as integers
		u := int64(math.Float32bits(x) &^ (1 << 31))
		if math.Signbit(float64(x)) {
			return -u
		}
		return u
	}
	return math.Abs(float64(ord(a) - ord(b)))
}

// sweep returns float32s spread over [lo, hi], with the endpoints.
func sweep(lo, hi float32, n int) []float32 {
	xs := make([]float32, 0, n+1)
	for i := range n + 1 {
		xs = append(xs, lo+(hi-lo)*float32(i)/float32(n))
	}
	return xs
}

// edgeValues are the inputs every float32 function is tried on beyond the
// sweeps: zeros, the smallest and largest float32s, infinities and NaN.
var edgeValues = []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-40, -1e-40, 1.17549435e-38,
	1e-7, -1e-7, 0.625, -0.625, 4, -4, 87.33654, -87.33654, 88.72283, -88.72283, 88.8, -88.8, 100, -100,
	math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}

func TestTranscendentalsAgainstFloat64(t *testing.T) {
	for _, c := range []struct {
		name    string
		f       func(float32) float32
		ref     func(float64) float64
		lo, hi  float32
		maxUlps float64 // for results of magnitude above tiny
		tiny    float64 // below it, an absolute error of tiny·2⁻²³ is allowed
	}{
		{"Exp32", Exp32, math.Exp, -87.3, 88.7, 2, 1.2e-38},
		{"Erf32", Erf32, math.Erf, -5, 5, 8, 1e-35},
		{"sigmoidFast", sigmoidFast, sigmoid64, -90, 90, 4, 1.2e-38},
		{"tanh32", tanh32, math.Tanh, -10, 10, 4, 1.2e-38},
	} {
		t.Run(c.name, func(t *testing.T) {
			xs := append(sweep(c.lo, c.hi, 200_003), sweep(-1, 1, 100_001)...)
			xs = append(xs, edgeValues...)
			worst, at := 0.0, float32(0)
			for _, x := range xs {
				if (c.name == "Exp32" || c.name == "sigmoidFast") && x < -87.33654 {
					continue // 0 there by design, below the normal float32s (TestTranscendentalEdges)
				}
				got, want64 := c.f(x), c.ref(float64(x))
				want := float32(want64)
				d := ulps(got, want)
				if math.Abs(want64) < c.tiny && math.Abs(float64(got)-want64) <= c.tiny*0x1p-18 {
					d = 0
				}
				if d > worst {
					worst, at = d, x
				}
			}
			if worst > c.maxUlps {
				t.Errorf("%s(%g) = %g, want %g: %g ulps, over %g", c.name, at, c.f(at), float32(c.ref(float64(at))), worst, c.maxUlps)
			}
			t.Logf("worst %g ulps at %g", worst, at)
		})
	}
}

func TestTranscendentalEdges(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	for _, c := range []struct {
		name    string
		f       func(float32) float32
		x, want float32
	}{
		{"Exp32", Exp32, 0, 1}, {"Exp32", Exp32, negZero, 1}, {"Exp32", Exp32, -88.8, 0}, {"Exp32", Exp32, -inf, 0},
		{"Exp32", Exp32, 88.8, inf}, {"Exp32", Exp32, inf, inf}, {"Exp32", Exp32, nan, nan}, {"Exp32", Exp32, 1e-45, 1},
		{"Erf32", Erf32, 0, 0}, {"Erf32", Erf32, negZero, negZero}, {"Erf32", Erf32, 5, 1}, {"Erf32", Erf32, -inf, -1}, {"Erf32", Erf32, nan, nan},
		{"sigmoidFast", sigmoidFast, 0, 0.5}, {"sigmoidFast", sigmoidFast, 100, 1}, {"sigmoidFast", sigmoidFast, -100, 0},
		{"sigmoidFast", sigmoidFast, inf, 1}, {"sigmoidFast", sigmoidFast, -inf, 0}, {"sigmoidFast", sigmoidFast, nan, nan},
		{"tanh32", tanh32, 0, 0}, {"tanh32", tanh32, negZero, negZero}, {"tanh32", tanh32, 1e-40, 1e-40}, {"tanh32", tanh32, -1e-40, -1e-40},
		{"tanh32", tanh32, 50, 1}, {"tanh32", tanh32, -inf, -1}, {"tanh32", tanh32, nan, nan},
	} {
		got := c.f(c.x)
		same := math.Float32bits(got) == math.Float32bits(c.want) || (got != got && c.want != c.want)
		if !same {
			t.Errorf("%s(%g) = %g (%#x), want %g", c.name, c.x, got, math.Float32bits(got), c.want)
		}
	}
}

// transcInput returns n float32s of a row function's typical range, with
// the edge values at random places among them.
func transcInput(r *rand.Rand, n int, scale float32, edges bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64()) * scale
		if edges && r.IntN(9) == 0 {
			x[i] = edgeValues[r.IntN(len(edgeValues))]
		}
	}
	return x
}

// sameBits reports the first index where a and b differ in bits (NaNs are
// alike), or -1.
func sameBits(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return i
		}
	}
	return -1
}

// TestTranscRowsAssemblyMatchesGo runs each row loop with and without the
// AVX2 assembly on awkward lengths and edge values, and wants the same
// bits: the assembly rounds as the Go loops do.
func TestTranscRowsAssemblyMatchesGo(t *testing.T) {
	lengths := []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 1003}
	type out struct {
		vals [][]float32
		sum  float32
	}
	rows := []struct {
		name string
		run  func(r *rand.Rand, n int) out
	}{
		{"softmaxRow", func(r *rand.Rand, n int) out {
			x := transcInput(r, n, 3, false)
			softmaxRow(x)
			return out{vals: [][]float32{x}}
		}},
		{"maxRow", func(r *rand.Rand, n int) out { return out{sum: maxRow(transcInput(r, n, 3, true))} }},
		{"expSubSum", func(r *rand.Rand, n int) out {
			x := transcInput(r, n, 30, true)
			d := make([]float32, n)
			return out{vals: [][]float32{d}, sum: expSubSum(d, x, 0.25)}
		}},
		{"logSoftmaxRows", func(r *rand.Rand, n int) out {
			x := transcInput(r, 3*n, 4, false)
			d := make([]float32, 3*n)
			logSoftmaxRows(d, x, n)
			return out{vals: [][]float32{d}}
		}},
		{"expScaleRow", func(r *rand.Rand, n int) out {
			x := transcInput(r, n, 20, true)
			d := make([]float32, n)
			expScaleRow(d, x, 0.3)
			return out{vals: [][]float32{d}}
		}},
		{"dotRow+softmaxGradRow", func(r *rand.Rand, n int) out {
			p, d := transcInput(r, n, 1, false), transcInput(r, n, 1, true)
			dot := dotRow(p, d)
			softmaxGradRow(p, d, dot, 0.125)
			return out{vals: [][]float32{d}, sum: dot}
		}},
		{"geluCDFRow+geluGradRow", func(r *rand.Rand, n int) out {
			x, g := transcInput(r, n, 3, true), transcInput(r, n, 1, false)
			y, c, dx := make([]float32, n), make([]float32, n), make([]float32, n)
			geluCDFRow(y, c, x)
			geluGradRow(dx, g, x, c)
			return out{vals: [][]float32{y, c, dx}}
		}},
		{"lstmGatesRow+lstmBackRow", func(r *rand.Rand, n int) out {
			if n == 0 {
				return out{}
			}
			p, hw, c := transcInput(r, 4*n, 2, true), transcInput(r, 4*n, 1, false), transcInput(r, n, 1, false)
			gates, cNew, hNew, tc := make([]float32, 4*n), make([]float32, n), make([]float32, n), make([]float32, n)
			lstmGatesRow(p, hw, c, gates, cNew, hNew, tc, n)
			ar := make([]float32, 4*n)
			gy, dh, dc := transcInput(r, n, 1, false), transcInput(r, n, 1, false), transcInput(r, n, 1, false)
			lstmBackRow(gates, ar, gy, dh, tc, c, dc, n)
			return out{vals: [][]float32{gates, cNew, hNew, tc, ar, dc}}
		}},
		{"layer norm rows", func(r *rand.Rand, n int) out {
			x, g, w, b := transcInput(r, n, 2, false), transcInput(r, n, 1, false), transcInput(r, n, 1, false), transcInput(r, n, 1, false)
			y, dxh, ds, dw, db := make([]float32, n), make([]float32, n), make([]float32, n), transcInput(r, n, 1, false), transcInput(r, n, 1, false)
			var s1, s2 float64
			for _, wt := range [][]float32{w, nil} {
				lnForwardRow(y, x, wt, b, 0.3, 1.7)
				a1, a2 := lnBackRow(x, g, wt, dxh, 0.3, 1.7)
				s1, s2 = s1+a1, s2+a2
				lnBackDxRow(ds, dxh, x, 0.3, 1.7, float32(a1)/9, float32(a2)/9)
				lnParamsRow(dw, db, x, g, 0.3, 1.7)
			}
			return out{vals: [][]float32{y, dxh, ds, dw, db, {float32(s1), float32(s2)}, {float32(s1 - float64(float32(s1))), float32(s2 - float64(float32(s2)))}}}
		}},
	}
	for _, row := range rows {
		for _, n := range lengths {
			t.Run(fmt.Sprintf("%s/%d", row.name, n), func(t *testing.T) {
				vec := row.run(rand.New(rand.NewPCG(uint64(n), 7)), n)
				var plain out
				withoutTransc(func() { plain = row.run(rand.New(rand.NewPCG(uint64(n), 7)), n) })
				if sameBits([]float32{vec.sum}, []float32{plain.sum}) >= 0 {
					t.Errorf("sum %g with the assembly, %g without", vec.sum, plain.sum)
				}
				for k := range vec.vals {
					if i := sameBits(vec.vals[k], plain.vals[k]); i >= 0 {
						t.Errorf("output %d [%d] = %g with the assembly, %g without", k, i, vec.vals[k][i], plain.vals[k][i])
					}
				}
			})
		}
	}
}

// TestTranscRowsAgainstFloat64 checks the row loops' values against
// float64 arithmetic on awkward lengths.
func TestTranscRowsAgainstFloat64(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 15, 17, 1003} {
		r := rand.New(rand.NewPCG(uint64(n), 11))
		x := transcInput(r, n, 4, false)
		sm := append([]float32(nil), x...)
		softmaxRow(sm)
		ls := make([]float32, n)
		logSoftmaxRows(ls, x, n)
		m := math.Inf(-1)
		for _, v := range x {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range x {
			s += math.Exp(float64(v) - m)
		}
		for i, v := range x {
			want := math.Exp(float64(v)-m) / s
			if d := math.Abs(float64(sm[i]) - want); d > 1e-6*want+1e-9 {
				t.Errorf("n=%d: softmax[%d] = %g, want %g", n, i, sm[i], want)
			}
			wantLog := float64(v) - m - math.Log(s)
			if d := math.Abs(float64(ls[i]) - wantLog); d > 2e-6*(1+math.Abs(wantLog)) {
				t.Errorf("n=%d: log-softmax[%d] = %g, want %g", n, i, ls[i], wantLog)
			}
		}
		p, d := transcInput(r, n, 1, false), transcInput(r, n, 1, false)
		var dot, mag float64
		for i := range p {
			dot += float64(p[i]) * float64(d[i])
			mag += math.Abs(float64(p[i]) * float64(d[i]))
		}
		if got := dotRow(p, d); math.Abs(float64(got)-dot) > 1e-6*mag {
			t.Errorf("n=%d: dot = %g, want %g", n, got, dot)
		}
		y, c := make([]float32, n), make([]float32, n)
		geluCDFRow(y, c, x)
		for i, v := range x {
			phi := 0.5 * (1 + math.Erf(float64(v)/math.Sqrt2))
			if math.Abs(float64(c[i])-phi) > 2e-7 || math.Abs(float64(y[i])-float64(v)*phi) > 2e-7*(1+math.Abs(float64(v))) {
				t.Errorf("n=%d: GELU(%g) = %g, Φ %g; want %g, %g", n, v, y[i], c[i], float64(v)*phi, phi)
			}
		}
	}
}

// BenchmarkTranscRows times the row loops with and without the AVX2
// assembly on the W-LM models' sizes.
func BenchmarkTranscRows(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x, y, c, g := transcInput(r, 4096, 2, false), make([]float32, 4096), make([]float32, 4096), transcInput(r, 4096, 1, false)
	const H = 256
	p, hw, c0 := transcInput(r, 4*H, 2, false), transcInput(r, 4*H, 1, false), transcInput(r, H, 1, false)
	gates, cNew, hNew, tc := make([]float32, 4*H), make([]float32, H), make([]float32, H), make([]float32, H)
	loops := []struct {
		name string
		f    func()
	}{
		{"softmaxRow/128", func() { copy(y[:128], x[:128]); softmaxRow(y[:128]) }},
		{"logSoftmaxRows/256", func() { logSoftmaxRows(y[:256], x[:256], 256) }},
		{"geluCDFRow/4096", func() { geluCDFRow(y, c, x) }},
		{"geluGradRow/4096", func() { geluGradRow(y, g, x, c) }},
		{"lstmGatesRow/256", func() { lstmGatesRow(p, hw, c0, gates, cNew, hNew, tc, H) }},
	}
	for _, l := range loops {
		b.Run(l.name+"/asm", func(b *testing.B) {
			for b.Loop() {
				l.f()
			}
		})
		b.Run(l.name+"/go", func(b *testing.B) {
			withoutTransc(func() {
				for b.Loop() {
					l.f()
				}
			})
		})
	}
}
