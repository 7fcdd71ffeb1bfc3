package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// blobs is a small in-memory two-class data set: Gaussian clouds around
// (±2, ±2).
type blobs struct{ x [][2]float32 }

func newBlobs(n int, seed uint64) *blobs {
	r := rand.New(rand.NewPCG(seed, 1))
	b := &blobs{}
	for i := range n {
		c := float32(2*(i%2) - 1)
		b.x = append(b.x, [2]float32{2*c + float32(r.NormFloat64()), -2*c + float32(r.NormFloat64())})
	}
	return b
}

func (b *blobs) Len() int          { return len(b.x) }
func (b *blobs) Shape() []int      { return []int{2} }
func (b *blobs) Classes() []string { return []string{"a", "b"} }
func (b *blobs) TargetSize() int   { return 0 }
func (b *blobs) Sample(i int, _ *rand.Rand, x, _ []float32) (int, error) {
	copy(x, b.x[i][:])
	return i % 2, nil
}

func buildModel(t *testing.T, seed uint64) nn.Module {
	t.Helper()
	m, err := nn.Build("linear(8) tanh dropout(0.1) linear(2)", []int{2}, nn.Seed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFitLearnsAndWritesFiles(t *testing.T) {
	dir := t.TempDir()
	model := buildModel(t, 1)
	var steps int
	hist, err := Fit(context.Background(), model, newBlobs(256, 1), Config{
		Epochs: 3, BatchSize: 16, Seed: 1, Val: newBlobs(64, 2), OutDir: dir,
		Optimizer: optim.Adam(nn.Parameters(model), optim.LR(0.05)),
		Callbacks: []Callback{CallbackFuncs{Step: func(StepInfo) { steps++ }}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || steps != 3*16 {
		t.Fatalf("%d epochs and %d steps, want 3 and 48", len(hist), steps)
	}
	if last := hist[2]; last.ValAccuracy < 0.95 || last.TrainLoss >= hist[0].TrainLoss {
		t.Fatalf("history %+v: want validation accuracy >= 0.95 and a falling loss", hist)
	}
	saved, err := LoadHistory(filepath.Join(dir, MetricsFile))
	if err != nil || len(saved) != 3 {
		t.Fatalf("metrics file: %v, %d epochs", err, len(saved))
	}
	ck, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 3 || ck.Step != 48 || len(ck.Optimizer) == 0 || len(ck.RNG) == 0 {
		t.Fatalf("checkpoint at epoch %d step %d with %d optimiser tensors", ck.Epoch, ck.Step, len(ck.Optimizer))
	}
}

// TestResumeIsBitIdentical stops a run after every possible epoch and step
// boundary through the checkpoint file and checks the final weights.
func TestResumeIsBitIdentical(t *testing.T) {
	ds := newBlobs(100, 3)
	cosine, err := optim.CosineAnnealingLR(4, 0)
	if err != nil {
		t.Fatal(err)
	}
	run := func(epochs int, dir string, resume *Checkpoint) map[string]*tensor.Tensor {
		model := buildModel(t, 5)
		opt := optim.SGD(nn.Parameters(model), optim.LR(0.1), optim.Momentum(0.9))
		_, err := Fit(context.Background(), model, ds, Config{Epochs: epochs, BatchSize: 8, Seed: 9, Optimizer: opt,
			OutDir: dir, Resume: resume, CheckpointEvery: 5, Schedule: cosine})
		if err != nil {
			t.Fatal(err)
		}
		return nn.StateDict(model)
	}
	want := run(4, t.TempDir(), nil)
	dir := t.TempDir()
	run(2, dir, nil)
	ck, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	got := run(4, t.TempDir(), ck)
	for k, w := range want {
		for i, v := range w.Data() {
			if got[k].Data()[i] != v {
				t.Fatalf("%s[%d] = %v after resuming, %v straight", k, i, got[k].Data()[i], v)
			}
		}
	}
}

func TestInterruptedFitSavesMidEpoch(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	model := buildModel(t, 1)
	_, err := Fit(ctx, model, newBlobs(100, 1), Config{Epochs: 2, BatchSize: 10, Optimizer: optim.SGD(nn.Parameters(model), optim.LR(0.1)),
		OutDir: dir, Callbacks: []Callback{CallbackFuncs{Step: func(s StepInfo) {
			if s.Step == 3 {
				cancel()
			}
		}}}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	ck, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 0 || ck.Batch != 3 || ck.Step != 3 {
		t.Fatalf("checkpoint at epoch %d batch %d step %d, want 0, 3, 3", ck.Epoch, ck.Batch, ck.Step)
	}
}

func TestDivergenceNamesStepAndLayer(t *testing.T) {
	model, err := nn.Build("linear(8) relu linear(2)", []int{2}, nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Fit(context.Background(), model, newBlobs(64, 1), Config{Epochs: 2, BatchSize: 8,
		Optimizer: optim.SGD(nn.Parameters(model), optim.LR(1e30))})
	var d *DivergedError
	if !errors.As(err, &d) {
		t.Fatalf("err = %v, want a DivergedError", err)
	}
	if d.Step < 1 || d.Layer == "" {
		t.Fatalf("diverged error %+v: want the step and the layer", d)
	}
}

func TestEarlyStoppingRestoresBest(t *testing.T) {
	model := buildModel(t, 1)
	var epochs int
	hist, err := Fit(context.Background(), model, newBlobs(64, 1), Config{Epochs: 50, BatchSize: 8, Val: newBlobs(32, 7),
		Optimizer:     optim.SGD(nn.Parameters(model), optim.LR(0.5)),
		EarlyStopping: EarlyStopping{Patience: 2, MinDelta: 1e9}, // nothing counts as improvement after the first epoch
		Callbacks:     []Callback{CallbackFuncs{Epoch: func(EpochStats) { epochs++ }}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || epochs != 3 {
		t.Fatalf("ran %d epochs, want 3 (1 best + patience 2)", len(hist))
	}
	res, err := Evaluate(model, newBlobs(32, 7), EvalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Loss-hist[0].ValLoss) > 1e-6 {
		t.Fatalf("after early stopping, validation loss %v; the best epoch had %v", res.Loss, hist[0].ValLoss)
	}
}

func TestMeter(t *testing.T) {
	var m Meter
	m.Classes, m.K = 3, 2
	logits := tensor.New([]float32{3, 1, 0, 0, 2, 1, 1, 0, 2, 5, 4, 0}, 4, 3)
	m.Add(0.5, logits, []int{0, 2, 1, 1})
	// Predictions 0, 1, 2, 0 against 0, 2, 1, 1: one right; the truth is
	// in the top two for rows 0, 1 and 3.
	if m.Accuracy() != 0.25 {
		t.Fatalf("accuracy %v, want 0.25", m.Accuracy())
	}
	if m.TopK() != 0.75 {
		t.Fatalf("top-2 %v, want 0.75", m.TopK())
	}
	if m.Loss() != 0.5 || m.Confusion()[1][2] != 1 || m.Confusion()[1][0] != 1 {
		t.Fatalf("loss %v, confusion %v", m.Loss(), m.Confusion())
	}
}

// TestEarlyStoppingSurvivesResume stops a run with early stopping after
// its best epoch, resumes it from the checkpoint and checks that the
// restored weights are the best epoch's, as in an uninterrupted run.
func TestEarlyStoppingSurvivesResume(t *testing.T) {
	cfg := func(epochs int, dir string, resume *Checkpoint, model nn.Module) Config {
		return Config{Epochs: epochs, BatchSize: 8, Val: newBlobs(32, 7), OutDir: dir, Resume: resume,
			Optimizer:     optim.SGD(nn.Parameters(model), optim.LR(0.5)),
			EarlyStopping: EarlyStopping{Patience: 2, MinDelta: 1e9}}
	}
	straight := buildModel(t, 1)
	if _, err := Fit(context.Background(), straight, newBlobs(64, 1), cfg(50, t.TempDir(), nil, straight)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first := buildModel(t, 1)
	if _, err := Fit(context.Background(), first, newBlobs(64, 1), cfg(2, dir, nil, first)); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.BestModel) == 0 {
		t.Fatal("the checkpoint holds no best weights")
	}
	resumed := buildModel(t, 1)
	hist, err := Fit(context.Background(), resumed, newBlobs(64, 1), cfg(50, t.TempDir(), ck, resumed))
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 {
		t.Fatalf("resumed run ended after %d epochs, want 3", len(hist))
	}
	want, got := nn.StateDict(straight), nn.StateDict(resumed)
	for k, w := range want {
		for i, v := range w.Data() {
			if got[k].Data()[i] != v {
				t.Fatalf("%s[%d] = %v after resuming, %v straight", k, i, got[k].Data()[i], v)
			}
		}
	}
}
