package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// winoTestVal draws a normal value, now and then a NaN or an infinity.
func winoTestVal(r *rand.Rand) float32 {
	switch r.IntN(40) {
	case 0:
		return float32(math.NaN())
	case 1:
		return float32(math.Inf(1 - 2*r.IntN(2)))
	}
	return float32(r.NormFloat64())
}

// winoSame reports whether a and b are the same float32, any NaN matching
// any other.
func winoSame(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// TestWinoWeightsParMatchesKernel checks winoWeightsPar (its AVX2 pass
// where there is one) against winoKernel kernel by kernel, bit for bit,
// plain and transposed, for channel counts that leave every tail of the
// 8-kernel groups, with NaN and infinities among the weights.
func TestWinoWeightsParMatchesKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 14))
	for _, sz := range []struct{ o, c int }{{1, 1}, {3, 5}, {7, 9}, {8, 8}, {9, 13}, {16, 3}, {17, 31}, {64, 64}, {130, 70}} {
		w := make([]float32, sz.o*sz.c*9)
		for i := range w {
			w[i] = winoTestVal(r)
		}
		for _, trans := range []bool{false, true} {
			u := winoWeightsPar(w, sz.o, sz.c, trans)
			us := winoUStride(sz.o, sz.c)
			for oi := range sz.o {
				for ci := range sz.c {
					want := winoKernel(w[(oi*sz.c+ci)*9:])
					at := oi*sz.c + ci
					if trans {
						at = ci*sz.o + oi
					}
					for k, v := range want {
						if g := u[k*us+at]; !winoSame(g, v) {
							t.Fatalf("%d×%d, trans %v: kernel (%d, %d) value %d is %v, want %v", sz.o, sz.c, trans, oi, ci, k, g, v)
						}
					}
				}
			}
			putFloats(u)
		}
	}
}

// BenchmarkWinoTrainPasses times the training path's weight passes on
// ResNet-18's last stage (512×512 kernels), per kernel.
func BenchmarkWinoTrainPasses(b *testing.B) {
	const o, c = 512, 512
	r := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, o*c*9)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	for _, trans := range []bool{false, true} {
		name := "weights"
		if trans {
			name = "weightsT"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				putFloats(winoWeightsPar(w, o, c, trans))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*o*c), "ns/kernel")
		})
	}
	b.Run("weightGrad", func(b *testing.B) {
		us := winoUStride(o, c)
		mw := make([]float32, 16*us)
		for i := range mw {
			mw[i] = float32(r.NormFloat64())
		}
		dw := make([]float32, 9*o*c)
		for b.Loop() {
			winoWeightGrad(mw, us, 0, o*c, dw)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*o*c), "ns/kernel")
	})
}

// TestWinoWeightGradMatchesScalar checks winoWeightGrad (its AVX2 pass
// where there is one) against Gᵀ·dU·G computed kernel by kernel in the
// same order, bit for bit, for ranges of kernels that start anywhere and
// leave every tail of the 8-kernel groups, with NaN and infinities in dU.
func TestWinoWeightGradMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	half := func(a, b float32) (s, d float32) { return (a + b) * 0.5, (a - b) * 0.5 }
	for _, oc := range []int{1, 7, 8, 9, 16, 23, 64, 133} {
		us := oc + 5
		mw := make([]float32, 16*us)
		for i := range mw {
			mw[i] = winoTestVal(r)
		}
		for _, e := range [][2]int{{0, oc}, {1, oc}, {oc / 3, oc - oc/5}, {oc, oc}} {
			dw := make([]float32, 9*oc+9)
			for i := range dw {
				dw[i] = 42
			}
			winoWeightGrad(mw, us, e[0], e[1], dw)
			for k := range oc + 1 {
				var want [9]float32
				for i := range want {
					want[i] = 42
				}
				if k >= e[0] && k < e[1] {
					var x [4][4]float32
					for i := range 16 {
						x[i/4][i%4] = mw[i*us+k]
					}
					var g [3][4]float32 // Gᵀ·X
					for j := range 4 {
						s, d := half(x[1][j], x[2][j])
						g[0][j], g[1][j], g[2][j] = x[0][j]+s, d, s+x[3][j]
					}
					for i := range 3 {
						s, d := half(g[i][1], g[i][2])
						want[3*i], want[3*i+1], want[3*i+2] = g[i][0]+s, d, s+g[i][3]
					}
				}
				for i, v := range want {
					if got := dw[9*k+i]; !winoSame(got, v) {
						t.Fatalf("%d kernels, range %v: kernel %d value %d is %v, want %v", oc, e, k, i, got, v)
					}
				}
			}
		}
	}
}
