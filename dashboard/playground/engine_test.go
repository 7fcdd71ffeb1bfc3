package playground

import (
	"math"
	"reflect"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/explain"
)

func TestGenerate(t *testing.T) {
	for _, name := range Datasets {
		if name == CatDog {
			continue // fixed points: TestCatDogMatchesExplain
		}
		t.Run(name, func(t *testing.T) {
			a, err := Generate(name, 200, 0.1, 3)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Generate(name, 200, 0.1, 3)
			c, _ := Generate(name, 200, 0.1, 4)
			if !reflect.DeepEqual(a, b) {
				t.Error("the same seed gave different points")
			}
			if reflect.DeepEqual(a, c) {
				t.Error("different seeds gave the same points")
			}
			ones := 0
			for _, p := range a {
				ones += p.Label
				if math.Abs(float64(p.X)) > Domain+2 || math.Abs(float64(p.Y)) > Domain+2 {
					t.Fatalf("point %+v far outside the domain", p)
				}
			}
			if ones < 60 || ones > 140 {
				t.Errorf("%d of 200 points in class 1", ones)
			}
		})
	}
	if _, err := Generate("mnist", 10, 0, 1); err == nil {
		t.Error("an unknown data set was generated")
	}
}

func TestConfigLimits(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		msg  string
	}{
		{"defaults", Config{}, ""},
		{"no hidden layer", Config{Hidden: []int{}}, ""},
		{"unknown data", Config{Dataset: "iris"}, "unknown data set"},
		{"unknown activation", Config{Activation: "gelu"}, "unknown activation"},
		{"noise", Config{Noise: 0.9}, "noise"},
		{"too many layers", Config{Hidden: []int{1, 1, 1, 1, 1, 1, 1}}, "hidden layers"},
		{"too wide", Config{Hidden: []int{9}}, "layer width"},
		{"empty layer", Config{Hidden: []int{0}}, "layer width"},
		{"batch", Config{BatchSize: 1000}, "batch size"},
		{"samples", Config{Samples: 1e6}, "samples"},
		{"lr", Config{LR: -1}, "learning rate"},
		{"l2", Config{L2: 2}, "L2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if tc.msg == "" && err != nil || tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)) {
				t.Errorf("New(%+v): %v, want %q", tc.cfg, err, tc.msg)
			}
		})
	}
}

// TestTrainingLearns checks the engine end to end: each data set is
// learned by a network that can represent it.
func TestTrainingLearns(t *testing.T) {
	tests := []struct {
		cfg   Config
		steps int
		below float64
	}{
		{Config{Dataset: "blobs", Hidden: []int{}}, 200, 0.2},
		{Config{Dataset: "circles", Hidden: []int{6}, LR: 0.1}, 1500, 0.2},
		{Config{Dataset: "xor", Hidden: []int{6}, LR: 0.1, Activation: "relu"}, 1500, 0.2},
		{Config{Dataset: "moons", Hidden: []int{8, 4}, LR: 0.1}, 1500, 0.2},
	}
	for _, tc := range tests {
		t.Run(tc.cfg.Dataset, func(t *testing.T) {
			e, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := e.State().TestLoss
			e.Train(tc.steps)
			s := e.State()
			if s.TestLoss > tc.below || s.Step != tc.steps {
				t.Errorf("after %d steps: test loss %.3f (from %.3f), want below %g", s.Step, s.TestLoss, start, tc.below)
			}
		})
	}
}

// TestStagesMatchTrain checks that walking a step through its four stages
// updates the weights exactly as one step of Train, and that each stage
// says what it did.
func TestStagesMatchTrain(t *testing.T) {
	cfg := Config{Dataset: "spiral", Hidden: []int{5, 3}, L2: 0.01, Seed: 9}
	a, _ := New(cfg)
	b, _ := New(cfg)
	a.Train(3)
	b.Train(2)
	words := map[string]string{StageForward: "Forward pass", StageLoss: "Prediction and error", StageBackward: "Backward pass", StageUpdate: "Gradient descent"}
	var last StageView
	for i, name := range Stages {
		v := b.Advance()
		if v.Name != name || v.Index != i+1 || !strings.HasPrefix(v.Caption, words[name]) {
			t.Fatalf("stage %d: %q %d %q", i+1, v.Name, v.Index, v.Caption)
		}
		if len(v.Batch) != 10 {
			t.Errorf("stage %s: batch of %d", name, len(v.Batch))
		}
		last = v
	}
	if !reflect.DeepEqual(a.State().Layers, b.State().Layers) {
		t.Error("four stages moved the weights differently from one training step")
	}
	if len(last.Activations) != 3 || len(last.Activations[0]) != 5 || len(last.Predictions) != 10 || len(last.Grads) != 3 || len(last.Deltas) != 3 {
		t.Errorf("the last view lacks figures: %+v", last)
	}
	// The update is -lr·(gradient + l2·weight) for every weight.
	before, _ := New(cfg)
	before.Train(2)
	w0 := before.State().Layers[1].Weights[2][4]
	g := last.Grads[1].Weights[2][4]
	want := -0.1 * (g + 0.01*w0)
	if got := last.Deltas[1].Weights[2][4]; math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("update %g, want -lr·(g + l2·w) = %g", got, want)
	}
	if last.LossAfter >= last.Loss {
		t.Errorf("the step did not lower the batch's loss: %.4f → %.4f", last.Loss, last.LossAfter)
	}
	if b.Steps() != 3 {
		t.Errorf("steps %d, want 3", b.Steps())
	}
	// Training abandons a step in progress.
	b.Advance()
	b.Train(1)
	if b.Stage() != nil {
		t.Error("Train left a stage in progress")
	}
}

