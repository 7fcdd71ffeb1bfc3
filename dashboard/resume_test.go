package dashboard

import (
	"path/filepath"
	"testing"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/train"
)

// TestResumeContinuesTheHistory saves a first part's history and checks
// that a recorder resuming at step 6 keeps what came before it (and only
// that), with the thinning stride replayed.
func TestResumeContinuesTheHistory(t *testing.T) {
	dir := t.TempDir()
	model, err := nn.Build("linear(3)", []int{2}, nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	var first Snapshot
	for step := 1; step <= 8; step++ {
		first.Steps = append(first.Steps, StepPoint{Step: step, Epoch: 1 + (step-1)/4})
		first.Norms = append(first.Norms, NormPoint{Step: step})
	}
	first.Epochs = []train.EpochStats{{Epoch: 1, Step: 4}, {Epoch: 2, Step: 8}}
	if err := Save(filepath.Join(dir, FileName), first); err != nil {
		t.Fatal(err)
	}
	r := NewRecorder(model, "linear(3)", []int{2}, []string{"a", "b", "c"}, nil, dir, Options{PointsPerStride: 2})
	if err := r.continueFrom(filepath.Join(dir, FileName), 6); err != nil {
		t.Fatal(err)
	}
	s, _ := r.Since(Cursor{})
	if len(s.Steps) != 6 || len(s.Norms) != 6 || len(s.Epochs) != 1 {
		t.Fatalf("kept %d steps, %d norms, %d epochs; want 6, 6, 1", len(s.Steps), len(s.Norms), len(s.Epochs))
	}
	// Strides 1 for 2 steps and 2 for 4 more: stride 4 at step 6.
	if r.stride != 4 || r.sinceStride != 0 {
		t.Fatalf("stride %d, since %d; want 4, 0", r.stride, r.sinceStride)
	}
	// Without a dashboard.json (first part trained without --dashboard) the
	// recorder starts empty.
	r2 := NewRecorder(model, "linear(3)", []int{2}, nil, nil, t.TempDir(), Options{})
	if err := r2.continueFrom(filepath.Join(t.TempDir(), FileName), 6); err != nil {
		t.Fatal(err)
	}
}
