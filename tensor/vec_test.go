package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVecMatchesScalar checks the vector loops against Go's scalar
// expressions bit for bit (NaN only as NaN), on awkward lengths and values
// that include ±0, denormals, infinities and NaN, with guard values after
// the end that must not change.
func TestVecMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	val := func() float32 {
		switch r.IntN(10) {
		case 0:
			return float32(math.Copysign(0, r.Float64()-0.5))
		case 1:
			return math.Float32frombits(r.Uint32() & 0x807fffff)
		case 2:
			return float32(math.Inf(1 - 2*r.IntN(2)))
		case 3:
			return float32(math.NaN())
		}
		return float32(r.NormFloat64())
	}
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
	}
	const guard = 12345.5
	for _, n := range []int{1, 7, 15, 16, 17, 33, 255, 1000} {
		src, dst := make([]float32, n), make([]float32, n+3)
		for i := range src {
			src[i], dst[i] = val(), val()
		}
		dst[n], dst[n+1], dst[n+2] = guard, guard, guard
		want := append([]float32(nil), dst...)
		for i := range src {
			want[i] += src[i]
		}
		done := addVec(dst[:n], src)
		for i := done; i < n; i++ {
			dst[i] += src[i]
		}
		for i := range want {
			if !same(dst[i], want[i]) {
				t.Fatalf("addVec n=%d: [%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
		for _, b := range []float32{0, float32(math.Copysign(0, -1)), 0.75, -1e-40} {
			for _, relu := range []bool{false, true} {
				for i := range dst[:n] {
					want[i] = src[i] + b
					if relu {
						want[i] = max(want[i], 0)
					}
				}
				biasReLU(dst[:n], src, 1, b, true, relu)
				for i := range want {
					if !same(dst[i], want[i]) {
						t.Fatalf("biasReLU n=%d b=%v relu=%v: [%d] = %v, want %v (src %v)", n, b, relu, i, dst[i], want[i], src[i%n])
					}
				}
			}
		}
		// Without a bias, ReLU still equals max(x, 0).
		for i := range dst[:n] {
			want[i] = max(src[i], 0)
		}
		biasReLU(dst[:n], src, 1, 0, false, true)
		for i := range want {
			if !same(dst[i], want[i]) {
				t.Fatalf("ReLU n=%d: [%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
	}
}

// TestSumLanes checks the vector sum against sumLanesGo bit for bit.
func TestSumLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{0, 1, 7, 15, 16, 17, 33, 196, 255, 784, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
		}
		if got, want := sumLanes(x), sumLanesGo(x); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("n=%d: sumLanes %v, sumLanesGo %v", n, got, want)
		}
	}
}

// TestMaxPool2x2Vec checks the vector 2×2 pooling against the Go loop,
// values and argmax, on awkward sizes, with ties, zeros of both signs and
// NaN (which the vector loop hands back to Go), with guards after out.
func TestMaxPool2x2Vec(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, sz := range [][2]int{{2, 2}, {3, 5}, {4, 28}, {28, 28}, {14, 14}, {7, 33}, {9, 64}, {5, 66}, {2, 100}} {
		h, w := sz[0], sz[1]
		oh, ow := h/2, w/2
		for trial := range 4 {
			plane := make([]float32, h*w)
			for i := range plane {
				switch r.IntN(6) {
				case 0:
					plane[i] = float32(math.Copysign(0, -1))
				case 1:
					plane[i] = 0
				case 2:
					plane[i] = float32(r.IntN(3)) // ties
				default:
					plane[i] = float32(r.NormFloat64())
				}
				if trial == 1 {
					plane[i] = -float32(math.Abs(float64(plane[i]))) // maxima of zeros
				}
			}
			if trial == 3 {
				plane[r.IntN(2*oh)*w+r.IntN(2*ow)] = float32(math.NaN()) // inside a window
			}
			out, arg := make([]float32, oh*ow+2), make([]int32, oh*ow+2)
			wout, warg := make([]float32, oh*ow+2), make([]int32, oh*ow+2)
			out[oh*ow], arg[oh*ow], wout[oh*ow], warg[oh*ow] = 7, 7, 7, 7
			if ok := maxPool2x2Vec(plane, out[:oh*ow], arg[:oh*ow], w, oh, ow); hasVecLoops() && ok != (trial != 3) {
				t.Fatalf("%d×%d trial %d: vector loop reported %v", h, w, trial, ok)
			}
			maxPool2x2(plane, out[:oh*ow], arg[:oh*ow], w, oh, ow)
			maxPool2x2Go(plane, wout[:oh*ow], warg[:oh*ow], w, oh, ow)
			for i := range wout {
				if math.Float32bits(out[i]) != math.Float32bits(wout[i]) && !(out[i] != out[i] && wout[i] != wout[i]) || arg[i] != warg[i] {
					t.Fatalf("%d×%d trial %d: [%d] = %v at %d, want %v at %d", h, w, trial, i, out[i], arg[i], wout[i], warg[i])
				}
			}
		}
	}
}

// TestGatherBias checks the strided (gather) bias/ReLU pass against the Go
// expressions bit for bit, guards included.
func TestGatherBias(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, n := range []int{1, 7, 16, 17, 33, 196} {
		for _, stride := range []int{2, 3, 64} {
			src := make([]float32, (n-1)*stride+1)
			for i := range src {
				switch r.IntN(5) {
				case 0:
					src[i] = float32(math.Copysign(0, -1))
				case 1:
					src[i] = float32(math.NaN())
				default:
					src[i] = float32(r.NormFloat64())
				}
			}
			for _, b := range []float32{0.5, float32(math.Copysign(0, -1))} {
				for mode := range 4 {
					hasBias, relu := mode&1 != 0, mode&2 != 0
					d := make([]float32, n+2)
					d[n], d[n+1] = 9, 9
					biasReLU(d[:n], src, stride, b, hasBias, relu)
					for j := range n {
						v := src[j*stride]
						if hasBias {
							v += b
						}
						if relu {
							v = max(v, 0)
						}
						if math.Float32bits(d[j]) != math.Float32bits(v) && !(v != v && d[j] != d[j]) {
							t.Fatalf("n=%d stride=%d b=%v mode=%d: [%d] = %v, want %v", n, stride, b, mode, j, d[j], v)
						}
					}
					if d[n] != 9 || d[n+1] != 9 {
						t.Fatalf("n=%d stride=%d: guard overwritten", n, stride)
					}
				}
			}
		}
	}
}

// TestUnpoolVecMatchesScalar checks the vector unpooling of the fused
// conv-ReLU-pool backward pass against convGrad.plane's scalar loop, bit
// for bit, on awkward lengths with ±0, NaN and +Inf among the gradients and
// activations, and that an index outside the plane is refused.
func TestUnpoolVecMatchesScalar(t *testing.T) {
	if !hasVec512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(15, 16))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), -1}
	for _, n := range []int{1, 7, 15, 16, 17, 33, 196} {
		size := 4*n + 5
		gp, y, arg := make([]float32, n), make([]float32, n), make([]int32, n)
		for i, q := range r.Perm(size)[:n] {
			gp[i], y[i], arg[i] = float32(r.NormFloat64()), float32(r.Float64()), int32(q)
			if r.IntN(3) == 0 {
				gp[i] = special[r.IntN(len(special))]
			}
			if r.IntN(3) == 0 {
				y[i] = special[r.IntN(len(special))]
			}
		}
		want, got := make([]float32, size), make([]float32, size)
		for q, v := range gp {
			if v == 0 {
				v = 0
			}
			want[arg[q]] = reluMask(v, y[q])
		}
		if !unpoolVec(got, gp, y, arg) {
			t.Fatalf("n=%d: unpoolVec refused valid indices", n)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, got[i], want[i])
			}
		}
		for _, bad := range []int32{-1, int32(size)} {
			arg[n-1], y[n-1] = bad, 1
			if unpoolVec(got, gp, y, arg) {
				t.Fatalf("n=%d: index %d accepted", n, bad)
			}
		}
	}
}

