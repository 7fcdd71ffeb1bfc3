package dashboard

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/train"
)

// idLabels is a data set whose label is an ID: classes classes, of
// which the samples use 25, spread over the range, four samples each
// per 100. Its samples are 1×2×2 images, so that the grid is drawn too.
type idLabels struct{ n, classes int }

func (d idLabels) Len() int        { return d.n }
func (d idLabels) Shape() []int    { return []int{1, 2, 2} }
func (d idLabels) TargetSize() int { return 0 }
func (d idLabels) Classes() []string {
	names := make([]string, d.classes)
	for i := range names {
		names[i] = fmt.Sprintf("id-%d", i)
	}
	return names
}
func (d idLabels) Sample(i int, _ *rand.Rand, x, _ []float32) (int, error) {
	for p := range x {
		x[p] = float32((i*7+p*3)%11) / 11
	}
	return (i % 25) * (d.classes / 25), nil
}

func TestConfusionOf(t *testing.T) {
	o := func(label, pred int) outcome { return outcome{label, pred} }
	tests := []struct {
		name      string
		classes   int
		outs      []outcome
		matrix    [][]int
		idx       []int
		other     []int
		pairs     []ConfusedPair
		wantsNote bool
	}{
		{"dense", 3, []outcome{o(0, 0), o(0, 1), o(2, 2), o(2, 2), o(5, 1), o(1, -1)},
			[][]int{{1, 1, 0}, {0, 0, 0}, {0, 0, 2}}, nil, nil, nil, false},
		{"dense at the limit", MaxDenseClasses, []outcome{o(49, 0)}, nil, nil, nil, nil, false},
		{"partial above the limit", MaxDenseClasses + 1,
			[]outcome{o(50, 50), o(50, 3), o(50, 3), o(3, 3), o(7, 50), o(60, 1)},
			nil, []int{3, 7, 50}, []int{0, 0, 0}, []ConfusedPair{{50, 3, 2}, {7, 50, 1}}, true},
		{"no samples", 5000, nil, [][]int{}, []int{}, []int{}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cf := confusionOf(tc.classes, tc.outs)
			if tc.matrix != nil && !slices.EqualFunc(cf.matrix, tc.matrix, slices.Equal) {
				t.Errorf("matrix %v, want %v", cf.matrix, tc.matrix)
			}
			if tc.idx == nil {
				if cf.classes != nil || len(cf.matrix) != tc.classes {
					t.Errorf("want a whole %d×%d matrix, got %d rows over %v", tc.classes, tc.classes, len(cf.matrix), cf.classes)
				}
			} else {
				if !slices.Equal(cf.classes, tc.idx) || !slices.Equal(cf.other, tc.other) || !slices.Equal(cf.pairs, tc.pairs) {
					t.Errorf("classes %v other %v pairs %v, want %v %v %v", cf.classes, cf.other, cf.pairs, tc.idx, tc.other, tc.pairs)
				}
				if len(cf.matrix) != len(tc.idx) {
					t.Errorf("%d rows for %d classes", len(cf.matrix), len(tc.idx))
				}
			}
			if (cf.note != "") != tc.wantsNote {
				t.Errorf("note %q", cf.note)
			}
		})
	}
}

func TestConfusionTopClassesAndOther(t *testing.T) {
	// 30 true classes above the dense limit, class c seen c+1 times,
	// predicted right except every third, predicted as class 0 (which is
	// outside the 20 most frequent, 10 to 29).
	var outs []outcome
	for c := range 30 {
		for k := range c + 1 {
			pred := 1000 + c
			if k%3 == 2 {
				pred = 1000
			}
			outs = append(outs, outcome{1000 + c, pred})
		}
	}
	cf := confusionOf(5000, outs)
	want := make([]int, 0, TopClasses)
	for c := 30 - TopClasses; c < 30; c++ {
		want = append(want, 1000+c)
	}
	if !slices.Equal(cf.classes, want) {
		t.Fatalf("classes %v, want %v", cf.classes, want)
	}
	for i, c := range cf.classes {
		n := c - 1000 + 1
		if got := cf.matrix[i][i] + cf.other[i]; got != n {
			t.Errorf("class %d: %d counted, want %d", c, got, n)
		}
		if cf.other[i] != n/3 {
			t.Errorf("class %d: %d others, want %d", c, cf.other[i], n/3)
		}
	}
	if len(cf.pairs) != MaxConfusedPairs || cf.pairs[0] != (ConfusedPair{1029, 1000, 10}) {
		t.Errorf("pairs %v", cf.pairs)
	}
}