func TestStateGrids(t *testing.T) {
	e, _ := New(Config{Hidden: []int{3, 2}, Activation: "relu"})
	s := e.State()
	if len(s.Neurons) != 2 || len(s.Neurons[0]) != 3 || len(s.Neurons[1]) != 2 {
		t.Fatalf("neuron maps %d", len(s.Neurons))
	}
	if len(s.Boundary) != 4*((GridSize*GridSize+2)/3) || len(s.BoundaryHash) != 16 {
		t.Errorf("boundary of %d base64 characters, hash %q", len(s.Boundary), s.BoundaryHash)
	}
	if len(s.Train)+len(s.Test) != 400 {
		t.Errorf("%d points", len(s.Train)+len(s.Test))
	}
	h := s.BoundaryHash
	e.Train(50)
	if e.State().BoundaryHash == h {
		t.Error("training did not change the boundary")
	}
	if err := e.Tune(0.5, 0.001); err != nil || e.Config().LR != 0.5 {
		t.Errorf("Tune: %v, lr %g", err, e.Config().LR)
	}
	if err := e.Tune(0, 0); err == nil {
		t.Error("a learning rate of 0 was accepted")
	}
}

// TestCatDogMatchesExplain walks one step of the CatDog network through
// its four stages and checks every number against `backprop explain`'s
// first step: the neurons' sums and outputs, the error, each gradient and
// each updated weight.
func TestCatDogMatchesExplain(t *testing.T) {
	for _, act := range []string{"tanh", "sigmoid", "relu"} {
		t.Run(act, func(t *testing.T) {
			e, err := New(Config{Dataset: CatDog, Activation: act, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			story, err := explain.Run(explain.Config{Steps: 2, LR: 1, Seed: 3, Activation: act})
			if err != nil {
				t.Fatal(err)
			}
			for stepNo, want := range story.Steps {
				var views []StageView
				for range Stages {
					views = append(views, e.Advance())
				}
				fwd, loss, back, upd := views[0], views[1], views[2], views[3]
				if want.Photo.Name != explain.Photos[fwd.Point].Name {
					t.Fatalf("step %d: the playground took point %d, explain %s", stepNo+1, fwd.Point, want.Photo.Name)
				}
				near := func(what string, got float32, want float64) {
					t.Helper()
					if math.Abs(float64(got)-want) > 1e-6+1e-5*math.Abs(want) {
						t.Errorf("step %d %s: playground %g, explain %g", stepNo+1, what, got, want)
					}
				}
				for j, n := range want.Hidden {
					near(n.Name+" sum", fwd.Sums[0][j], n.Sum)
					near(n.Name+" output", fwd.Outputs[0][j], n.Output)
				}
				near("output sum", fwd.Sums[1][0], want.Output.Sum)
				near("prediction", fwd.Outputs[1][0], want.Prediction)
				near("error", float32(loss.Loss), want.Error)
				near("error after", float32(upd.LossAfter), want.ErrorAfter)
				// explain names weights w1[hJ,ears|snout], b1[hJ], w2[hJ], b2.
				at := func(v []LayerValues, name string) float32 {
					var j, i int
					switch {
					case strings.HasPrefix(name, "w1["):
						j, i = int(name[4]-'1'), map[bool]int{true: 0, false: 1}[strings.Contains(name, "ears")]
						return v[0].Weights[j][i]
					case strings.HasPrefix(name, "b1["):
						return v[0].Biases[int(name[4]-'1')]
					case strings.HasPrefix(name, "w2["):
						return v[1].Weights[0][int(name[4]-'1')]
					}
					return v[1].Biases[0]
				}
				for _, w := range want.Weights {
					near(w.Name+" gradient", at(back.Grads, w.Name), w.Gradient)
					near(w.Name+" update", at(upd.Deltas, w.Name), w.New-w.Old)
				}
			}
		})
	}
}

// TestStageHoldsEveryPointsNumbers: the forward stage gives each batch
// point's weighted sums and outputs, equal to that point's own forward pass.
func TestStageHoldsEveryPointsNumbers(t *testing.T) {
	e, err := New(Config{Dataset: "xor", BatchSize: 3, Hidden: []int{3, 2}, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	v := e.Advance()
	if len(v.PointSums) != 3 || len(v.PointOutputs) != 3 || !reflect.DeepEqual(v.PointSums[0], v.Sums) {
		t.Fatalf("want 3 points' numbers, the first equal to Sums; got %d, %d", len(v.PointSums), len(v.PointOutputs))
	}
	for i, k := range v.Batch {
		x, _ := tensors(e.train, []int{k})
		sums, hidden, logits := e.forwardSums(ag.NoGraph(x))
		for l := range hidden {
			if !reflect.DeepEqual(v.PointSums[i][l], sums[l].Data.Data()) || !reflect.DeepEqual(v.PointOutputs[i][l], hidden[l].Data.Data()) {
				t.Errorf("point %d (training point %d), layer %d: stage %v / %v, alone %v / %v", i, k, l, v.PointSums[i][l], v.PointOutputs[i][l], sums[l].Data.Data(), hidden[l].Data.Data())
			}
		}
		if got := v.PointSums[i][len(hidden)][0]; got != logits.Data.Data()[0] {
			t.Errorf("point %d: output sum %v, alone %v", i, got, logits.Data.Data()[0])
		}
	}
}
