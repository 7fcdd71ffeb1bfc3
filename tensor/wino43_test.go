package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// wino43Conv is Conv2d through F(4×4, 3×3).
func wino43Conv(x, w, bias *Tensor, p ConvParams) *Tensor {
	g := newConvGeom(x, w, p)
	out := Empty(g.n, g.o, g.oh, g.ow)
	for i := range out.data {
		out.data[i] = float32(math.NaN()) // every element must be written
	}
	g.wino43Forward(x, w, bias, convOut{out: out.data})
	return out
}

// wino43Cases are awkward geometries: odd and even outputs, 1 to 9 tiles
// a row, planes smaller than a tile, padding 0 to 2, channel counts that
// are not multiples of 6 or 8, batches that take one block and several.
var wino43Cases = []struct{ n, c, h, w, o, pad int }{
	{1, 16, 14, 14, 64, 1},
	{3, 17, 7, 9, 5, 1},
	{2, 32, 3, 3, 1, 0},
	{1, 16, 1, 1, 3, 1},
	{5, 24, 8, 5, 9, 2},
	{2, 20, 11, 4, 7, 0},
	{1, 19, 36, 33, 13, 1},
	{13, 32, 14, 14, 64, 1},
	{2, 16, 6, 38, 8, 2},
	{1, 64, 28, 28, 64, 1}, // ResNet-like
}

// TestWino43MatchesDirect checks F(4×4, 3×3) against the direct sum in
// float64, with and without a bias: its error, measured at 3–7e-6 of the
// largest output (F(2×2, 3×3) and im2col 2–7e-7), must stay under 1e-5.
func TestWino43MatchesDirect(t *testing.T) {
	if !winoMulOK() {
		t.Skip("F(4×4, 3×3) runs only with AVX2 and FMA")
	}
	r := rand.New(rand.NewPCG(43, 44))
	for _, c := range wino43Cases {
		p := ConvParams{Padding: [2]int{c.pad, c.pad}}
		x := randTensor(r, c.n, c.c, c.h, c.w)
		w := randTensor(r, c.o, c.c, 3, 3)
		for _, bias := range []*Tensor{nil, randTensor(r, c.o)} {
			name := fmt.Sprintf("%+v bias=%v", c, bias != nil)
			got := wino43Conv(x, w, bias, p)
			want := directConv64(x, w, bias, p)
			e43, e23, ei := maxErr(got.data, want), maxErr(winoConv(x, w, bias, p).data, want), maxErr(Conv2d(x, w, bias, p).data, want)
			t.Logf("%s: error relative to the largest output: F(4,3) %.3g, F(2,3) %.3g, im2col %.3g", name, e43, e23, ei)
			if e43 > 1e-5 {
				t.Fatalf("%s: error %.3g relative to the largest output (F(2,3) %.3g, im2col %.3g)", name, e43, e23, ei)
			}
		}
	}
}

