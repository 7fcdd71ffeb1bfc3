package dashboard

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
	"github.com/backprop-go/backprop/train"
)

func TestFlagGradients(t *testing.T) {
	groups := []paramGroup{{name: "0", params: []*ag.Value{ag.Param(tensor.Zeros(1))}}, {name: "2", params: []*ag.Value{ag.Param(tensor.Zeros(1))}}}
	tests := []struct {
		name         string
		grad, weight []Num
		lr           float64
		want         string // "layer:kind ..." of the alerts
	}{
		{"healthy", []Num{0.5, 0.2}, []Num{5, 3}, 0.01, ""},
		{"exploding", []Num{1000, 0.2}, []Num{5, 3}, 0.01, "0:exploding"},
		{"not finite", []Num{Num(math.Inf(1)), 0.2}, []Num{5, 3}, 0.01, "0:exploding"},
		{"vanishing", []Num{1e-7, 0.2}, []Num{5, 3}, 0.01, "0:vanishing"},
		{"dead", []Num{0, 0}, []Num{5, 3}, 0.01, "0:vanishing 2:vanishing"},
		{"lr zero never explodes", []Num{500, 0.2}, []Num{5, 3}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range flag(groups, NormPoint{Step: 7, Grad: tc.grad, Weight: tc.weight}, tc.lr) {
				got = append(got, a.Layer+":"+a.Kind)
				if a.Step != 7 || !strings.Contains(a.Message, "layer "+a.Layer) {
					t.Errorf("alert %+v", a)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("alerts %v, want %q", got, tc.want)
			}
		})
	}
}

func TestBinValues(t *testing.T) {
	tests := []struct {
		name   string
		values [][]float32
		want   []int
	}{
		{"spread", [][]float32{{0, 1, 2, 3}, {4}}, []int{1, 1, 1, 1, 1}},
		{"max in the last bin", [][]float32{{0, 10}}, []int{1, 0, 0, 0, 1}},
		{"all equal", [][]float32{{2, 2, 2}}, []int{3, 0, 0, 0, 0}},
		{"not finite skipped", [][]float32{{float32(math.NaN()), 0, float32(math.Inf(1)), 5}}, []int{1, 0, 0, 0, 1}},
		{"empty", nil, []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := binValues(tc.values, 5)
			if len(b.Counts) != len(tc.want) {
				t.Fatalf("counts %v, want %v", b.Counts, tc.want)
			}
			for i := range tc.want {
				if b.Counts[i] != tc.want[i] {
					t.Fatalf("counts %v, want %v", b.Counts, tc.want)
				}
			}
		})
	}
}

func TestNumEncodesNonFiniteAsNull(t *testing.T) {
	b, err := json.Marshal([]Num{1.5, Num(math.NaN()), Num(math.Inf(-1)), 1e-9})
	if err != nil || string(b) != "[1.5,null,null,1e-09]" {
		t.Fatalf("%s %v", b, err)
	}
	var back []Num
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(float64(back[1])) || back[0] != 1.5 {
		t.Errorf("%v %v", back, err)
	}
}

// TestStrideBoundsLongRuns checks that a long run keeps a bounded number
// of step points, each the mean of the steps it stands for.
func TestStrideBoundsLongRuns(t *testing.T) {
	model := tinyModel(t)
	rec := NewRecorder(model, "", []int{1, 8, 8}, nil, nil, "", Options{PointsPerStride: 10, NormsPerEpoch: 5, Budget: 1})
	const batches = 1000
	for step := 1; step <= batches; step++ {
		rec.OnStep(train.StepInfo{Epoch: 1, Batch: step, Batches: batches, Step: step, Loss: float32(step), BatchAccuracy: math.NaN(), LR: 0.1, Model: model})
	}
	s, _ := rec.Since(Cursor{})
	if n := len(s.Steps); n < 40 || n > 80 {
		t.Fatalf("%d points for %d steps", n, batches)
	}
	for i := 1; i < len(s.Steps); i++ {
		p, q := s.Steps[i-1], s.Steps[i]
		if want := float64(p.Step+1+q.Step) / 2; float64(q.Loss) != want {
			t.Fatalf("point at step %d: loss %v, want the mean of steps %d..%d, %v", q.Step, q.Loss, p.Step+1, q.Step, want)
		}
		if q.Accuracy != nil {
			t.Fatal("regression points carry an accuracy")
		}
	}
	if last := s.Steps[len(s.Steps)-1]; last.Step != batches {
		t.Errorf("the epoch's last step is not recorded: %d", last.Step)
	}
	if len(s.Norms) != 5 || len(s.Histograms) != 2 {
		t.Errorf("%d norm points (want 5, the last at the last step), %d histograms", len(s.Norms), len(s.Histograms))
	}
}

func TestDescribeShapes(t *testing.T) {
	m, err := nn.Build("conv(4,3,pad=1) batchnorm relu maxpool(2) flatten linear(3)", []int{1, 8, 8})
	if err != nil {
		t.Fatal(err)
	}
	info := describe(m, "spec", []int{1, 8, 8}, nil)
	var got []string
	for _, l := range info.Layers {
		got = append(got, l.Type+"→"+strings.Trim(strings.Join(strings.Fields(strings.Trim(jsonString(l.Output), "[]")), ""), ""))
	}
	want := "Conv2d→4,8,8 BatchNorm→4,8,8 ReLU→4,8,8 MaxPool2d→4,4,4 Flatten→64 Linear→3"
	if strings.Join(got, " ") != want {
		t.Errorf("layers %v\nwant %s", got, want)
	}
	if info.Parameters != nn.NumParameters(m) || info.Layers[0].Params != 4*9+4 {
		t.Errorf("parameters %d, first layer %d", info.Parameters, info.Layers[0].Params)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
