package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refSelfAttention is SelfAttention and its gradient written plainly in
// float64: scores, mask, softmax, weighted values per head, and the
// backward pass of each.
func refSelfAttention(qkv, gout []float32, n, t, e, heads int, causal bool, scale float64) (out, grad []float64) {
	hd := e / heads
	out, grad = make([]float64, n*t*e), make([]float64, n*t*3*e)
	at := func(b, i, c int) float64 { return float64(qkv[(b*t+i)*3*e+c]) }
	for b := range n {
		for h := range heads {
			p := make([][]float64, t)
			for i := range t {
				p[i] = make([]float64, t)
				m := math.Inf(-1)
				for j := range t {
					if causal && j > i {
						p[i][j] = math.Inf(-1)
						continue
					}
					var s float64
					for d := range hd {
						s += at(b, i, h*hd+d) * at(b, j, e+h*hd+d)
					}
					p[i][j] = s * scale
					m = math.Max(m, p[i][j])
				}
				var sum float64
				for j := range t {
					p[i][j] = math.Exp(p[i][j] - m)
					sum += p[i][j]
				}
				for j := range t {
					p[i][j] /= sum
				}
				for d := range hd {
					var o float64
					for j := range t {
						o += p[i][j] * at(b, j, 2*e+h*hd+d)
					}
					out[(b*t+i)*e+h*hd+d] = o
				}
			}
			g := func(i, d int) float64 { return float64(gout[(b*t+i)*e+h*hd+d]) }
			for i := range t {
				dp := make([]float64, t)
				var dot float64
				for j := range t {
					for d := range hd {
						dp[j] += g(i, d) * at(b, j, 2*e+h*hd+d)
					}
					dot += dp[j] * p[i][j]
				}
				for j := range t {
					ds := p[i][j] * (dp[j] - dot) * scale
					for d := range hd {
						grad[(b*t+i)*3*e+h*hd+d] += ds * at(b, j, e+h*hd+d)
						grad[(b*t+j)*3*e+e+h*hd+d] += ds * at(b, i, h*hd+d)
						grad[(b*t+j)*3*e+2*e+h*hd+d] += p[i][j] * g(i, d)
					}
				}
			}
		}
	}
	return out, grad
}

func TestSelfAttentionMatchesReference(t *testing.T) {
	for _, c := range []struct {
		n, t, e, heads int
		causal         bool
	}{
		{1, 1, 4, 1, true}, {2, 3, 6, 2, false}, {2, 5, 6, 3, true}, {1, 65, 12, 4, true},
		{1, 130, 8, 2, true}, {2, 70, 9, 3, false}, {1, 128, 16, 4, true},
	} {
		r := rand.New(rand.NewPCG(uint64(c.t), 7))
		qkv := Zeros(c.n, c.t, 3*c.e)
		gout := Zeros(c.n, c.t, c.e)
		for i := range qkv.data {
			qkv.data[i] = float32(r.NormFloat64())
		}
		for i := range gout.data {
			gout.data[i] = float32(r.NormFloat64())
		}
		scale := 1 / math.Sqrt(float64(c.e/c.heads))
		out, p := SelfAttention(qkv, c.heads, c.causal, float32(scale))
		grad := SelfAttentionBackward(qkv, p, gout, c.heads, c.causal, float32(scale))
		wantOut, wantGrad := refSelfAttention(qkv.data, gout.data, c.n, c.t, c.e, c.heads, c.causal, scale)
		for _, x := range []struct {
			name string
			got  []float32
			want []float64
		}{{"output", out.Data(), wantOut}, {"gradient", grad.Data(), wantGrad}} {
			for i, w := range x.want {
				if d := math.Abs(float64(x.got[i]) - w); !(d <= 1e-4*(1+math.Abs(w))) {
					t.Fatalf("%+v: %s[%d] = %v, want %v", c, x.name, i, x.got[i], w)
				}
			}
		}
	}
}

func TestExp32(t *testing.T) {
	for _, x := range []float32{0, 1, -1, 0.5, -0.3466, 10, -10, 50, -50, 80, 88.7, -87.3, -87.4, -100, 89, float32(math.Inf(-1)), float32(math.Inf(1))} {
		got, want := Exp32(x), math.Exp(float64(x))
		switch {
		case x < -87.33654: // documented: 0 below the normal float32s
			want = 0
		case x > 88.72283:
			want = math.Inf(1)
		}
		if want == 0 || math.IsInf(want, 0) {
			if float64(got) != want {
				t.Errorf("Exp32(%v) = %v, want %v", x, got, want)
			}
			continue
		}
		if rel := math.Abs(float64(got)-want) / want; rel > 3e-7 {
			t.Errorf("Exp32(%v) = %v, want %v (relative error %.2g)", x, got, want, rel)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		x := float32(r.Float64()*170 - 85)
		if rel := math.Abs(float64(Exp32(x))-math.Exp(float64(x))) / math.Exp(float64(x)); rel > 3e-7 {
			t.Fatalf("Exp32(%v): relative error %.2g", x, rel)
		}
	}
	if v := Exp32(float32(math.NaN())); v == v {
		t.Errorf("Exp32(NaN) = %v", v)
	}
}

func TestGELU32MatchesFloat64(t *testing.T) {
	var xs []float32
	for x := float32(-12); x <= 12; x += 0.001 {
		xs = append(xs, x)
	}
	x := New(xs, len(xs))
	g := Ones(len(xs))
	fast, exact := GELU32(x), GELU(x, false)
	dfast, dexact := GELU32Grad(g, x), GELUGrad(g, x, false)
	y, cdf := GELU32CDF(x)
	dcdf := GELU32GradCDF(g, x, cdf)
	for i := range xs {
		if y.data[i] != fast.data[i] || math.Abs(float64(dcdf.data[i]-dfast.data[i])) > 1e-7 {
			t.Fatalf("GELU32CDF(%v) = %v, grad %v; GELU32 %v, grad %v", xs[i], y.data[i], dcdf.data[i], fast.data[i], dfast.data[i])
		}
	}
	for i, v := range xs {
		if d := math.Abs(float64(fast.data[i] - exact.data[i])); d > 2e-7*(1+math.Abs(float64(v))) {
			t.Fatalf("GELU32(%v) = %v, GELU %v", v, fast.data[i], exact.data[i])
		}
		if d := math.Abs(float64(dfast.data[i] - dexact.data[i])); d > 5e-7 {
			t.Fatalf("GELU32Grad(%v) = %v, GELUGrad %v", v, dfast.data[i], dexact.data[i])
		}
	}
	for _, v := range []float64{0, 0.1, -0.5, 1, 2.5, -3, 3.9, 5} {
		if d := math.Abs(float64(Erf32(float32(v))) - math.Erf(v)); d > 3e-7 {
			t.Errorf("Erf32(%v) = %v, want %v", v, Erf32(float32(v)), math.Erf(v))
		}
	}
}
