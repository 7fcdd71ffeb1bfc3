package autograd_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

func randT(r *rand.Rand, shape ...int) *tensor.Tensor {
	return tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, shape...)
}

// bytesPerRun is the average number of bytes f allocates.
func bytesPerRun(f func()) float64 {
	const runs = 10
	best := math.Inf(1)
	// The smallest of three rounds: a garbage collection inside a round
	// empties the buffer pools, and refilling them is not f's own cost.
	for range 3 {
		runtime.GC()
		f() // refill the pools the collection emptied
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for range runs {
			f()
		}
		runtime.ReadMemStats(&m1)
		best = min(best, float64(m1.TotalAlloc-m0.TotalAlloc)/runs)
	}
	return best
}

// nearlySame is sameBits for float32 results of matrix products through a
// transposed view: the view reaches the GEMM with its transposed flag
// flipped, and a kernel may sum that form in another order (the
// dot-product path for few rows), so they agree to rounding.
func nearlySame(a, b *tensor.Tensor) bool {
	if a.DType() != tensor.Float32 {
		return sameBits(a, b)
	}
	if !tensor.SameShape(a, b) {
		return false
	}
	for i := range a.Size() {
		x, y := a.Float(i), b.Float(i)
		if math.Abs(x-y) > 1e-5*math.Max(1, math.Max(math.Abs(x), math.Abs(y))) {
			return false
		}
	}
	return true
}

func sameBits(a, b *tensor.Tensor) bool {
	if !tensor.SameShape(a, b) {
		return false
	}
	for i := range a.Size() {
		if math.Float64bits(a.Float(i)) != math.Float64bits(b.Float(i)) {
			return false
		}
	}
	return true
}

// TestMatMulOfATransposeMakesNoCopy: A·Bᵀ written as MatMul(a,
// Transpose(b)) gives MatMulNT's results bit for bit and allocates no
// transposed copy of b, forward or backward: measured against the same
// product with the transpose materialised, and against MatMulNT.
func TestMatMulOfATransposeMakesNoCopy(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	const m, n, k = 32, 192, 256
	ad, bd := randT(r, m, k), randT(r, n, k)
	bSize := float64(4 * n * k)

	type run struct {
		name string
		mul  func(a, b *ag.Value) *ag.Value
	}
	runs := []run{
		{"view", func(a, b *ag.Value) *ag.Value { return ag.MatMul(a, ag.Transpose(b, 0, 1)) }},
		{"MatMulNT", ag.MatMulNT},
		{"materialised", func(a, b *ag.Value) *ag.Value {
			return ag.MatMul(a, ag.Const(tensor.Transpose(b.Data, 0, 1).Contiguous()))
		}},
	}
	forward := map[string]float64{}
	train := map[string]float64{}
	var outs, grads []*tensor.Tensor
	for _, c := range runs {
		forward[c.name] = bytesPerRun(func() { c.mul(ag.Const(ad), ag.Const(bd)) })
		train[c.name] = bytesPerRun(func() {
			a, b := ag.Param(ad), ag.Param(bd)
			ag.Sum(c.mul(a, b)).Backward()
		})
		a, b := ag.Param(ad), ag.Param(bd)
		y := c.mul(a, b)
		ag.Sum(ag.Mul(y, ag.Const(randT(rand.New(rand.NewPCG(5, 5)), m, n)))).Backward()
		outs = append(outs, y.Data)
		grads = append(grads, b.Grad)
	}
	if !sameBits(outs[0], outs[1]) || !sameBits(outs[0], outs[2]) {
		t.Fatal("MatMul(a, Transpose(b)) differs from MatMulNT(a, b) or from the materialised product")
	}
	if !sameBits(grads[0], grads[1]) {
		t.Fatal("the gradient of b through Transpose differs from MatMulNT's")
	}
	if !grads[0].IsContiguous() {
		t.Fatal("the parameter's gradient is a strided view")
	}
	if raceEnabled {
		return // allocations are not measurable under the race detector
	}
	if forward["view"] > forward["materialised"]-bSize/2 {
		t.Errorf("forward: the view allocates %.0f bytes, the materialised transpose %.0f; want at least %.0f fewer", forward["view"], forward["materialised"], bSize/2)
	}
	if forward["view"] > forward["MatMulNT"]+1024 {
		t.Errorf("forward: the view allocates %.0f bytes, MatMulNT %.0f", forward["view"], forward["MatMulNT"])
	}
	if train["view"] > train["MatMulNT"]+4096 {
		t.Errorf("forward and backward: the view allocates %.0f bytes, MatMulNT %.0f: a transpose was copied", train["view"], train["MatMulNT"])
	}
}