func TestDashboardConfusionOfManyClassesIsBounded(t *testing.T) {
	for _, classes := range []int{5000, 30000} {
		t.Run(fmt.Sprint(classes), func(t *testing.T) {
			ds := idLabels{n: 100, classes: classes}
			model, err := nn.Build(fmt.Sprintf("flatten linear(%d)", classes), ds.Shape(), nn.Seed(1))
			if err != nil {
				t.Fatal(err)
			}
			rec := NewRecorder(model, "", ds.Shape(), ds.Classes(), ds, "", Options{EvalSamples: ds.n})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			rec.OnEpoch(train.EpochStats{Epoch: 1, Step: 1, Seconds: 1})
			runtime.ReadMemStats(&after)
			// The logits of the samples, a copy of them, and small
			// change; a dense matrix would be classes²·8 bytes (200 MB
			// at 5,000 classes, 7 GB at 30,000).
			limit := uint64(8<<20 + 8*ds.n*classes)
			if d := after.TotalAlloc - before.TotalAlloc; d > limit {
				t.Errorf("evaluating allocated %d bytes, want at most %d", d, limit)
			}
			s, _ := rec.Since(Cursor{})
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > 64<<10 {
				t.Errorf("the dashboard ships %d bytes", len(b))
			}
			if s.Run.NumClasses != classes || s.Run.Classes != nil {
				t.Errorf("run info: %d classes, %d names", s.Run.NumClasses, len(s.Run.Classes))
			}
			if len(s.Confusion) != TopClasses || len(s.ConfusionClasses) != TopClasses || len(s.ConfusionOther) != TopClasses {
				t.Fatalf("partial matrix: %d rows, %d classes, %d others", len(s.Confusion), len(s.ConfusionClasses), len(s.ConfusionOther))
			}
			total := 0
			for i, row := range s.Confusion {
				if len(row) != TopClasses {
					t.Fatalf("row %d has %d columns", i, len(row))
				}
				for _, v := range row {
					total += v
				}
				total += s.ConfusionOther[i]
			}
			if total != TopClasses*ds.n/25 {
				t.Errorf("the partial matrix counts %d samples, want %d", total, TopClasses*ds.n/25)
			}
			if len(s.Confused) > MaxConfusedPairs {
				t.Errorf("%d mistakes listed", len(s.Confused))
			}
			named := func(c int) {
				if s.ClassNames[c] != fmt.Sprintf("id-%d", c) {
					t.Errorf("class %d named %q", c, s.ClassNames[c])
				}
			}
			for _, c := range s.ConfusionClasses {
				named(c)
			}
			for _, p := range s.Confused {
				named(p.True)
				named(p.Pred)
			}
			if len(s.Images) == 0 {
				t.Fatal("no image grid")
			}
			for _, im := range s.Images {
				named(im.True)
				named(im.Pred)
			}
		})
	}
}

func TestDashboardConfusionOfFewClassesIsWhole(t *testing.T) {
	ds := idLabels{n: 100, classes: 25}
	model, err := nn.Build("flatten linear(25)", ds.Shape(), nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(model, "", ds.Shape(), ds.Classes(), ds, "", Options{EvalSamples: ds.n})
	rec.OnEpoch(train.EpochStats{Epoch: 1, Step: 1, Seconds: 1})
	s, _ := rec.Since(Cursor{})
	total := 0
	for _, row := range s.Confusion {
		for _, v := range row {
			total += v
		}
	}
	if len(s.Confusion) != 25 || s.ConfusionClasses != nil || s.ClassNames != nil || len(s.Run.Classes) != 25 || total != ds.n {
		t.Errorf("%d rows over %v, names %v, %d run classes, %d samples", len(s.Confusion), s.ConfusionClasses, s.ClassNames, len(s.Run.Classes), total)
	}
}
