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

// TestWinoInputGradNarrow checks winoInputGradNarrow (the vector patches
// and the element-wise sums) against the scratch-plane pass bit for bit,
// for planes of 1 to 7 tiles a row, odd and even, every padding, with NaN,
// infinities and signed zeros in dV.
func TestWinoInputGradNarrow(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, sz := range []struct{ cnt, c, h, w int }{{1, 1, 1, 1}, {3, 2, 2, 2}, {2, 3, 3, 5}, {5, 2, 4, 4}, {2, 2, 8, 8}, {3, 1, 7, 13}, {1, 2, 14, 9}} {
		for py := range 3 {
			for px := range 3 {
				g := convGeom{n: sz.cnt, c: sz.c, h: sz.h, w: sz.w, oh: sz.h + 2*py - 2, ow: sz.w + 2*px - 2,
					p: ConvParams{Padding: [2]int{py, px}}}
				if g.oh < 1 || g.ow < 1 {
					continue
				}
				nt := sz.cnt * ((g.oh + 1) / 2) * ((g.ow + 1) / 2)
				cs := sz.c*nt + 16
				d := make([]float32, 16*cs)
				for i := range d {
					switch v := winoTestVal(r); r.IntN(10) {
					case 0:
						d[i] = float32(math.Copysign(0, float64(v)))
					default:
						d[i] = v
					}
				}
				got, want := make([]float32, sz.cnt*sz.c*sz.h*sz.w), make([]float32, sz.cnt*sz.c*sz.h*sz.w)
				g.winoInputGradNarrow(d, cs, 0, sz.cnt, 0, sz.c, got)
				g.winoInputGradPlanes(d, cs, 0, sz.cnt, 0, sz.c, want)
				for i, v := range want {
					if !winoSame(got[i], v) {
						t.Fatalf("%+v, padding %d, %d: element %d is %v, want %v", sz, py, px, i, got[i], v)
					}
				}
			}
		}
	}
}

// TestWinoPatchesVector checks winoPatchVec against winoPatches bit for
// bit for runs of 1 to 40 tiles.
func TestWinoPatchesVector(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for n := 1; n <= 40; n++ {
		cs, ps := n+3, n+5
		x := make([]float32, 16*cs)
		for i := range x {
			x[i] = winoTestVal(r)
		}
		got, want := make([]float32, 16*ps), make([]float32, 16*ps)
		for t0 := winoPatchVec(x, cs, n, got, ps); t0 < n; t0 += 8 {
			winoPatches(x, cs, t0, min(t0+8, n), got, ps)
		}
		for t0 := 0; t0 < n; t0 += 8 {
			winoPatches(x, cs, t0, min(t0+8, n), want, ps)
		}
		for i, v := range want {
			if !winoSame(got[i], v) {
				t.Fatalf("%d tiles: element %d is %v, want %v", n, i, got[i], v)
			}
		}
	}
}

// TestWinoZipVec checks winoZipVec's interleaving, and that it leaves the
// tail (and what follows) to its caller, for 0 to 40 elements.
func TestWinoZipVec(t *testing.T) {
	for n := range 41 {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = float32(i+1), -float32(i+1)
		}
		dst := make([]float32, 2*n+2)
		k := winoZipVec(dst, a, b)
		if k > n || k%8 != 0 {
			t.Fatalf("%d elements: did %d", n, k)
		}
		for i := range dst {
			want := float32(0)
			if i < 2*k {
				want = a[i/2]
				if i%2 == 1 {
					want = b[i/2]
				}
			}
			if dst[i] != want {
				t.Fatalf("%d elements: dst[%d] = %v, want %v", n, i, dst[i], want)
			}
		}
	}
}

// TestWinoDXTail checks the input gradient's tile rows with a tail (the
// vector pass, then winoDXTail) against winoDXGroup alone, bit for bit,
// for 1 to 27 tiles, on scratch rows that hold sums (never -0).
func TestWinoDXTail(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for tw := 1; tw <= 27; tw++ {
		cs, pw := 3*tw+5, 2*tw+2
		x := make([]float32, 16*cs)
		for i := range x {
			x[i] = winoTestVal(r)
		}
		got, want := make([]float32, 4*pw+16), make([]float32, 4*pw+16)
		for i := range got {
			got[i] = float32(r.NormFloat64())
			want[i] = got[i]
		}
		t0 := winoDXVec(x, cs, tw, got, pw)
		if t0 == tw || !winoDXTail(x, cs, t0, tw, got, pw) {
			for ; t0 < tw; t0 += 8 {
				winoDXGroup(x, cs, t0, min(t0+8, tw), got, pw)
			}
		}
		for t0 := 0; t0 < tw; t0 += 8 {
			winoDXGroup(x, cs, t0, min(t0+8, tw), want, pw)
		}
		for i := range want {
			if !winoSame(got[i], want[i]) {
				t.Fatalf("%d tiles: element %d is %v, want %v", tw, i, got[i], want[i])
			}
		}
	}
}