// TestWino43Transforms checks the scalar passes against Bᵀ and Aᵀ applied
// in float64, and the AVX2 passes against the scalar ones bit for bit, on
// lengths 0 to 33 (tails of every length) with large values.
func TestWino43Transforms(t *testing.T) {
	bt := [6][6]float64{
		{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
	}
	at := [4][6]float64{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 34 {
		var in [6][]float32
		for k := range in {
			in[k] = make([]float32, n+8)
			for i := range in[k] {
				in[k][i] = float32(r.NormFloat64() * 1e3)
			}
		}
		for _, outT := range []bool{false, true} {
			rows := 6
			if outT {
				rows = 4
			}
			stride := n + 11
			ref, vec := make([]float32, rows*stride), make([]float32, rows*stride)
			if outT {
				wino43Out6Go(&in, ref, stride, n)
			} else {
				wino43In6Go(&in, ref, stride, n)
			}
			for k := range rows {
				for i := range n {
					var s, big float64
					for j := range 6 {
						c := bt[k][j]
						if outT {
							c = at[k][j]
						}
						s += c * float64(in[j][i])
						big = max(big, math.Abs(c*float64(in[j][i])))
					}
					if d := math.Abs(float64(ref[k*stride+i]) - s); d > 1e-6*big {
						t.Fatalf("n=%d outT=%v: row %d column %d = %g, want %g", n, outT, k, i, ref[k*stride+i], s)
					}
				}
			}
			if !wino43Vec(&in, vec, stride, n, rows, outT) {
				continue
			}
			for k := range rows {
				for i := range n {
					if a, b := math.Float32bits(vec[k*stride+i]), math.Float32bits(ref[k*stride+i]); a != b {
						t.Fatalf("n=%d outT=%v: AVX2 row %d column %d = %g, scalar %g", n, outT, k, i, vec[k*stride+i], ref[k*stride+i])
					}
				}
			}
		}
	}
}

// TestWino43Kernel checks G g Gᵀ against the definition: the transformed
// kernel's product with a transformed patch, taken back by Aᵀ·A, is the
// 3×3 correlation of the 6×6 patch (16 outputs).
func TestWino43Kernel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	g := make([]float32, 9)
	for i := range g {
		g[i] = float32(r.NormFloat64())
	}
	var d [36]float32
	for i := range d {
		d[i] = float32(r.NormFloat64())
	}
	u := wino43Kernel(g)
	// V = Bᵀ d B, rows then columns, by the scalar passes
	col := func(a []float32, j, s int) []float32 { return a[j*s:] }
	var in [6][]float32
	var tmp, v [36]float32
	for j := range 6 { // Bᵀ d: column j
		for i := range 6 {
			in[i] = []float32{d[i*6+j]}
		}
		out := make([]float32, 6)
		wino43In6Go(&in, out, 1, 1)
		for i := range 6 {
			tmp[i*6+j] = out[i]
		}
	}
	for i := range 6 { // (Bᵀ d) B: row i
		for j := range 6 {
			in[j] = col(tmp[:], i*6+j, 1)
		}
		wino43In6Go(&in, v[i*6:], 1, 1)
	}
	var mm, ta [36]float32
	for k := range mm {
		mm[k] = u[k] * v[k]
	}
	for j := range 6 {
		for i := range 6 {
			in[i] = []float32{mm[i*6+j]}
		}
		out := make([]float32, 4)
		wino43Out6Go(&in, out, 1, 1)
		for i := range 4 {
			ta[i*6+j] = out[i]
		}
	}
	for i := range 4 {
		for j := range 6 {
			in[j] = ta[i*6+j:]
		}
		var y [4]float32
		wino43Out6Go(&in, y[:], 1, 1)
		for jj := range 4 {
			var s float64
			for ki := range 3 {
				for kj := range 3 {
					s += float64(d[(i+ki)*6+jj+kj]) * float64(g[ki*3+kj])
				}
			}
			if math.Abs(float64(y[jj])-s) > 1e-4 {
				t.Fatalf("output (%d,%d) = %g, want %g", i, jj, y[jj], s)
			}
		}
	}
}

// TestWino43BatchAndThreads checks that each image's F(4×4, 3×3) result
// is the same bit for bit at any batch (2 to 33: one block and several)
// and any thread count.
func TestWino43BatchAndThreads(t *testing.T) {
	if !winoMulOK() {
		t.Skip("F(4×4, 3×3) runs only with AVX2 and FMA")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(7, 8))
	p := ConvParams{Padding: [2]int{1, 1}}
	const c, o, h, wd = 17, 11, 7, 10
	w, b := randTensor(r, o, c, 3, 3), randTensor(r, o)
	x := randTensor(r, 33, c, h, wd)
	one := func(i int) *Tensor {
		runtime.GOMAXPROCS(1)
		return wino43Conv(contig(Narrow(x, 0, i, 1)), w, b, p)
	}
	plane := o * h * wd
	for _, n := range []int{2, 3, 9, 17, 33} {
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			got := wino43Conv(contig(Narrow(x, 0, 0, n)), w, b, p)
			for _, i := range []int{0, n / 2, n - 1} {
				want := one(i)
				runtime.GOMAXPROCS(procs)
				for k, v := range want.data {
					if math.Float32bits(got.data[i*plane+k]) != math.Float32bits(v) {
						t.Fatalf("batch %d, %d threads: image %d element %d = %g, alone %g", n, procs, i, k, got.data[i*plane+k], v)
					}
				}
			}
		}
	}
}

