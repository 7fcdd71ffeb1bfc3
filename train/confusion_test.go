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
