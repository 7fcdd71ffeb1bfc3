package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// maxPoolRef is max pooling written plainly, window by window: the first
// maximum in window order wins, a NaN wins over any number (the last NaN),
// and padding taps are skipped.
func maxPoolRef(x []float32, h, w int, p PoolParams) (out []float32, arg []int32) {
	p = p.withDefaults()
	oh := PoolOutSize(h, p.Kernel[0], p.Stride[0], p.Padding[0], p.Dilation[0], p.CeilMode)
	ow := PoolOutSize(w, p.Kernel[1], p.Stride[1], p.Padding[1], p.Dilation[1], p.CeilMode)
	for oy := range oh {
		for ox := range ow {
			var best float32
			bi := -1
			for ki := range p.Kernel[0] {
				for kj := range p.Kernel[1] {
					iy := oy*p.Stride[0] - p.Padding[0] + ki*p.Dilation[0]
					ix := ox*p.Stride[1] - p.Padding[1] + kj*p.Dilation[1]
					if iy < 0 || iy >= h || ix < 0 || ix >= w {
						continue
					}
					v := x[iy*w+ix]
					switch {
					case bi < 0, math.IsNaN(float64(v)):
						best, bi = v, iy*w+ix
					case !math.IsNaN(float64(best)) && v > best:
						best, bi = v, iy*w+ix
					}
				}
			}
			out = append(out, best)
			arg = append(arg, int32(bi))
		}
	}
	return out, arg
}

// TestMaxPool3x3MatchesReference checks MaxPool2d with 3×3 windows and
// horizontal stride 2 (the vector loop's case, and its edges in Go)
// against the plain reference bit for bit, values and indices, on planes
// of awkward widths (row tails of 1..7 outputs after the groups of 8), with
// ties, zeros of both signs, infinities and NaN.
func TestMaxPool3x3MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	negInf, inf := float32(math.Inf(-1)), float32(math.Inf(1))
	kinds := []struct {
		name string
		val  func() float32
	}{
		{"normal", func() float32 { return float32(r.NormFloat64()) }},
		{"ties", func() float32 { return float32(r.IntN(3)) }},
		{"zeros", func() float32 { return float32(math.Copysign(0, r.Float64()-0.5)) }},
		{"special", func() float32 {
			switch r.IntN(6) {
			case 0:
				return float32(math.NaN())
			case 1:
				return negInf
			case 2:
				return inf
			case 3:
				return float32(math.Copysign(0, -1))
			}
			return float32(r.IntN(2))
		}},
		{"all -inf", func() float32 { return negInf }},
	}
	type geom struct {
		h, w   int
		stride [2]int
		pad    [2]int
		ceil   bool
	}
	var geoms []geom
	for _, w := range []int{3, 15, 16, 17, 18, 19, 31, 32, 33, 34, 47, 64} {
		geoms = append(geoms,
			geom{32, w, [2]int{2, 2}, [2]int{1, 1}, false},
			geom{5, w, [2]int{2, 2}, [2]int{0, 0}, false},
			geom{7, w, [2]int{1, 2}, [2]int{1, 0}, true},
			geom{9, w, [2]int{3, 2}, [2]int{0, 1}, true})
	}
	// Padding rows at the top and bottom: one, or two below in ceil mode,
	// or a single input row.
	for _, w := range []int{17, 20, 33} {
		for _, h := range []int{1, 2, 3, 4, 8} {
			for _, ceil := range []bool{false, true} {
				geoms = append(geoms, geom{h, w, [2]int{2, 2}, [2]int{1, 1}, ceil}, geom{h, w, [2]int{1, 2}, [2]int{1, 1}, ceil})
			}
		}
	}
	for _, k := range kinds {
		for _, gm := range geoms {
			p := PoolParams{Kernel: [2]int{3, 3}, Stride: gm.stride, Padding: gm.pad, CeilMode: gm.ceil}
			x := FromFunc(func(int) float32 { return k.val() }, 2, 3, gm.h, gm.w)
			y, arg := MaxPool2d(x, p)
			hw := gm.h * gm.w
			for c := range 6 {
				want, warg := maxPoolRef(x.data[c*hw:][:hw], gm.h, gm.w, p)
				ohw := len(want)
				for i := range want {
					o := c*ohw + i
					if arg[o] != warg[i] || math.Float32bits(y.data[o]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %+v plane %d output %d: got %v at %d, want %v at %d", k.name, gm, c, i, y.data[o], arg[o], want[i], warg[i])
					}
				}
			}
		}
	}
}

// BenchmarkMaxPool3x3 is ResNet's stem pooling (3×3, stride 2, padding 1)
// on a training batch: 32 images of 64 channels at 32×32.
func BenchmarkMaxPool3x3(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x := FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, 32, 64, 32, 32)
	p := PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}
	for b.Loop() {
		_, arg := MaxPool2d(x, p)
		RecycleInt32s(arg)
	}
}

// BenchmarkMaxPool3x3Backward is BenchmarkMaxPool3x3's backward pass: the
// output gradient sent back to the chosen positions.
func BenchmarkMaxPool3x3Backward(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x := FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, 32, 64, 32, 32)
	p := PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}
	y, arg := MaxPool2d(x, p)
	gy := FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, y.Shape()...)
	for b.Loop() {
		MaxPool2dBackward(x, gy, arg)
	}
}
