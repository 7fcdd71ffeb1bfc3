package train

import (
	"context"
	"math"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
)

// TestScheduleScalesEachGroup trains with two parameter groups of
// different learning rates under a cosine schedule: each group's rate must
// follow the schedule from its own base, and a resumed run must keep both.
func TestScheduleScalesEachGroup(t *testing.T) {
	model := buildModel(t, 1)
	decay, noDecay := optim.SplitDecay(nn.Parameters(model))
	newOpt := func() optim.Optimizer {
		return optim.SGD(optim.Groups(
			optim.ParamGroup(decay, optim.LR(0.1)),
			optim.ParamGroup(noDecay, optim.LR(0.02)),
		), optim.Momentum(0.9))
	}
	cosine, err := optim.CosineAnnealingLR(4, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen [][]float64
	opt := newOpt()
	hook := func(_ context.Context, _ UpdateInfo) error {
		seen = append(seen, optim.GroupLRs(opt))
		return nil
	}
	dir := t.TempDir()
	ds := newBlobs(64, 3)
	cfg := Config{Epochs: 2, BatchSize: 32, Seed: 1, Optimizer: opt, Schedule: cosine, OutDir: dir,
		AfterBackward: []GradHook{hook}}
	if _, err := Fit(context.Background(), model, ds, cfg); err != nil {
		t.Fatal(err)
	}
	want := func(base float64, epoch int) float64 { return cosine(base, epoch) }
	for i, lrs := range seen {
		epoch := i / 2 // two updates an epoch
		if math.Abs(lrs[0]-want(0.1, epoch)) > 1e-12 || math.Abs(lrs[1]-want(0.02, epoch)) > 1e-12 {
			t.Errorf("update %d (epoch %d): group rates %v, want %v and %v", i, epoch+1, lrs, want(0.1, epoch), want(0.02, epoch))
		}
	}
	if len(seen) != 4 {
		t.Fatalf("%d updates, want 4", len(seen))
	}

	// Resume for two more epochs: the bases come from the checkpoint, not
	// from the (already scheduled) rates of a fresh optimiser.
	ck, err := LoadCheckpoint(dir + "/" + CheckpointFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.BaseLRs) != 2 || ck.BaseLRs[0] != 0.1 || ck.BaseLRs[1] != 0.02 {
		t.Fatalf("checkpoint base rates %v, want [0.1 0.02]", ck.BaseLRs)
	}
	model2 := buildModel(t, 1)
	d2, n2 := optim.SplitDecay(nn.Parameters(model2))
	opt2 := optim.SGD(optim.Groups(optim.ParamGroup(d2, optim.LR(0.5)), optim.ParamGroup(n2, optim.LR(0.5))), optim.Momentum(0.9))
	seen = nil
	opt = opt2
	cfg.Optimizer, cfg.Resume, cfg.Epochs = opt2, ck, 4
	if _, err := Fit(context.Background(), model2, ds, cfg); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 4 || math.Abs(seen[0][0]-want(0.1, 2)) > 1e-12 || math.Abs(seen[0][1]-want(0.02, 2)) > 1e-12 {
		t.Errorf("after resuming: rates %v, want epoch 3's %v and %v", seen, want(0.1, 2), want(0.02, 2))
	}
}

// unregistered hides a layer in a field that Children does not list.
type unregistered struct {
	nn.Container
	Body  *nn.LinearModule
	Extra *nn.LinearModule // forgotten: never registered
}

func (u *unregistered) Forward(x *ag.Value) *ag.Value { return u.Extra.Forward(u.Body.Forward(x)) }

func TestFitRefusesUnregisteredParameters(t *testing.T) {
	m := &unregistered{}
	m.Body = nn.Child(&m.Container, "body", nn.Linear(2, 4))
	m.Extra = nn.Linear(4, 2)
	_, err := Fit(context.Background(), m, newBlobs(16, 1), Config{Epochs: 1, Optimizer: optim.SGD(nn.Parameters(m), optim.LR(0.1))})
	if err == nil || !strings.Contains(err.Error(), "Extra") {
		t.Fatalf("Fit: %v, want an error naming the unregistered field Extra", err)
	}
}
