package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// viewCase makes a view of a base tensor and says, for each index of the
// view, which index of the base it reads.
type viewCase struct {
	name    string
	base    []int
	make    func(t *Tensor) *Tensor
	source  func(idx []int) []int
	strided bool // the view is not contiguous
}

var viewCases = []viewCase{
	{"Transpose 2-D", []int{3, 4}, func(t *Tensor) *Tensor { return Transpose(t, 0, 1) },
		func(i []int) []int { return []int{i[1], i[0]} }, true},
	{"Transpose batched last two", []int{2, 3, 4}, func(t *Tensor) *Tensor { return Transpose(t, -1, -2) },
		func(i []int) []int { return []int{i[0], i[2], i[1]} }, true},
	{"Permute", []int{2, 3, 4}, func(t *Tensor) *Tensor { return Permute(t, 2, 0, 1) },
		func(i []int) []int { return []int{i[1], i[2], i[0]} }, true},
	{"Narrow dim 0 (contiguous)", []int{5, 3}, func(t *Tensor) *Tensor { return Narrow(t, 0, 1, 3) },
		func(i []int) []int { return []int{i[0] + 1, i[1]} }, false},
	{"Narrow dim 1", []int{4, 5}, func(t *Tensor) *Tensor { return Narrow(t, 1, -3, 2) },
		func(i []int) []int { return []int{i[0], i[1] + 2} }, true},
	{"Expand", []int{3, 1}, func(t *Tensor) *Tensor { return Expand(t, 2, 3, 4) },
		func(i []int) []int { return []int{i[1], 0} }, true},
	{"Reshape of a transpose (view)", []int{2, 3, 4}, func(t *Tensor) *Tensor { return Reshape(Transpose(t, 0, 1), 3, 2, 2, 2) },
		func(i []int) []int { return []int{i[1], i[0], i[2]*2 + i[3]} }, true},
	{"Narrow of a permute", []int{2, 3, 4}, func(t *Tensor) *Tensor { return Narrow(Permute(t, 2, 1, 0), 1, 1, 2) },
		func(i []int) []int { return []int{i[2], i[1] + 1, i[0]} }, true},
	{"Transpose of a size-1 dimension (contiguous)", []int{1, 4}, func(t *Tensor) *Tensor { return Transpose(t, 0, 1) },
		func(i []int) []int { return []int{i[1], i[0]} }, false},
}

