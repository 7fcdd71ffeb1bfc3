package train

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// TestMeterConfusionStaysSmall records 30,000-class predictions: the
// confusion matrix is kept as the pairs seen (a dense one would be 7 GB),
// and small class counts keep their dense matrix.
func TestMeterConfusionStaysSmall(t *testing.T) {
	tests := []struct {
		classes int
		dense   bool
	}{{3, true}, {DenseConfusionClasses, true}, {DenseConfusionClasses + 1, false}, {30000, false}}
	for _, tt := range tests {
		const batch, batches = 16, 8
		logits := tensor.Zeros(batch, tt.classes)
		labels := make([]int, batch)
		m := &Meter{Classes: tt.classes}
		r := rand.New(rand.NewPCG(1, uint64(tt.classes)))
		want := map[[2]int]int{}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range batches {
			d := logits.Data()
			clear(d)
			for i := range labels {
				labels[i] = r.IntN(tt.classes)
				pred := labels[i]
				if i%3 == 0 {
					pred = r.IntN(tt.classes)
				}
				d[i*tt.classes+pred] = 1
				want[[2]int{labels[i], pred}]++
			}
			m.Add(0, logits, labels)
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; !tt.dense && got > 1<<20 {
			t.Errorf("%d classes: recording %d samples allocated %d bytes, want under 1 MiB", tt.classes, batch*batches, got)
		}
		if (m.Confusion() != nil) != tt.dense {
			t.Errorf("%d classes: dense matrix %v, want dense %v", tt.classes, m.Confusion() != nil, tt.dense)
		}
		pairs := m.ConfusionPairs()
		total := 0
		for _, p := range pairs {
			total += p.Count
			if want[[2]int{p.True, p.Pred}] != p.Count {
				t.Fatalf("%d classes: pair %+v, want count %d", tt.classes, p, want[[2]int{p.True, p.Pred}])
			}
		}
		if total != batch*batches || len(pairs) != len(want) || !slices.IsSortedFunc(pairs, func(a, b ConfusionPair) int {
			if a.True != b.True {
				return a.True - b.True
			}
			return a.Pred - b.Pred
		}) {
			t.Errorf("%d classes: %d pairs counting %d samples, want %d pairs counting %d, sorted", tt.classes, len(pairs), total, len(want), batch*batches)
		}
	}
}

// TestMeterLabelBeyondOutputs counts a label the model has no output for
// as wrong instead of indexing past the row.
func TestMeterLabelBeyondOutputs(t *testing.T) {
	m := &Meter{Classes: 5}
	m.Add(0, tensor.New([]float32{1, 0, 0, 1}, 2, 2), []int{0, 4})
	if m.Accuracy() != 0.5 || m.Samples() != 2 {
		t.Fatalf("accuracy %v over %d samples, want 0.5 over 2", m.Accuracy(), m.Samples())
	}
}

// regressionSet is a one-feature regression data set whose feature is the
// model's prediction (the model is the identity): x = yStd + err.
type regressionSet struct{ x, y []float32 }

func (d regressionSet) Len() int          { return len(d.x) }
func (d regressionSet) Shape() []int      { return []int{1} }
func (d regressionSet) Classes() []string { return nil }
func (d regressionSet) TargetSize() int   { return 1 }
func (d regressionSet) Sample(i int, _ *rand.Rand, x, target []float32) (int, error) {
	x[0], target[0] = d.x[i], d.y[i]
	return -1, nil
}

func TestEvaluateRegressionInTargetUnits(t *testing.T) {
	const mean, std = 237000, 50000
	norm := &data.Normalization{Mean: []float32{mean}, Std: []float32{std}}
	r := rand.New(rand.NewPCG(3, 3))
	var ds regressionSet
	var sse, sae, sy, syy float64
	for range 500 {
		y := float32(r.NormFloat64())
		e := float32(0.1 * r.NormFloat64())
		ds.x, ds.y = append(ds.x, y+e), append(ds.y, y)
		yr := float64(y)*std + mean
		d := float64(e) * std
		sse, sae, sy, syy = sse+d*d, sae+math.Abs(d), sy+yr, syy+yr*yr
	}
	n := float64(len(ds.x))
	wantMSE, wantMAE := sse/n, sae/n
	wantR2 := 1 - sse/(syy-sy*sy/n)
	model, err := nn.Build("flatten", []int{1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(model, ds, EvalConfig{BatchSize: 64, TargetNorm: norm})
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-3*math.Abs(b) }
	if !near(res.MSE, wantMSE) || !near(res.MAE, wantMAE) || !near(res.R2, wantR2) || res.R2 < 0.98 {
		t.Fatalf("MSE %v MAE %v R² %v; want %v %v %v", res.MSE, res.MAE, res.R2, wantMSE, wantMAE, wantR2)
	}
	if !math.IsNaN(res.Accuracy) || res.Samples != 500 {
		t.Fatalf("accuracy %v on %d samples: want NaN on 500", res.Accuracy, res.Samples)
	}
	// The loss stays in the standardised units the model was trained in.
	if !near(res.Loss, wantMSE/(std*std)) {
		t.Fatalf("loss %v, want %v", res.Loss, wantMSE/(std*std))
	}
	// A model with more outputs than targets is refused, not indexed past.
	wide, _ := nn.Build("linear(3)", []int{1})
	if _, err := Evaluate(wide, ds, EvalConfig{}); err == nil {
		t.Fatal("a 3-output model was evaluated against 1 target")
	}
}

// TestMeterAddTargets checks Meter.AddTargets against Add: logits [N, C]
// with Int64 targets [N] are Add with the same labels, and a sequence's
// logits [N, C, T] with targets [N, T] are Add on the N·T rows of each
// position's C logits; negative targets (padding) are left out of every
// figure, and mismatched shapes or float targets panic.
func TestMeterAddTargets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, c, steps = 3, 4, 5
	logits := tensor.Zeros(n, c, steps)
	for i := range logits.Data() {
		logits.Data()[i] = float32(rng.NormFloat64())
	}
	ids := make([]int, n*steps)
	for i := range ids {
		ids[i] = rng.IntN(c)
	}
	ids[7] = -100                           // padding
	rows := tensor.Permute(logits, 0, 2, 1) // [N, T, C]: position (n, t) is row n·T+t
	var kept []int
	var keptRows []float32
	for i, y := range ids {
		if y >= 0 {
			kept = append(kept, y)
			keptRows = append(keptRows, rows.Data()[i*c:(i+1)*c]...)
		}
	}
	flat := tensor.Reshape(rows.Clone(), n*steps, c)
	for _, tc := range []struct {
		name    string
		logits  *tensor.Tensor
		targets *tensor.Tensor
		rows    *tensor.Tensor // the same figures through Add
		labels  []int
	}{
		{"rows", flat, tensor.FromInts(ids, n*steps), tensor.New(keptRows, len(kept), c), kept},
		{"sequence", logits, tensor.FromInts(ids, n, steps), tensor.New(keptRows, len(kept), c), kept},
	} {
		got, want := &Meter{K: 2, Classes: c}, &Meter{K: 2, Classes: c}
		got.AddTargets(0.5, tc.logits, tc.targets)
		want.Add(0.5, tc.rows, tc.labels)
		if got.Samples() != n*steps-1 || got.Samples() != want.Samples() || got.Loss() != want.Loss() ||
			got.Accuracy() != want.Accuracy() || got.TopK() != want.TopK() || !slices.EqualFunc(got.Confusion(), want.Confusion(), slices.Equal) {
			t.Errorf("%s: %d samples, loss %v, accuracy %v, top-2 %v; Add gives %d, %v, %v, %v", tc.name, got.Samples(), got.Loss(),
				got.Accuracy(), got.TopK(), want.Samples(), want.Loss(), want.Accuracy(), want.TopK())
		}
		if got.Accuracy() == 0 || got.Accuracy() == 1 {
			t.Errorf("%s: accuracy %v proves nothing", tc.name, got.Accuracy())
		}
	}
	for name, f := range map[string]func(){
		"targets of the wrong shape": func() { (&Meter{}).AddTargets(1, logits, tensor.FromInts(ids, n*steps)) },
		"float targets":              func() { (&Meter{}).AddTargets(1, flat, tensor.New(make([]float32, n*steps), n*steps)) },
		"logits without classes":     func() { (&Meter{}).AddTargets(1, tensor.Zeros(c), tensor.FromInts([]int{1})) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
