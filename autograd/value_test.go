package autograd_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

func TestGradientsAccumulateWhenAValueIsReused(t *testing.T) {
	x := ag.Param(tensor.New([]float32{2, -3}, 2))
	// y = x·x + x, dy/dx = 2x + 1
	y := ag.Sum(ag.Add(ag.Mul(x, x), x))
	y.Backward()
	want := []float32{5, -5}
	for i, g := range x.Grad.Data() {
		if g != want[i] {
			t.Fatalf("grad %v, want %v", x.Grad.Data(), want)
		}
	}
	// A second backward pass adds to the gradient until ZeroGrad.
	ag.Sum(ag.MulScalar(x, 3)).Backward()
	if g := x.Grad.Data(); g[0] != 8 || g[1] != -2 {
		t.Fatalf("accumulated grad %v, want [8 -2]", g)
	}
	x.ZeroGrad()
	if x.Grad != nil {
		t.Fatal("ZeroGrad left a gradient")
	}
}

// TestNoGraphBuildsNoGraph checks the graph-mode rule: an op any of whose
// inputs is marked NoGraph records nothing and marks its output, whatever
// its other inputs require; an op on unmarked inputs records as before.
func TestNoGraphBuildsNoGraph(t *testing.T) {
	x := tensor.New([]float32{1, -2, 3, 0.5, -1, 2}, 2, 3)
	w := ag.Param(tensor.New([]float32{0.1, 0.2, -0.3, 0.4, 0.5, -0.6}, 2, 3))
	b := ag.Param(tensor.New([]float32{0.5, -0.5}, 2))
	forward := func(in *ag.Value) *ag.Value {
		return ag.Sum(ag.Tanh(ag.Linear(ag.Mul(in, ag.Const(tensor.Full(2, 2, 3))), w, b)))
	}
	cases := []struct {
		name      string
		in        *ag.Value
		wantGraph bool
	}{
		{"Const input", ag.Const(x), true},
		{"NoGraph input", ag.NoGraph(x), false},
		{"Detached input", ag.Detached(ag.Param(x)), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.ZeroGrad()
			y := forward(c.in)
			if y.RequiresGrad() != c.wantGraph || y.NoGraph() == c.wantGraph {
				t.Fatalf("RequiresGrad %v, NoGraph %v; want a graph: %v", y.RequiresGrad(), y.NoGraph(), c.wantGraph)
			}
			if c.wantGraph {
				y.Backward()
				if w.Grad == nil || b.Grad == nil {
					t.Fatal("parameters got no gradient")
				}
				return
			}
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("Backward on a value computed from a NoGraph input did not panic")
				}
				if w.Grad != nil {
					t.Fatal("a NoGraph forward gave a parameter a gradient")
				}
			}()
			y.Backward()
		})
	}
	// The marking is per value: the same parameters still record with an
	// unmarked input after a NoGraph forward.
	if !forward(ag.Const(x)).RequiresGrad() {
		t.Fatal("a NoGraph forward switched graph building off for later ones")
	}
}

// TestNoGraphCannotRequireGrad checks that a NoGraph leaf refuses to track
// a gradient.
func TestNoGraphCannotRequireGrad(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("SetRequiresGrad(true) on a NoGraph value did not panic")
		}
	}()
	ag.NoGraph(tensor.Ones(2)).SetRequiresGrad(true)
}

func TestConstGetsNoGradient(t *testing.T) {
	x := ag.Const(tensor.Ones(2))
	w := ag.Param(tensor.Full(3, 2))
	ag.Sum(ag.Mul(x, w)).Backward()
	if x.Grad != nil {
		t.Fatal("a Const received a gradient")
	}
	if w.Grad == nil {
		t.Fatal("a Param received no gradient")
	}
}

func TestBackwardReleasesTheGraph(t *testing.T) {
	// A long chain trained many times must not keep old graphs alive: the
	// heap after many steps stays near the heap after a few.
	w := ag.Param(tensor.Ones(256, 256))
	step := func() {
		h := ag.Const(tensor.Ones(4, 256))
		for range 8 {
			h = ag.Tanh(ag.MatMul(h, w))
		}
		ag.Sum(h).Backward()
		w.ZeroGrad()
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for range 3 {
		step()
	}
	before := heap()
	for range 50 {
		step()
	}
	if after := heap(); after > before+4<<20 {
		t.Fatalf("heap grew from %d to %d bytes over 50 steps", before, after)
	}
}

func TestDeepGraphDoesNotOverflowTheStack(t *testing.T) {
	x := ag.Param(tensor.Ones(1))
	y := x
	for range 200000 {
		y = ag.AddScalar(y, 1)
	}
	y.Backward()
	if x.Grad.Item() != 1 {
		t.Fatalf("grad %v, want 1", x.Grad.Item())
	}
}

func TestShapeErrorsNameTheOpAndShapes(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		want []string
	}{
		{"broadcast", func() { ag.Add(ag.Const(tensor.Zeros(2, 3)), ag.Const(tensor.Zeros(4))) }, []string{"Add", "[2 3]", "[4]"}},
		{"matmul", func() { ag.MatMul(ag.Const(tensor.Zeros(2, 3)), ag.Const(tensor.Zeros(4, 5))) }, []string{"MatMul", "[2 3]", "[4 5]"}},
		{"linear", func() { ag.Linear(ag.Const(tensor.Zeros(2, 3)), ag.Const(tensor.Zeros(4, 5)), nil) }, []string{"Linear", "[2 3]", "[4 5]"}},
		{"conv", func() {
			ag.Conv2d(ag.Const(tensor.Zeros(1, 3, 5, 5)), ag.Const(tensor.Zeros(2, 2, 3, 3)), nil, ag.ConvParams{})
		}, []string{"Conv2d", "[1 3 5 5]", "[2 2 3 3]"}},
		{"reshape", func() { ag.Reshape(ag.Const(tensor.Zeros(2, 3)), 4, -1) }, []string{"Reshape", "6", "[4 -1]"}},
		{"loss", func() { ag.MSELoss(ag.Const(tensor.Zeros(2, 3)), ag.Const(tensor.Zeros(3, 2))) }, []string{"MSELoss", "[2 3]", "[3 2]"}},
		{"targets", func() { ag.CrossEntropy(ag.Const(tensor.Zeros(2, 3)), []int{0, 3}) }, []string{"CrossEntropy", "3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg := fmt.Sprint(r)
				for _, w := range c.want {
					if !strings.Contains(msg, w) {
						t.Fatalf("panic %q does not mention %q", msg, w)
					}
				}
			}()
			c.f()
		})
	}
}