// TestBatchNormVecMatchesScalar checks batch norm's vector loops: the
// float64 sums against plain sums (to 1e-12, the order differs), the
// element-wise passes bit for bit against Go's expressions, on lengths
// around the 16-float vectors.
func TestBatchNormVecMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{1, 15, 16, 17, 33, 196, 784} {
		x, g, dst := make([]float32, n), make([]float32, n), make([]float32, n+1)
		for i := range x {
			x[i], g[i] = float32(r.NormFloat64()*3+1), float32(r.NormFloat64())
		}
		const guard = 12345.5
		dst[n] = guard
		var s, ss, sg, sgx float64
		mean, inv := float32(0.8), float32(0.37)
		for i := range x {
			s += float64(x[i])
			ss += (float64(x[i]) - 0.8) * (float64(x[i]) - 0.8)
			sg += float64(g[i])
			sgx += float64(g[i]) * float64((x[i]-mean)*inv)
		}
		near := func(what string, got, want float64) {
			if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
				t.Errorf("n=%d %s = %v, want %v", n, what, got, want)
			}
		}
		near("sum64", sum64(x), s)
		near("sumSq64", sumSq64(x, 0.8), ss)
		a, b := sumGradXhat(x, g, mean, inv)
		near("Σg", a, sg)
		near("Σg·x̂", b, sgx)
		k := bnAffineVec(dst[:n], x, mean, inv, 0.25)
		for i := k; i < n; i++ {
			dst[i] = (x[i]-mean)*inv + 0.25
		}
		for i := range x {
			if want := (x[i]-mean)*inv + 0.25; dst[i] != want {
				t.Fatalf("n=%d bnAffine [%d] = %v, want %v", n, i, dst[i], want)
			}
		}
		w, mg, mgx := float32(1.7), float32(0.03), float32(-0.2)
		k = bnBackwardVec(dst[:n], x, g, mean, inv, w*inv, mg, mgx)
		for i := k; i < n; i++ {
			dst[i] = -1
		}
		for i := range x[:k] {
			xh := (x[i] - mean) * inv
			if want := w * inv * (g[i] - mg - xh*mgx); dst[i] != want {
				t.Fatalf("n=%d bnBackward [%d] = %v, want %v", n, i, dst[i], want)
			}
		}
		if dst[n] != guard {
			t.Fatalf("n=%d: element past the end overwritten", n)
		}
	}
}

// TestReLUGradVecMatchesScalar checks the vector ReLU gradient against
// reluMask bit for bit, with ±0, NaN, ±Inf and denormals among the
// gradients and the activations.
func TestReLUGradVecMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-42, -1e-42}
	val := func() float32 {
		if r.IntN(3) == 0 {
			return special[r.IntN(len(special))]
		}
		return float32(r.NormFloat64())
	}
	for _, n := range []int{1, 15, 16, 17, 33, 255} {
		g, y := make([]float32, n), make([]float32, n)
		for i := range g {
			g[i], y[i] = val(), val()
		}
		got := ReLUGrad(New(g, n), New(y, n)).Data()
		for i := range g {
			if want := reluMask(g[i], y[i]); math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("n=%d: [%d] = %v (g %v, y %v), want %v", n, i, got[i], g[i], y[i], want)
			}
		}
	}
}
