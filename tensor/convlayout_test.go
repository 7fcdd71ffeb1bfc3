package tensor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestConvPosMajorBitIdentical checks that the position-major forward GEMM
// gives the bits of the channel-major one (Y = W·cols, then bias and
// ReLU), on geometries that take the position-major path.
func TestConvPosMajorBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct {
		x, w []int
		p    ConvParams
	}{
		{[]int{3, 32, 14, 14}, []int{48, 32, 3, 3}, ConvParams{Padding: [2]int{1, 1}}},
		{[]int{2, 16, 6, 6}, []int{160, 16, 3, 3}, ConvParams{Padding: [2]int{1, 1}}},
		{[]int{2, 8, 9, 7}, []int{32, 4, 3, 3}, ConvParams{Padding: [2]int{1, 0}, Stride: [2]int{2, 1}, Groups: 2}},
		{[]int{1, 300, 3, 5}, []int{16, 300, 1, 1}, ConvParams{}},
	} {
		x := FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, c.x...)
		w := FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, c.w...)
		b := FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, c.w[0])
		g := newConvGeom(x, w, c.p)
		if !g.posMajor() {
			t.Fatalf("%v %v: not position-major", c.x, c.w)
		}
		ohw := g.oh * g.ow
		ld := g.n * ohw
		cols := make([]float32, g.c*g.kh*g.kw*ld)
		g.im2colBatch(x.data, 0, g.n, cols)
		y := make([]float32, g.o*ld)
		for gi := range g.g {
			Gemm(false, false, g.og, ld, g.kSize, w.data[gi*g.og*g.kSize:], g.kSize, cols[gi*g.kSize*ld:], ld, 0, y[gi*g.og*ld:], ld)
		}
		for _, relu := range []bool{false, true} {
			out, _ := conv2d(x, w, b, c.p, false, relu)
			for n := range g.n {
				for o := range g.o {
					for q := range ohw {
						want := y[o*ld+n*ohw+q] + b.data[o]
						if relu {
							want = max(want, 0)
						}
						got := out.data[(n*g.o+o)*ohw+q]
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%v %v relu=%v: [%d %d %d] = %v, want %v", c.x, c.w, relu, n, o, q, got, want)
						}
					}
				}
			}
		}
	}
}

// TestIm2colShiftedBitIdentical checks the whole-plane im2col and col2im
// of "same" convolutions against the row-by-row loops, bit for bit.
func TestIm2colShiftedBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		x, w []int
		p    ConvParams
	}{
		{[]int{3, 2, 14, 14}, []int{4, 2, 3, 3}, ConvParams{Padding: [2]int{1, 1}}},
		{[]int{2, 1, 5, 7}, []int{2, 1, 5, 3}, ConvParams{Padding: [2]int{2, 1}}},
		{[]int{2, 3, 4, 6}, []int{2, 3, 1, 1}, ConvParams{}},
		{[]int{1, 2, 3, 1}, []int{2, 2, 7, 1}, ConvParams{Padding: [2]int{3, 0}}},
		{[]int{2, 2, 6, 5}, []int{2, 2, 2, 3}, ConvParams{Padding: [2]int{0, 1}}},
		// Rows of one, two and three 16-float vectors, and too wide for
		// the vector path (more than 128).
		{[]int{1, 1, 3, 16}, []int{2, 1, 3, 3}, ConvParams{Padding: [2]int{1, 1}}},
		{[]int{1, 2, 4, 17}, []int{2, 2, 3, 3}, ConvParams{Padding: [2]int{1, 1}}},
		{[]int{2, 1, 5, 28}, []int{3, 1, 3, 3}, ConvParams{Padding: [2]int{1, 1}}},
		{[]int{1, 1, 4, 40}, []int{1, 1, 5, 5}, ConvParams{Padding: [2]int{2, 2}}},
		{[]int{1, 1, 2, 130}, []int{1, 1, 3, 3}, ConvParams{Padding: [2]int{1, 1}}},
	} {
		x := FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, c.x...)
		w := FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, c.w...)
		g := newConvGeom(x, w, c.p)
		if !g.shifted() {
			t.Fatalf("%v %v: not shifted", c.x, c.w)
		}
		ref := g
		ref.rowByRow = true
		n := g.c * g.kh * g.kw * g.n * g.oh * g.ow
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = float32(i), float32(-i) // garbage the im2col must overwrite
		}
		g.im2colBatch(x.data, 0, g.n, a)
		ref.im2colBatch(x.data, 0, g.n, b)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%v %v: im2col[%d] = %v, want %v", c.x, c.w, i, a[i], b[i])
			}
		}
		cols := make([]float32, n)
		for i := range cols {
			cols[i] = float32(r.NormFloat64())
		}
		da, db := make([]float32, len(x.data)), make([]float32, len(x.data))
		g.col2imBatch(cols, 0, g.n, da)
		ref.col2imBatch(cols, 0, g.n, db)
		for i := range da {
			if math.Float32bits(da[i]) != math.Float32bits(db[i]) {
				t.Fatalf("%v %v: col2im[%d] = %v, want %v", c.x, c.w, i, da[i], db[i])
			}
		}
		// The clobbering col2im (padding entries zeroed, no save and
		// restore), with signed zeros and cancelling pairs among the
		// entries, gives the same bits.
		for i := range cols {
			switch i % 7 {
			case 0:
				cols[i] = float32(math.Copysign(0, -1))
			case 3:
				cols[i] = -cols[i-1]
			}
		}
		g.col2imBatch(cols, 0, g.n, db)
		scratch := slices.Clone(cols)
		g.col2imRange(scratch, 0, g.n, 0, g.n, da, true)
		for i := range da {
			if math.Float32bits(da[i]) != math.Float32bits(db[i]) {
				t.Fatalf("%v %v: clobbering col2im[%d] = %v, want %v", c.x, c.w, i, da[i], db[i])
			}
		}
	}
}