// TestTrainXOR trains a 2-8-1 network on XOR with the manual loop (forward,
// loss, ZeroGrad, Backward, Step) until the loss is near zero.
func TestTrainXOR(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	x := ag.Const(tensor.New([]float32{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2))
	y := ag.Const(tensor.New([]float32{0, 1, 1, 0}, 4, 1))
	w1 := ag.Param(randn(r, 8, 2))
	b1 := ag.Param(tensor.Zeros(8))
	w2 := ag.Param(randn(r, 1, 8))
	b2 := ag.Param(tensor.Zeros(1))
	opt := optim.Adam([]*ag.Value{w1, b1, w2, b2}, optim.LR(0.05))
	var loss float32
	for range 500 {
		logits := ag.Linear(ag.Tanh(ag.Linear(x, w1, b1)), w2, b2)
		l := ag.BCEWithLogits(logits, y)
		opt.ZeroGrad()
		l.Backward()
		opt.Step()
		loss = l.Item()
	}
	if loss > 0.01 {
		t.Fatalf("XOR loss after 500 steps is %v, want < 0.01", loss)
	}
}

// TestNoGraphKeepsForwardSemantics checks that marking the input changes
// what is recorded, not what is computed: values, and BatchNorm's
// running-statistics update in training mode (as under torch.no_grad), are
// the same bits as from a Const input, for the ops that decide from their
// inputs whether to keep buffers for a backward rule (the convolutions).
func TestNoGraphKeepsForwardSemantics(t *testing.T) {
	x := tensor.FromFunc(func(i int) float32 { return float32(i%7) - 3 }, 2, 2, 5, 5)
	w := ag.Param(tensor.FromFunc(func(i int) float32 { return float32(i%5)/4 - 0.5 }, 3, 2, 3, 3))
	b := ag.Param(tensor.New([]float32{0.1, -0.2, 0.3}, 3))
	gamma, beta := ag.Param(tensor.Ones(3)), ag.Param(tensor.Zeros(3))
	pad := ag.ConvParams{Padding: [2]int{1, 1}}
	pool := ag.PoolParams{Kernel: [2]int{2, 2}}
	forward := func(in *ag.Value, rm, rv *tensor.Tensor) []*ag.Value {
		return []*ag.Value{
			ag.BatchNorm(ag.Conv2d(in, w, b, pad), gamma, beta, rm, rv, true, 0.1, 1e-5),
			ag.Conv2dReLU(in, w, b, pad),
			ag.Conv2dReLUMaxPool2d(in, w, b, pad, pool),
		}
	}
	rm1, rv1 := tensor.Zeros(3), tensor.Ones(3)
	rm2, rv2 := tensor.Zeros(3), tensor.Ones(3)
	want := forward(ag.Const(x), rm1, rv1)
	got := forward(ag.NoGraph(x), rm2, rv2)
	same := func(a, b *tensor.Tensor) bool {
		for i, v := range a.Data() {
			if math.Float32bits(v) != math.Float32bits(b.Data()[i]) {
				return false
			}
		}
		return a.Size() == b.Size()
	}
	for i := range want {
		if !want[i].RequiresGrad() || got[i].RequiresGrad() || !got[i].NoGraph() {
			t.Errorf("op %d: Const input records %v, NoGraph input records %v", i, want[i].RequiresGrad(), got[i].RequiresGrad())
		}
		if !same(want[i].Data, got[i].Data) {
			t.Errorf("op %d: values differ between a Const and a NoGraph input", i)
		}
	}
	if !same(rm1, rm2) || !same(rv1, rv2) {
		t.Error("BatchNorm's running statistics differ between a Const and a NoGraph input")
	}
	if same(rm2, tensor.Zeros(3)) {
		t.Error("BatchNorm in training mode did not update its running mean from a NoGraph input")
	}
}
