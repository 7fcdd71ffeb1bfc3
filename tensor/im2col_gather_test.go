package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGather2Vec checks the stride-2 gather of im2col's strided rows
// against the scalar loop on every length from 0 to 40, with src as
// short as the gather allows (2n-1 elements) and longer, NaN included.
func TestGather2Vec(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for _, extra := range []int{-1, 0, 7} {
			m := max(2*n+extra, 0)
			src := make([]float32, m)
			for i := range src {
				src[i] = float32(i) + 0.5
			}
			if m > 3 {
				src[3] = float32(math.NaN())
				src[2] = float32(math.Inf(-1))
			}
			d := make([]float32, n)
			for j := gather2Vec(d, src); j < n; j++ {
				d[j] = src[2*j]
			}
			for j := range d {
				if math.Float32bits(d[j]) != math.Float32bits(src[2*j]) {
					t.Fatalf("n=%d, len(src)=%d: d[%d] = %v, want %v", n, m, j, d[j], src[2*j])
				}
			}
		}
	}
}

// TestGatherRows2 checks the one-call strided rows against the scalar
// definition: every copied length 0..40 (vector groups of 8 and tails of
// 1..7), left and right padding of 0..2, one to three rows, a source row
// as short as allowed and longer, NaN and -0 bits kept, and every other
// column of the written rows zeroed over garbage.
func TestGatherRows2(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for _, pad := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {2, 1}, {1, 2}} {
			for rows := 1; rows <= 3; rows++ {
				for _, extra := range []int{-1, 0, 5} {
					xlo, ow := pad[0], pad[0]+n+pad[1]
					srcRow := max(2*n+extra, 2*n-1, 0)
					stride := srcRow + 3
					src := make([]float32, (rows-1)*stride+srcRow)
					for i := range src {
						src[i] = float32(i) + 0.25
						switch i % 11 {
						case 3:
							src[i] = float32(math.NaN())
						case 5:
							src[i] = float32(math.Copysign(0, -1))
						}
					}
					dst := make([]float32, rows*ow)
					for i := range dst {
						dst[i] = -7
					}
					if !gatherRows2(dst, src, rows, ow, xlo, xlo+n, srcRow, stride) {
						t.Skip("no vector loop on this CPU or build")
					}
					for r := range rows {
						for ox := range ow {
							want := float32(0)
							if j := ox - xlo; j >= 0 && j < n {
								want = src[r*stride+2*j]
							}
							if got := dst[r*ow+ox]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("n=%d pad=%v rows=%d srcRow=%d: row %d col %d = %v, want %v", n, pad, rows, srcRow, r, ox, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// TestIm2colStridedMatchesReference checks the batched im2col of strided
// convolutions (the one-call rows of horizontal stride 2 among them)
// against the per-image reference lowering, bit for bit, on ResNet's
// strided geometries and awkward ones: odd sizes, paddings, dilations,
// vertical strides of 1 to 3.
func TestIm2colStridedMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		x, w []int
		p    ConvParams
	}{
		{[]int{2, 3, 64, 64}, []int{4, 3, 7, 7}, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{3, 3}}},
		{[]int{2, 4, 32, 32}, []int{4, 4, 3, 3}, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{[]int{2, 4, 8, 8}, []int{4, 4, 3, 3}, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{[]int{2, 4, 16, 16}, []int{4, 4, 1, 1}, ConvParams{Stride: [2]int{2, 2}}},
		{[]int{3, 2, 37, 45}, []int{3, 2, 5, 3}, ConvParams{Stride: [2]int{1, 2}, Padding: [2]int{2, 1}}},
		{[]int{1, 2, 23, 51}, []int{2, 2, 3, 4}, ConvParams{Stride: [2]int{3, 2}, Padding: [2]int{1, 2}, Dilation: [2]int{2, 1}}},
		{[]int{2, 1, 9, 3}, []int{1, 1, 3, 3}, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{[]int{1, 1, 5, 40}, []int{1, 1, 2, 2}, ConvParams{Stride: [2]int{2, 3}}},
	} {
		x := FromFunc(func(i int) float32 {
			if i%13 == 4 {
				return float32(math.NaN())
			}
			return float32(r.NormFloat64())
		}, c.x...)
		w := Zeros(c.w...)
		g := newConvGeom(x, w, c.p)
		ohw := g.oh * g.ow
		ld := g.n * ohw
		cols := make([]float32, g.c*g.kh*g.kw*ld)
		for i := range cols {
			cols[i] = -7 // garbage the im2col must overwrite
		}
		g.im2colBatch(x.data, 0, g.n, cols)
		ref := make([]float32, g.c*g.kh*g.kw*ohw)
		for n := range g.n {
			g.refIm2col(x.data[n*g.c*g.h*g.w:], ref)
			for row := range g.c * g.kh * g.kw {
				for q := range ohw {
					got, want := cols[row*ld+n*ohw+q], ref[row*ohw+q]
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%v %v %+v: image %d row %d position %d = %v, want %v", c.x, c.w, c.p, n, row, q, got, want)
					}
				}
			}
		}
		// col2im, its adjoint, of columns with NaN, -0 and values of
		// mixed magnitude (the order of each pixel's sum shows).
		for i := range cols {
			switch i % 29 {
			case 3:
				cols[i] = float32(math.NaN())
			case 7:
				cols[i] = float32(math.Copysign(0, -1))
			default:
				cols[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
			}
		}
		dx := make([]float32, len(x.data))
		for i := range dx {
			dx[i] = -7 // garbage the col2im must overwrite
		}
		g.col2imBatch(cols, 0, g.n, dx)
		img := make([]float32, g.c*g.h*g.w)
		for n := range g.n {
			for row := range g.c * g.kh * g.kw {
				copy(ref[row*ohw:][:ohw], cols[row*ld+n*ohw:][:ohw])
			}
			clear(img)
			g.refCol2im(ref, img)
			for i, want := range img {
				if got := dx[n*len(img)+i]; math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%v %v %+v: col2im image %d pixel %d = %v, want %v", c.x, c.w, c.p, n, i, got, want)
				}
			}
		}
	}
}

// TestScatterAddRows2 checks the one-call strided adds of col2im against
// the scalar loop: every length 0..40 (vector groups of 8 and tails of
// 1..7), one to three rows, a target row as short as allowed and longer,
// sums with NaN and -0, and the odd pixels between the targets untouched.
func TestScatterAddRows2(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	val := func(i int) float32 {
		switch i % 13 {
		case 3:
			return float32(math.NaN())
		case 5:
			return float32(math.Copysign(0, -1))
		}
		return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
	}
	for n := 0; n <= 40; n++ {
		for rows := 1; rows <= 3; rows++ {
			for _, extra := range []int{-1, 0, 5} {
				dstRow := max(2*n+extra, 2*n-1, 0)
				dstStride, srcStride := dstRow+3, n+2
				dst := make([]float32, (rows-1)*dstStride+dstRow)
				src := make([]float32, (rows-1)*srcStride+n)
				for i := range dst {
					dst[i] = val(i)
				}
				for i := range src {
					src[i] = val(i + 7)
				}
				want := append([]float32(nil), dst...)
				for rr := range rows {
					for j := range n {
						want[rr*dstStride+2*j] += src[rr*srcStride+j]
					}
				}
				if !scatterAddRows2(dst, src, rows, n, dstRow, dstStride, srcStride) {
					t.Skip("no vector loop on this CPU or build")
				}
				for i := range dst {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d rows=%d dstRow=%d: dst[%d] = %v, want %v", n, rows, dstRow, i, dst[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkIm2colStrided lowers ResNet-18's strided convolutions of a
// training batch (32 images at 64×64), and adds the columns back (col2im):
// the 7×7 stem and the first 3×3 and 1×1 convolutions of layers 2 to 4.
func BenchmarkIm2colStrided(b *testing.B) {
	for _, c := range []struct {
		name string
		x, w []int
		p    ConvParams
	}{
		{"stem7x7", []int{32, 3, 64, 64}, []int{64, 3, 7, 7}, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{3, 3}}},
		{"layer2-3x3", []int{32, 64, 16, 16}, []int{128, 64, 3, 3}, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{"layer3-3x3", []int{32, 128, 8, 8}, []int{256, 128, 3, 3}, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{"layer4-3x3", []int{32, 256, 4, 4}, []int{512, 256, 3, 3}, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{"layer3-1x1", []int{32, 128, 8, 8}, []int{256, 128, 1, 1}, ConvParams{Stride: [2]int{2, 2}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			x := Ones(c.x...)
			g := newConvGeom(x, Zeros(c.w...), c.p)
			cols := make([]float32, g.c*g.kh*g.kw*g.n*g.oh*g.ow)
			b.Run("im2col", func(b *testing.B) {
				for b.Loop() {
					g.im2colRange(x.data, 0, g.n, 0, g.n, cols)
				}
			})
			b.Run("col2im", func(b *testing.B) {
				for b.Loop() {
					g.col2imRange(cols, 0, g.n, 0, g.n, x.data, false)
				}
			})
		})
	}
}
