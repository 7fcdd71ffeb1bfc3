//go:build amd64 && !noasm

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// vecSets returns every set of vector loops this CPU can run, by name,
// so that the AVX2 loops are tested on an AVX-512 machine too.
func vecSets() map[string]*vecKernels {
	s := map[string]*vecKernels{}
	if cpu.X86.HasAVX512F {
		s["avx512"] = chooseVec(true, false)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		s["avx2"] = chooseVec(false, true)
	}
	return s
}

// lanes64 is the 16-lane float64 order of the vector sums: lane l adds
// term(l), term(l+16), ... over the n (a multiple of 16) elements, then
// the lanes are added pairwise, l += l+8, l += l+4, l += l+2, l += l+1.
// fma says each lane accumulates with one fused multiply-add of
// term's two factors.
func lanes64(n int, f func(i int) (a, b float64), fma bool) float64 {
	var acc [16]float64
	for i := 0; i < n; i++ {
		a, b := f(i)
		if fma {
			acc[i%16] = math.FMA(a, b, acc[i%16])
		} else {
			acc[i%16] += a * b
		}
	}
	for w := 8; w >= 1; w /= 2 {
		for l := range w {
			acc[l] += acc[l+w]
		}
	}
	return acc[0]
}

// TestVecSetsBitForBit runs each instruction set's loops directly on
// multiples of 16 (what they are handed) with ±0, denormals, infinities
// and NaN among the values and guards after the end: the element-wise
// loops against Go's expressions, the float32 sum against sumLanesGo and
// the float64 sums against their 16-lane order in Go, all bit for bit.
func TestVecSetsBitForBit(t *testing.T) {
	sets := vecSets()
	if len(sets) == 0 {
		t.Skip("no AVX-512 or AVX2+FMA")
	}
	r := rand.New(rand.NewPCG(21, 22))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-42, -1e-42}
	val := func(sp bool) float32 {
		if sp && r.IntN(4) == 0 {
			return special[r.IntN(len(special))]
		}
		return float32(r.NormFloat64() * 3)
	}
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
	}
	same64 := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	const guard = 12345.5
	for name, v := range sets {
		for _, n := range []int{16, 32, 48, 256, 784} {
			x, g, src := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range x {
				x[i], g[i], src[i] = val(false), val(false), val(true)
			}
			dst := make([]float32, n+16)
			check := func(op string, want func(i int) float32) {
				t.Helper()
				for i := range n {
					if w := want(i); !same(dst[i], w) {
						t.Fatalf("%s %s n=%d: [%d] = %v, want %v", name, op, n, i, dst[i], w)
					}
				}
				for i := n; i < len(dst); i++ {
					if dst[i] != guard {
						t.Fatalf("%s %s n=%d: guard [%d] overwritten", name, op, n, i)
					}
				}
			}
			reset := func() {
				for i := range dst {
					dst[i] = guard
				}
				copy(dst, g)
			}
			b := float32(-0.75)
			reset()
			v.add(&dst[0], &src[0], n)
			check("add", func(i int) float32 { return g[i] + src[i] })
			reset()
			v.biasReLU(&dst[0], &src[0], n, b)
			check("biasReLU", func(i int) float32 { return max(src[i]+b, 0) })
			reset()
			v.biasAdd(&dst[0], &src[0], n, b)
			check("biasAdd", func(i int) float32 { return src[i] + b })
			reset()
			v.reluGrad(&dst[0], &g[0], &src[0], n)
			check("reluGrad", func(i int) float32 { return reluMask(g[i], src[i]) })
			mean, inv, shift := float32(0.8), float32(0.37), float32(0.25)
			reset()
			v.bnAffine(&dst[0], &x[0], n, mean, inv, shift)
			check("bnAffine", func(i int) float32 { return (x[i]-mean)*inv + shift })
			wi, mg, mgx := float32(1.7)*inv, float32(0.03), float32(-0.2)
			reset()
			v.bnBackward(&dst[0], &x[0], &g[0], n, mean, inv, wi, mg, mgx)
			check("bnBackward", func(i int) float32 { return wi * ((g[i] - mg) - (x[i]-mean)*inv*mgx) })

			if got, want := v.sum(&x[0], n), sumLanesGo(x); !same(got, want) {
				t.Fatalf("%s sum n=%d: %v, want %v", name, n, got, want)
			}
			want := lanes64(n, func(i int) (float64, float64) { return float64(x[i]), 1 }, false)
			if got := v.sum64(&x[0], n); !same64(got, want) {
				t.Fatalf("%s sum64 n=%d: %v, want %v", name, n, got, want)
			}
			m64 := 0.8
			want = lanes64(n, func(i int) (float64, float64) { d := float64(x[i]) - m64; return d, d }, true)
			if got := v.sumSq64(&x[0], n, m64); !same64(got, want) {
				t.Fatalf("%s sumSq64 n=%d: %v, want %v", name, n, got, want)
			}
			wsg := lanes64(n, func(i int) (float64, float64) { return float64(g[i]), 1 }, false)
			wsgx := lanes64(n, func(i int) (float64, float64) { return float64(g[i]), float64((x[i] - mean) * inv) }, true)
			if sg, sgx := v.sumGradXhat(&x[0], &g[0], n, mean, inv); !same64(sg, wsg) || !same64(sgx, wsgx) {
				t.Fatalf("%s sumGradXhat n=%d: %v %v, want %v %v", name, n, sg, sgx, wsg, wsgx)
			}
		}
	}
}

