package nn_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// TestEmbeddingPaddingRow: the padding row starts at zero and gets no
// gradient, as PyTorch's padding_idx.
func TestEmbeddingPaddingRow(t *testing.T) {
	e := nn.Embedding(5, 2, nn.PaddingIdx(1), nn.Seed(1))
	if row := e.Weight.Data.Data()[2:4]; row[0] != 0 || row[1] != 0 {
		t.Fatalf("padding row %v, want zeros", row)
	}
	y := e.Forward(ag.Const(tensor.New([]float32{1, 3, 1, 0}, 2, 2)))
	if !slices.Equal(y.Shape(), []int{2, 2, 2}) {
		t.Fatalf("shape %v", y.Shape())
	}
	ag.Sum(y).Backward()
	g := e.Weight.Grad.Data()
	if g[2] != 0 || g[3] != 0 || g[6] != 1 || g[0] != 1 {
		t.Errorf("gradient %v: padding row must be 0, rows 0 and 3 one each", g)
	}
}

// TestBatchNormRunningStatistics follows PyTorch's rule over a few
// training steps — running = 0.9·running + 0.1·batch, unbiased variance —
// and checks that evaluation mode normalises with the running values.
func TestBatchNormRunningStatistics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bn    *nn.BatchNormModule
		shape []int
	}{
		{"1d", nn.BatchNorm1d(3), []int{4, 3}},
		{"2d", nn.BatchNorm2d(2), []int{3, 2, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRand(5)
			c := tc.shape[1]
			mean := make([]float64, c)
			variance := slices.Repeat([]float64{1}, c)
			for step := range 4 {
				x := tensor.FromFunc(func(int) float32 { return float32(2*r.NormFloat64() + float64(step)) }, tc.shape...)
				tc.bn.Forward(ag.Const(x))
				for ch := range c {
					vals := channel(x, ch)
					m, v := meanVar(vals)
					n := float64(len(vals))
					mean[ch] = 0.9*mean[ch] + 0.1*m
					variance[ch] = 0.9*variance[ch] + 0.1*v*n/(n-1)
				}
			}
			for ch := range c {
				if d := math.Abs(float64(tc.bn.RunningMean.Data()[ch]) - mean[ch]); d > 1e-5 {
					t.Errorf("running_mean[%d] = %v, want %v", ch, tc.bn.RunningMean.Data()[ch], mean[ch])
				}
				if d := math.Abs(float64(tc.bn.RunningVar.Data()[ch]) - variance[ch]); d > 1e-5*(1+variance[ch]) {
					t.Errorf("running_var[%d] = %v, want %v", ch, tc.bn.RunningVar.Data()[ch], variance[ch])
				}
			}
			if n := tc.bn.NumBatchesTracked.Item(); n != 4 {
				t.Errorf("num_batches_tracked %v, want 4", n)
			}
			// Evaluation: (x - running_mean)/sqrt(running_var + eps), weight 1, bias 0.
			nn.Eval(tc.bn)
			x := tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, tc.shape...)
			y := tc.bn.Forward(ag.Const(x))
			if tc.bn.NumBatchesTracked.Item() != 4 {
				t.Error("evaluation changed num_batches_tracked")
			}
			for ch := range c {
				xs, ys := channel(x, ch), channel(y.Data, ch)
				for i := range xs {
					want := (xs[i] - float64(tc.bn.RunningMean.Data()[ch])) / math.Sqrt(float64(tc.bn.RunningVar.Data()[ch])+1e-5)
					if math.Abs(ys[i]-want) > 1e-5 {
						t.Fatalf("eval channel %d element %d: %v, want %v", ch, i, ys[i], want)
					}
				}
			}
		})
	}
}

// channel gathers the elements of channel ch of an [N, C, ...] tensor.
func channel(x *tensor.Tensor, ch int) []float64 {
	s := x.Shape()
	inner := 1
	for _, d := range s[2:] {
		inner *= d
	}
	var out []float64
	for n := range s[0] {
		for i := range inner {
			out = append(out, float64(x.Data()[(n*s[1]+ch)*inner+i]))
		}
	}
	return out
}

func meanVar(v []float64) (m, biased float64) {
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		biased += (x - m) * (x - m)
	}
	return m, biased / float64(len(v))
}