// BenchmarkWino43 times ResNet-18's 3×3 convolutions (64@56², 128@28²,
// 256@14², 512@7², with batch norm, residual and ReLU) at batch 1 and 32
// by F(2×2, 3×3) and by F(4×4, 3×3), with prepared weights and with the
// weight transformed in the call (fresh), in CPU time: the figures behind
// wino43MinTiles.
func BenchmarkWino43(b *testing.B) {
	if !winoMulOK() {
		b.Skip("F(4×4, 3×3) runs only with AVX2 and FMA")
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 2, 4, 8, 32} {
		for _, sz := range []struct{ c, hw int }{{64, 56}, {128, 28}, {256, 14}, {512, 7}} {
			if n != 1 && n != 32 && sz.hw != 7 {
				continue // the small batches matter where an image has few tiles
			}
			p := ConvParams{Padding: [2]int{1, 1}}
			x, w := randTensor(r, n, sz.c, sz.hw, sz.hw), randTensor(r, sz.c, sz.c, 3, 3)
			res := randTensor(r, n, sz.c, sz.hw, sz.hw)
			st, bw, bb := randStats(r, sz.c)
			g := newConvGeom(x, w, p)
			u23 := winoWeightsPacked(w.data, sz.c, sz.c)
			u43 := wino43WeightsPacked(w.data, sz.c, sz.c)
			for _, path := range []string{"f23", "f43", "f23fresh", "f43fresh"} {
				b.Run(fmt.Sprintf("n%d_c%d_%dx%d/%s", n, sz.c, sz.hw, sz.hw, path), func(b *testing.B) {
					bn := newConvBN(st, bw, bb)
					out := Empty(n, sz.c, sz.hw, sz.hw)
					dst := convOut{relu: true, out: out.data, bn: bn, res: res.data}
					c0 := cpuTime()
					for b.Loop() {
						switch path {
						case "f23":
							dst.wu = u23
							g.winoForward(x, w, nil, dst)
						case "f43":
							dst.wu = u43
							g.wino43Forward(x, w, nil, dst)
						case "f23fresh": // the weight transformed in the call
							g.winoForward(x, w, nil, dst)
						default:
							g.wino43Forward(x, w, nil, dst)
						}
					}
					b.ReportMetric((cpuTime()-c0)*1e3/float64(b.N), "cpu-ms/op")
				})
			}
		}
	}
}

// TestWino43WeightsPacked checks the packed F(4×4, 3×3) weight against
// wino43Kernel placed as winoMulVec reads it, for output channel counts
// that fill the last block of 6 or not and input channel counts past one
// scratch chunk.
func TestWino43WeightsPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range []struct{ o, c int }{{6, 16}, {7, 17}, {13, 70}, {1, 130}, {64, 64}} {
		w := randTensor(r, s.o, s.c, 3, 3)
		u := wino43WeightsPacked(w.data, s.o, s.c)
		om := (s.o + 5) / 6 * 6
		for k := range 36 {
			for oi := range om {
				for ci := range s.c {
					var want float32
					if oi < s.o {
						want = wino43Kernel(w.data[(oi*s.c+ci)*9:])[k]
					}
					if got := u[k*om*s.c+(oi/6)*6*s.c+ci*6+oi%6]; math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%+v: ξ %d, output %d, input %d = %g, want %g", s, k, oi, ci, got, want)
					}
				}
			}
		}
		putFloats(u)
	}
}