// TestVecSetsMaxPool runs each set's 2×2 pooling on planes whose rows
// hold fewer than, exactly and more than a vector's windows (including
// the overlapping last block), with ties and zeros of both signs, against
// maxPool2x2Go, guards after out and arg; a NaN must make it refuse.
func TestVecSetsMaxPool(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for name, v := range vecSets() {
		for _, sz := range [][2]int{{2, 2}, {2, 7}, {6, 6}, {10, 4}, {8, 10}, {4, 14}, {4, 16}, {3, 17}, {6, 18}, {28, 28}, {14, 14}, {2, 100}} {
			h, w := sz[0], sz[1]
			oh, ow := h/2, w/2
			for trial := range 3 {
				plane := make([]float32, h*w)
				for i := range plane {
					switch r.IntN(5) {
					case 0:
						plane[i] = float32(math.Copysign(0, -1))
					case 1:
						plane[i] = 0
					case 2:
						plane[i] = float32(r.IntN(3) - 1)
					default:
						plane[i] = float32(r.NormFloat64())
					}
				}
				if trial == 2 {
					plane[r.IntN(2*oh)*w+r.IntN(2*ow)] = float32(math.NaN())
				}
				n := oh * ow
				out, arg := make([]float32, n+8), make([]int32, n+8)
				wout, warg := make([]float32, n), make([]int32, n)
				for i := n; i < n+8; i++ {
					out[i], arg[i] = 7, 7
				}
				ok := v.maxPool2x2(&plane[0], &out[0], &arg[0], w, oh, ow)
				if ok != (trial != 2) {
					t.Fatalf("%s %d×%d trial %d: reported %v", name, h, w, trial, ok)
				}
				if !ok {
					continue
				}
				maxPool2x2Go(plane, wout, warg, w, oh, ow)
				for i := range n {
					if math.Float32bits(out[i]) != math.Float32bits(wout[i]) || arg[i] != warg[i] {
						t.Fatalf("%s %d×%d trial %d: [%d] = %v at %d, want %v at %d", name, h, w, trial, i, out[i], arg[i], wout[i], warg[i])
					}
				}
				for i := n; i < n+8; i++ {
					if out[i] != 7 || arg[i] != 7 {
						t.Fatalf("%s %d×%d: guard [%d] overwritten", name, h, w, i)
					}
				}
			}
		}
	}
}
