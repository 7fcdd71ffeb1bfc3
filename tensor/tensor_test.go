package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randTensor(r *rand.Rand, shape ...int) *Tensor {
	return FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, shape...)
}

func TestBroadcastShapes(t *testing.T) {
	cases := []struct{ a, b, want []int }{
		{[]int{2, 3}, []int{3}, []int{2, 3}},
		{[]int{2, 1, 4}, []int{3, 1}, []int{2, 3, 4}},
		{[]int{}, []int{5}, []int{5}},
		{[]int{1}, []int{1, 1}, []int{1, 1}},
		{[]int{0, 3}, []int{1, 3}, []int{0, 3}},
	}
	for _, c := range cases {
		if got := BroadcastShapes("test", c.a, c.b); !EqualShapes(got, c.want) {
			t.Errorf("BroadcastShapes(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestSumToReversesBroadcast(t *testing.T) {
	g := Ones(2, 3, 4)
	got := SumTo(g, 3, 1)
	if !EqualShapes(got.Shape(), []int{3, 1}) {
		t.Fatalf("shape %v", got.Shape())
	}
	for _, v := range got.Data() {
		if v != 8 {
			t.Fatalf("SumTo = %v, want all 8", got.Data())
		}
	}
}

func TestReshapeSharesDataAndInfers(t *testing.T) {
	x := FromFunc(func(i int) float32 { return float32(i) }, 2, 6)
	y := Reshape(x, 3, -1)
	if !EqualShapes(y.Shape(), []int{3, 4}) {
		t.Fatalf("shape %v", y.Shape())
	}
	y.Data()[5] = 99
	if x.At(0, 5) != 99 {
		t.Fatal("reshape did not share data")
	}
}

func TestPermuteAndTranspose(t *testing.T) {
	x := FromFunc(func(i int) float32 { return float32(i) }, 2, 3, 4)
	p := Permute(x, 2, 0, 1)
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				if p.At(k, i, j) != x.At(i, j, k) {
					t.Fatalf("Permute wrong at %d %d %d", i, j, k)
				}
			}
		}
	}
	back := Permute(p, InversePermutation([]int{2, 0, 1})...)
	for i, v := range back.Data() {
		if v != x.Data()[i] {
			t.Fatal("inverse permutation does not restore")
		}
	}
	tr := Transpose(x, 0, -1)
	if tr.At(3, 1, 0) != x.At(0, 1, 3) {
		t.Fatal("Transpose wrong")
	}
}

// TestMatMulMatchesReference checks the kernel seam against the plain loop
// on awkward sizes, every transpose combination and broadcast batches.
func TestMatMulMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 7, 17, 33, 255}
	for _, m := range sizes {
		for _, n := range []int{1, 17, 64} {
			for _, k := range []int{1, 33, 100} {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					as, bs := []int{2, m, k}, []int{k, n}
					if tr[0] {
						as = []int{2, k, m}
					}
					if tr[1] {
						bs = []int{n, k}
					}
					a, b := randTensor(r, as...), randTensor(r, bs...)
					got := MatMulT(a, b, tr[0], tr[1])
					saved := sgemm
					sgemm = referenceSgemm
					want := MatMulT(a, b, tr[0], tr[1])
					sgemm = saved
					for i, w := range want.Data() {
						if d := math.Abs(float64(got.Data()[i] - w)); d > 1e-4*float64(k)+1e-4*math.Abs(float64(w)) {
							t.Fatalf("m=%d n=%d k=%d trans=%v: element %d = %v, want %v", m, n, k, tr, i, got.Data()[i], w)
						}
					}
				}
			}
		}
	}
}

func TestPoolOutSizeCeilMode(t *testing.T) {
	cases := []struct {
		in, k, s, p, d int
		ceil           bool
		want           int
	}{
		{6, 2, 2, 0, 1, false, 3},
		{7, 2, 2, 0, 1, false, 3},
		{7, 2, 2, 0, 1, true, 4},
		{6, 3, 2, 1, 1, true, 4},
		{6, 2, 2, 1, 1, true, 4},
		{5, 3, 2, 1, 1, true, 3},
	}
	for _, c := range cases {
		if got := PoolOutSize(c.in, c.k, c.s, c.p, c.d, c.ceil); got != c.want {
			t.Errorf("PoolOutSize(%+v) = %d, want %d", c, got, c.want)
		}
	}
}

func TestConcatNarrowRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b := randTensor(r, 2, 3, 4), randTensor(r, 2, 5, 4)
	c := Concat(1, a, b)
	if got := Narrow(c, 1, 3, 5); !equal(got, b) {
		t.Fatal("Narrow(Concat) did not give back the second part")
	}
	if got := Narrow(c, 1, -8, 3); !equal(got, a) {
		t.Fatal("negative start")
	}
}

func equal(a, b *Tensor) bool {
	if !SameShape(a, b) {
		return false
	}
	for i := range a.data {
		if a.data[i] != b.data[i] {
			return false
		}
	}
	return true
}