// TestViewsFeedOpsWithoutChangingResults runs small graphs with views
// against the same graphs on materialised copies: outputs and gradients
// agree bit for bit, and the inputs are never written.
func TestViewsFeedOpsWithoutChangingResults(t *testing.T) {
	cases := []struct {
		name   string
		shapes [][]int
		matmul bool // agrees to rounding only: see nearlySame
		// f builds the graph; view makes the operand view or, with copy
		// set, its materialised equivalent.
		f func(v []*ag.Value, view func(x *ag.Value, f func(*ag.Value) *ag.Value) *ag.Value) *ag.Value
	}{
		{"expand into Add", [][]int{{1, 5}, {4, 5}}, false, func(v []*ag.Value, view func(*ag.Value, func(*ag.Value) *ag.Value) *ag.Value) *ag.Value {
			return ag.Add(view(v[0], func(x *ag.Value) *ag.Value { return ag.Expand(x, 4, 5) }), v[1])
		}},
		{"transpose into Mul and Sum", [][]int{{3, 4}, {4, 3}}, false, func(v []*ag.Value, view func(*ag.Value, func(*ag.Value) *ag.Value) *ag.Value) *ag.Value {
			return ag.SumDims(ag.Mul(view(v[0], func(x *ag.Value) *ag.Value { return ag.Transpose(x, 0, 1) }), v[1]), []int{1}, false)
		}},
		{"narrow into LogSoftmax", [][]int{{4, 6}}, false, func(v []*ag.Value, view func(*ag.Value, func(*ag.Value) *ag.Value) *ag.Value) *ag.Value {
			return ag.LogSoftmax(view(v[0], func(x *ag.Value) *ag.Value { return ag.Narrow(x, 1, 2, 3) }), -1)
		}},
		{"head split: reshape, permute, matmul", [][]int{{2, 3, 8}}, true, func(v []*ag.Value, view func(*ag.Value, func(*ag.Value) *ag.Value) *ag.Value) *ag.Value {
			h := view(v[0], func(x *ag.Value) *ag.Value { return ag.Permute(ag.Reshape(x, 2, 3, 2, 4), 0, 2, 1, 3) }) // [2, 2, 3, 4]
			return ag.MatMul(h, ag.Transpose(h, -1, -2))
		}},
	}
	for _, c := range cases {
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
			var outs, grads [2][]*tensor.Tensor
			for k, materialise := range []bool{false, true} {
				r := rand.New(rand.NewPCG(6, 6))
				var in []*ag.Value
				var before []*tensor.Tensor
				for _, s := range c.shapes {
					x := randT(r, s...).To(dt)
					in = append(in, ag.Param(x))
					before = append(before, x.Clone())
				}
				view := func(x *ag.Value, f func(*ag.Value) *ag.Value) *ag.Value {
					y := f(x)
					if materialise { // a copy of the same values, joined to x by a multiply by 1
						return ag.Mul(y, ag.Const(tensor.FullOf(dt, 1, y.Shape()...)))
					}
					return y
				}
				y := c.f(in, view)
				w := tensor.FromFunc(func(i int) float32 { return float32(i%5) - 2 }, y.Shape()...).To(dt)
				ag.Sum(ag.Mul(y, ag.Const(w))).Backward()
				outs[k] = append(outs[k], y.Data.Contiguous())
				for i, x := range in {
					grads[k] = append(grads[k], x.Grad)
					if !sameBits(x.Data, before[i]) {
						t.Fatalf("%s %v: input %d was written", c.name, dt, i)
					}
				}
			}
			same := sameBits
			if c.matmul {
				same = nearlySame
			}
			for i := range outs[0] {
				if !same(outs[0][i], outs[1][i]) {
					t.Errorf("%s %v: output differs from the materialised graph's", c.name, dt)
				}
			}
			for i := range grads[0] {
				if !same(grads[0][i], grads[1][i]) {
					t.Errorf("%s %v: gradient of input %d differs from the materialised graph's", c.name, dt, i)
				}
			}
		}
	}
}

// TestBackwardReleaseKeepsTheStorageARootViewReads: when the root is a
// view of an intermediate, releasing the graph must not recycle the
// storage the root reads.
func TestBackwardReleaseKeepsTheStorageARootViewReads(t *testing.T) {
	x := ag.Param(tensor.New([]float32{1, 2, 3}, 3))
	sq := ag.Mul(x, x) // [1 4 9], a fresh intermediate from the pool
	root := ag.Reshape(ag.Narrow(sq, 0, 1, 1), -1)
	root.BackwardRelease()
	for range 10 { // the pool would hand the storage out again
		tensor.Empty(3).Fill(-7)
	}
	if got := root.Data.Item(); got != 4 {
		t.Fatalf("root = %v after BackwardRelease, want 4", got)
	}
	if g := x.Grad.Data(); g[0] != 0 || g[1] != 4 || g[2] != 0 {
		t.Fatalf("gradient %v, want [0 4 0]", g)
	}
}

// TestAParameterOverAViewGetsAContiguousGradient: a leaf whose data is a
// strided view (a transposed weight) still gets a packed gradient, equal
// to the one its packed copy gets.
func TestAParameterOverAViewGetsAContiguousGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	x, w := randT(r, 3, 4), randT(r, 5, 4)
	var grads []*tensor.Tensor
	for _, wt := range []*tensor.Tensor{tensor.Transpose(w, 0, 1), tensor.Transpose(w, 0, 1).Contiguous()} {
		p := ag.Param(wt)
		ag.Sum(ag.Tanh(ag.MatMul(ag.Const(x), p))).Backward()
		if !p.Grad.IsContiguous() {
			t.Fatal("a parameter's gradient is a strided view")
		}
		grads = append(grads, p.Grad)
	}
	if !nearlySame(grads[0], grads[1]) {
		t.Fatalf("gradient through a view parameter %v, through its copy %v", grads[0], grads[1])
	}
}