// TestDropout: inverted dropout in training (kept elements scaled by
// 1/(1-p)), identity in evaluation, and generator state that restores the
// same masks.
func TestDropout(t *testing.T) {
	d := nn.Dropout(0.25, nn.Seed(3))
	x := tensor.Full(1, 1000)
	y := d.Forward(ag.Const(x)).Data.Data()
	zeros := 0
	for _, v := range y {
		switch v {
		case 0:
			zeros++
		case 1 / 0.75:
		default:
			t.Fatalf("element %v, want 0 or 4/3", v)
		}
	}
	if zeros < 200 || zeros > 300 {
		t.Errorf("%d of 1000 dropped with p=0.25", zeros)
	}
	state, err := nn.RNGState(d)
	if err != nil {
		t.Fatal(err)
	}
	a := d.Forward(ag.Const(x)).Data.Clone()
	if err := nn.SetRNGState(d, state); err != nil {
		t.Fatal(err)
	}
	b := d.Forward(ag.Const(x)).Data
	if !slices.Equal(a.Data(), b.Data()) {
		t.Error("restored generator state gave a different mask")
	}
	nn.Eval(d)
	in := ag.Const(x)
	if d.Forward(in) != in {
		t.Error("evaluation mode must pass the input through")
	}
	if err := nn.SetRNGState(nn.Sequential(d, nn.Dropout(0.1)), state); err == nil || !strings.Contains(err.Error(), `"0"`) {
		t.Errorf("state for another model: error %v, want one naming module \"0\"", err)
	}
}

// TestTrainEvalReachesNestedModules: mode switching walks custom modules'
// children.
func TestTrainEvalReachesNestedModules(t *testing.T) {
	inner := nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2))
	m := &block{a: inner, b: nn.Dropout(0.1)}
	nn.Eval(m)
	for _, sub := range nn.NamedModules(m) {
		if ms, ok := sub.Module.(nn.ModeSetter); ok && ms.Training() {
			t.Errorf("%s still in training mode after Eval", sub.Name)
		}
	}
	nn.Train(m)
	if !inner.Layers[1].(*nn.DropoutModule).Training() || !m.b.(*nn.DropoutModule).Training() {
		t.Error("Train did not reach every module")
	}
}

type block struct{ a, b nn.Module }

func (m *block) Forward(x *ag.Value) *ag.Value { return m.b.Forward(m.a.Forward(x)) }
func (m *block) Children() []nn.NamedModule {
	return []nn.NamedModule{{Name: "a", Module: m.a}, {Name: "b", Module: m.b}}
}

// TestOptionThatDoesNotApplyPanics: a misplaced option is a programming
// error named in the panic.
func TestOptionThatDoesNotApplyPanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "Padding") || !strings.Contains(r.(string), "Linear") {
			t.Errorf("panic %v, want one naming Padding and Linear", r)
		}
	}()
	nn.Linear(2, 3, nn.Padding(1))
}

// TestOutputShapesMatchForward: every layer's OutputShape agrees with
// what Forward produces.
func TestOutputShapesMatchForward(t *testing.T) {
	cases := []struct {
		m  nn.Module
		in []int
	}{
		{nn.Conv2d(3, 4, 3, nn.Stride(2), nn.Padding(1), nn.Dilation(2)), []int{3, 9, 8}},
		{nn.MaxPool2d(3, nn.Stride(2), nn.Padding(1), nn.CeilMode()), []int{2, 7, 6}},
		{nn.AvgPool2d(2, nn.CountIncludePad(false), nn.Padding(1)), []int{2, 5, 5}},
		{nn.GlobalAvgPool2d(), []int{3, 4, 5}},
		{nn.Flatten(), []int{2, 3, 4}},
		{nn.LayerNorm([]int{3, 4}), []int{2, 3, 4}},
		{nn.Softmax(-1), []int{2, 3}},
		{nn.Embedding(4, 3), []int{5}},
		{nn.Linear(4, 2), []int{3, 4}},
	}
	for _, c := range cases {
		want, err := c.m.(nn.ShapeInferrer).OutputShape(c.in)
		if err != nil {
			t.Errorf("%T: %v", c.m, err)
			continue
		}
		y := c.m.Forward(ag.Const(tensor.Zeros(append([]int{2}, c.in...)...)))
		if !slices.Equal(y.Shape()[1:], want) {
			t.Errorf("%T on %v: Forward gives %v, OutputShape %v", c.m, c.in, y.Shape()[1:], want)
		}
	}
}