// indices lists every index of shape in row-major order.
func indices(shape []int) [][]int {
	var out [][]int
	idx := make([]int, len(shape))
	n := checkShape("test", shape)
	for range n {
		out = append(out, append([]int(nil), idx...))
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

func TestViewsShareStorageAndReadTheRightElements(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range viewCases {
		t.Run(c.name, func(t *testing.T) {
			base := randTensor(r, c.base...)
			v := c.make(base)
			if v.IsContiguous() == c.strided {
				t.Fatalf("IsContiguous = %v, want %v", v.IsContiguous(), !c.strided)
			}
			if !v.IsView() {
				t.Fatal("IsView = false for a view")
			}
			packed := v.Contiguous()
			if !packed.IsContiguous() || (c.strided && packed.IsView()) {
				t.Fatal("Contiguous returned a view")
			}
			for k, idx := range indices(v.Shape()) {
				want := base.At(c.source(idx)...)
				if got := v.At(idx...); got != want {
					t.Fatalf("At%v = %v, want base At%v = %v", idx, got, c.source(idx), want)
				}
				if got := packed.Data()[k]; got != want {
					t.Fatalf("Contiguous()[%d] = %v, want %v", k, got, want)
				}
				if got := float32(v.Float(k)); got != want {
					t.Fatalf("Float(%d) = %v, want %v", k, got, want)
				}
			}
			// A write through the view reaches the base (as in PyTorch).
			idx := indices(v.Shape())[v.Size()-1]
			v.Set(42, idx...)
			if got := base.At(c.source(idx)...); got != 42 {
				t.Fatalf("Set through the view: base At%v = %v, want 42", c.source(idx), got)
			}
			// The packed copy shares nothing.
			if c.strided && packed.Data()[packed.Size()-1] == 42 {
				t.Fatal("Contiguous shares storage with the view")
			}
			if c.strided && v.Contiguous() == v {
				t.Fatal("Contiguous of a strided view returned the view")
			}
			if !c.strided && v.Contiguous() != v {
				t.Fatal("Contiguous of a contiguous tensor copied it")
			}
		})
	}
}

func bitsEqual(a, b *Tensor) bool {
	if !SameShape(a, b) || a.DType() != b.DType() {
		return false
	}
	for i := range a.Size() {
		if math.Float64bits(a.Float(i)) != math.Float64bits(b.Float(i)) {
			return false
		}
	}
	return true
}

// TestKernelsReadViewsBitIdentical feeds every view to the kernels, in
// float32 and float64, and checks that the results are those of the
// packed copy bit for bit, whether the kernel reads the strides (matmul,
// the element-wise binaries) or packs at entry.
func TestKernelsReadViewsBitIdentical(t *testing.T) {
	type op struct {
		name string
		f    func(v, other *Tensor) *Tensor
		ok   func(shape []int) bool
		// reorders is set for the products: a transposed view goes to
		// the GEMM with its transposed flag flipped, and a kernel may sum
		// the other form in another order (the dot-product path for few
		// rows), so those agree to rounding, not bit for bit.
		reorders bool
	}
	all := func([]int) bool { return true }
	mat := func(s []int) bool { return len(s) >= 2 }
	ops := []op{
		{"Add", func(v, o *Tensor) *Tensor { return Add(v, o) }, all, false},
		{"Mul reversed", func(v, o *Tensor) *Tensor { return Mul(o, v) }, all, false},
		{"Sub broadcast row", func(v, o *Tensor) *Tensor { return Sub(v, Narrow(o.Contiguous(), -1, 0, 1)) }, all, false},
		{"Add view to view", func(v, o *Tensor) *Tensor { return Add(v, v) }, all, false},
		{"Div by expanded scalar", func(v, o *Tensor) *Tensor { return Div(v, Expand(ScalarOf(v.DType(), 3), v.Shape()...)) }, all, false},
		{"Exp", func(v, _ *Tensor) *Tensor { return Exp(v) }, all, false},
		{"Hardswish", func(v, _ *Tensor) *Tensor { return Hardswish(v) }, all, false},
		{"MishGrad", func(v, o *Tensor) *Tensor { return MishGrad(o, v) }, all, false},
		{"Interpolate", func(v, _ *Tensor) *Tensor {
			return Interpolate(v, InterpParams{Size: [2]int{3, 5}, Mode: Bilinear})
		}, func(s []int) bool { return len(s) == 4 }, false},
		{"AdaptiveAvgPool2d", func(v, _ *Tensor) *Tensor { return AdaptiveAvgPool2d(v, 1, 1) }, func(s []int) bool { return len(s) == 4 }, false},
		{"Sum", func(v, _ *Tensor) *Tensor { return Sum(v) }, all, false},
		{"SumDim 0", func(v, _ *Tensor) *Tensor { return SumDim(v, 0, false) }, all, false},
		{"SumDim -1 keepdim", func(v, _ *Tensor) *Tensor { return SumDim(v, -1, true) }, all, false},
		{"SumDim 1", func(v, _ *Tensor) *Tensor { return SumDim(v, 1, false) }, mat, false},
		{"Softmax", func(v, _ *Tensor) *Tensor { return Softmax(v, -1) }, all, false},
		{"Clone", func(v, _ *Tensor) *Tensor { return v.Clone() }, all, false},
		{"Concat", func(v, o *Tensor) *Tensor { return Concat(0, v, o) }, all, false},
		{"MatMul as A", func(v, o *Tensor) *Tensor {
			s := v.Shape()
			return MatMul(v, FromFunc(func(i int) float32 { return float32(i%7) - 3 }, s[len(s)-1], 3).To(v.DType()))
		}, mat, true},
		{"MatMul as B", func(v, o *Tensor) *Tensor {
			s := v.Shape()
			return MatMul(FromFunc(func(i int) float32 { return float32(i%5) - 2 }, 3, s[len(s)-2]).To(v.DType()), v)
		}, mat, true},
		{"MatMulT transposed B", func(v, o *Tensor) *Tensor { return MatMulT(o, v, false, true) }, mat, true},
	}
	r := rand.New(rand.NewPCG(2, 2))
	for _, dt := range []DType{Float32, Float64} {
		for _, c := range viewCases {
			for _, o := range ops {
				base := randTensor(r, c.base...).To(dt)
				v := c.make(base)
				if !o.ok(v.Shape()) {
					continue
				}
				other := randTensor(r, v.Shape()...).To(dt)
				got := o.f(v, other)
				want := o.f(v.Contiguous(), other)
				if o.reorders && dt == Float32 {
					if !tensorsClose(got, want, 1e-5) {
						t.Errorf("%v %s, %s: view gives %v, packed copy %v", dt, c.name, o.name, got, want)
					}
				} else if !bitsEqual(got, want) {
					t.Errorf("%v %s, %s: view gives %v, packed copy %v", dt, c.name, o.name, got, want)
				}
				if !v.IsContiguous() != c.strided {
					t.Fatalf("%v %s, %s: the kernel changed its input's layout", dt, c.name, o.name)
				}
			}
		}
	}
}

func TestMatMulReadsATransposedViewWithoutCopying(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	a, b := randTensor(r, 64, 128), randTensor(r, 96, 128)
	bt := Transpose(b, 0, 1)
	if got, want := MatMul(a, bt), MatMulT(a, b, false, true); !bitsEqual(got, want) {
		t.Fatal("MatMul(a, Transpose(b)) differs from MatMulT(a, b, false, true)")
	}
	if raceEnabled {
		return // allocations are not measurable under the race detector
	}
	bytes := func(f func()) float64 {
		const runs = 20
		f()
		var m0, m1 runtimeMem
		m0.read()
		for range runs {
			f()
		}
		m1.read()
		return float64(m1.total-m0.total) / runs
	}
	view := bytes(func() { _ = MatMul(a, bt) })
	copied := bytes(func() { _ = MatMul(a, bt.Clone()) })
	bSize := float64(4 * b.Size())
	if view > copied-bSize/2 {
		t.Fatalf("MatMul of a transposed view allocates %.0f bytes a call, the copying version %.0f: the view should save the %.0f bytes of the transpose", view, copied, bSize)
	}
}

func TestWritesThroughViews(t *testing.T) {
	cases := []struct {
		name  string
		write func(v *Tensor)
		want  []float32 // the base after the write
	}{
		{"Fill", func(v *Tensor) { v.Fill(9) }, []float32{0, 9, 9, 3, 9, 9}},
		{"CopyFrom", func(v *Tensor) { v.CopyFrom(New([]float32{10, 11, 12, 13}, 2, 2)) }, []float32{0, 10, 12, 3, 11, 13}},
		{"AddInPlace", func(v *Tensor) { AddInPlace(v, Ones(2, 2)) }, []float32{0, 2, 3, 3, 5, 6}},
		{"NarrowInto", func(v *Tensor) { NarrowInto(v, Full(5, 1, 2), 0, 1) }, []float32{0, 1, 7, 3, 4, 10}},
		{"ReLUInPlace", func(v *Tensor) { AddInPlace(v, Full(-3, 2, 2)); ReLUInPlace(v) }, []float32{0, 0, 0, 3, 1, 2}},
	}
	for _, c := range cases {
		base := FromFunc(func(i int) float32 { return float32(i) }, 2, 3) // [[0 1 2] [3 4 5]]
		v := Transpose(Narrow(base, 1, 1, 2), 0, 1)                       // [[1 4] [2 5]]
		c.write(v)
		for i, w := range c.want {
			if base.Data()[i] != w {
				t.Errorf("%s: base %v, want %v", c.name, base.Data(), c.want)
				break
			}
		}
	}
}

func TestRecycleLeavesViewsAlone(t *testing.T) {
	base := FromFunc(func(i int) float32 { return float32(i) }, 4, 8)
	for _, v := range []*Tensor{Narrow(base, 0, 1, 2), Transpose(base, 0, 1), Expand(Narrow(base, 0, 0, 1), 3, 8)} {
		n := v.Size()
		Recycle(v)
		if v.Size() != n {
			t.Fatalf("Recycle emptied a view of shape %v", v.Shape())
		}
		// The pool must not hand out the base's storage.
		e := Empty(n)
		e.Fill(-1)
		for i, x := range base.Data() {
			if x != float32(i) {
				t.Fatalf("a buffer from the pool overlaps the base after Recycle of a view: base[%d] = %v", i, x)
			}
		}
	}
}

func TestReshapeCopiesOnlyWhenTheLayoutForbidsAView(t *testing.T) {
	cases := []struct {
		name   string
		view   func(b *Tensor) *Tensor
		shape  []int
		shares bool // the reshape writes through to the base
	}{
		{"contiguous", func(b *Tensor) *Tensor { return b }, []int{4, 6}, true},
		{"split a transposed dimension", func(b *Tensor) *Tensor { return Transpose(b, 0, 2) }, []int{2, 2, 3, 2}, true},
		{"merge dimensions a permute separated", func(b *Tensor) *Tensor { return Permute(b, 0, 2, 1) }, []int{2, 12}, false},
		{"merge a narrowed batch", func(b *Tensor) *Tensor { return Narrow(b, 0, 1, 1) }, []int{12}, true},
		{"merge leading dims of a transpose of the last two", func(b *Tensor) *Tensor { return Transpose(b, 1, 2) }, []int{8, 3}, false},
		{"merge the untouched leading dims of a narrow", func(b *Tensor) *Tensor { return Narrow(b, 2, 1, 2) }, []int{6, 2}, true},
	}
	for _, c := range cases {
		base := FromFunc(func(i int) float32 { return float32(i) }, 2, 3, 4)
		before := base.Clone()
		v := c.view(base)
		got := Reshape(v, c.shape...)
		if !bitsEqual(Reshape(v.Contiguous(), c.shape...), got.Contiguous()) {
			t.Errorf("%s: elements differ from the packed copy's", c.name)
		}
		got.Fill(-1)
		if wrote := !bitsEqual(base, before); wrote != c.shares {
			t.Errorf("%s: Fill through the reshape reached the base: %v, want %v", c.name, wrote, c.shares)
		}
	}
}

func TestDataMaterialisesAStridedView(t *testing.T) {
	base := FromFunc(func(i int) float32 { return float32(i) }, 2, 3)
	v := Transpose(base, 0, 1)
	d := v.Data()
	if want := []float32{0, 3, 1, 4, 2, 5}; fmt.Sprint(d) != fmt.Sprint(want) {
		t.Fatalf("Data of a transpose = %v, want %v", d, want)
	}
	if !v.IsContiguous() || v.IsView() {
		t.Fatal("after Data the view is still strided")
	}
	d[0] = 99
	if base.Data()[0] == 99 {
		t.Fatal("after Data, writes still reach the base")
	}
}

func TestExpandRejectsBadShapes(t *testing.T) {
	for _, shape := range [][]int{{3}, {3, 4}, {-1, 2, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Expand([2 1] to %v) did not panic", shape)
				}
			}()
			Expand(Zeros(2, 1), shape...)
		}()
	}
}

func ExampleTranspose() {
	a := New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	at := Transpose(a, 0, 1) // a view: nothing is copied
	fmt.Println(at.Shape(), at.IsContiguous(), at.Strides())
	at.Set(0, 2, 1) // writes through to a
	fmt.Println(a.Data())
	fmt.Println(at.Contiguous().Data())
	// Output:
	// [3 2] false [1 3]
	// [1 2 3 4 5 0]
	// [1 4 2 5 3 0]
}

// runtimeMem reads the bytes allocated so far.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}

// tensorsClose reports whether a and b have the same shape and float32 values
// within tol, relative to the larger magnitude (at least 1).
func tensorsClose(a, b *Tensor, tol float64) bool {
	if !slices.Equal(a.Shape(), b.Shape()) {
		return false
	}
	x, y := a.Contiguous().Data(), b.Contiguous().Data()
	for i := range x {
		d := math.Abs(float64(x[i]) - float64(y[i]))
		if d > tol*math.Max(1, math.Max(math.Abs(float64(x[i])), math.Abs(float64(y[i])))) {
			return false
		}
	}
	return true
}