// TestWino43SplitJoin checks the AVX2 phase split and join against their
// definitions (p_q[k] = row[4k+q]) for 0 to 33 groups.
func TestWino43SplitJoin(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := range 34 {
		n8 := (n + 7) &^ 7
		row := make([]float32, 4*n8)
		for i := range row {
			row[i] = float32(r.NormFloat64())
		}
		pl := n8 + 3
		phs := make([]float32, 4*pl)
		if !wino43SplitVec(row, n, phs, pl) {
			t.Skip("no AVX2 split")
		}
		for k := range n {
			for q := range 4 {
				if phs[q*pl+k] != row[4*k+q] {
					t.Fatalf("split n=%d: phase %d [%d] = %g, want %g", n, q, k, phs[q*pl+k], row[4*k+q])
				}
			}
		}
		var p [4][]float32
		for q := range p {
			p[q] = phs[q*pl:]
		}
		back := make([]float32, 4*n8)
		if !wino43JoinVec(&p, n, back) {
			t.Fatal("split ran without join")
		}
		for i := range 4 * n {
			if back[i] != row[i] {
				t.Fatalf("join n=%d: [%d] = %g, want %g", n, i, back[i], row[i])
			}
		}
	}
}

// TestWino43PublicBatchInvariant checks, through Conv2dBatchNormReLUWinograd
// and Conv2dBatchNormResidual (with and without a prepared weight), that
// a plane large enough for F(4×4, 3×3) takes it and that each image's
// values are those it gets alone, bit for bit, at batches 2 to 33.
func TestWino43PublicBatchInvariant(t *testing.T) {
	if !winoMulOK() {
		t.Skip("F(4×4, 3×3) runs only with AVX2 and FMA")
	}
	r := rand.New(rand.NewPCG(11, 12))
	const c, o, hw = 16, 10, 29 // 8×8 tiles of 4×4
	p := ConvParams{Padding: [2]int{1, 1}}
	w, b := randTensor(r, o, c, 3, 3), randTensor(r, o)
	st, bw, bb := randStats(r, o)
	f := NewWinogradFilter(w, p)
	x := randTensor(r, 33, c, hw, hw)
	res := randTensor(r, 33, o, hw, hw)
	if g := newConvGeom(contig(Narrow(x, 0, 0, 1)), w, p); !g.wino43(false) {
		t.Fatal("a 29×29 plane does not take F(4×4, 3×3)")
	}
	run := func(x, res *Tensor, path int) *Tensor {
		switch path {
		case 0:
			y, _ := Conv2dBatchNormReLUWinograd(x, w, b, p, st, bw, bb, true, false)
			return y
		case 1:
			y, _ := Conv2dBatchNormReLUWinogradFilter(x, w, f, b, p, st, bw, bb, true, false)
			return y
		case 2:
			return Conv2dBatchNormResidual(x, w, b, p, st, bw, bb, res, true)
		default:
			return Conv2dBatchNormResidualFilter(x, w, f, b, p, st, bw, bb, res, true)
		}
	}
	plane := o * hw * hw
	for path := range 4 {
		alone := make([]*Tensor, 33)
		for i := range alone {
			alone[i] = run(contig(Narrow(x, 0, i, 1)), contig(Narrow(res, 0, i, 1)), path)
		}
		for _, n := range []int{2, 5, 17, 33} {
			got := run(contig(Narrow(x, 0, 0, n)), contig(Narrow(res, 0, 0, n)), path)
			for i := range n {
				for k, v := range alone[i].data {
					if math.Float32bits(got.data[i*plane+k]) != math.Float32bits(v) {
						t.Fatalf("path %d, batch %d: image %d element %d = %g, alone %g", path, n, i, k, got.data[i*plane+k], v)
					}
				}
			}
		}
	}
}
