package train

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/internal/fsutil"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
)

// TestOutDirDeletedMidRun deletes the output folder from a step callback,
// as a user might by hand: the next save recreates it, and the checkpoint,
// metrics and curves all come back with the run's full progress.
func TestOutDirDeletedMidRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	model := buildModel(t, 1)
	deleted := false
	_, err := Fit(context.Background(), model, newBlobs(64, 1), Config{
		Epochs: 2, BatchSize: 16, Seed: 1, OutDir: dir, CheckpointEvery: 2, Curves: fakeCurves,
		Optimizer: optim.SGD(nn.Parameters(model), optim.LR(0.1)),
		Callbacks: []Callback{CallbackFuncs{Step: func(s StepInfo) {
			if s.Step == 5 && !deleted { // after epoch 1 saved its files
				if _, err := os.Stat(filepath.Join(dir, CheckpointFile)); err != nil {
					t.Errorf("before deleting: %v", err)
				}
				if err := os.RemoveAll(dir); err != nil {
					t.Error(err)
				}
				deleted = true
			}
		}}},
	})
	if err != nil {
		t.Fatalf("Fit after the output folder was deleted: %v", err)
	}
	if !deleted {
		t.Fatal("the callback never deleted the folder")
	}
	for _, f := range []string{CheckpointFile, MetricsFile, CurvesFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s did not come back: %v", f, err)
		}
	}
	ck, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 2 || ck.Step != 8 || len(ck.History) != 2 {
		t.Fatalf("checkpoint at epoch %d step %d with %d epochs of history, want epoch 2 step 8 and both epochs", ck.Epoch, ck.Step, len(ck.History))
	}
}

// fakeCurves stands in for curves.Save (which imports this package, so
// that its tests cannot be linked here): it writes the epoch count.
func fakeCurves(h History, path string) error {
	return fsutil.WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%d epochs\n", len(h))
		return err
	})
}

// TestCurvesOnlyThroughTheHook: without Config.Curves no curves.png is
// written; with it, the hook gets the path in OutDir and the history.
func TestCurvesOnlyThroughTheHook(t *testing.T) {
	for _, hook := range []bool{false, true} {
		dir := t.TempDir()
		model := buildModel(t, 1)
		cfg := Config{Epochs: 2, BatchSize: 16, OutDir: dir, Optimizer: optim.SGD(nn.Parameters(model), optim.LR(0.1))}
		if hook {
			cfg.Curves = fakeCurves
		}
		if _, err := Fit(context.Background(), model, newBlobs(32, 1), cfg); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, CurvesFile))
		switch {
		case !hook && err == nil:
			t.Errorf("curves.png written without a Curves hook")
		case hook && string(b) != "2 epochs\n":
			t.Errorf("curves.png %q, %v; want the hook's output for 2 epochs", b, err)
		}
	}
}

// TestStaleTempsRemovedOnStart leaves what kill -9 during a checkpoint
// write leaves and checks that Fit removes only those files.
func TestStaleTempsRemovedOnStart(t *testing.T) {
	dir := t.TempDir()
	stale := []string{".checkpoint.safetensors.tmp2kq1z8", ".metrics.jsonl.tmp9", ".curves.png.tmpabc"}
	keep := []string{"notes.txt", ".checkpoint.safetensors.tmp.keep"}
	for _, n := range append(append([]string(nil), stale...), keep...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	model := buildModel(t, 1)
	if _, err := Fit(context.Background(), model, newBlobs(32, 1), Config{
		Epochs: 1, BatchSize: 16, OutDir: dir, Optimizer: optim.SGD(nn.Parameters(model), optim.LR(0.1)),
	}); err != nil {
		t.Fatal(err)
	}
	for _, n := range stale {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("stale %s still there (%v)", n, err)
		}
	}
	for _, n := range keep {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s, not ours, was removed: %v", n, err)
		}
	}
}

// TestCurvesFailureIsAWarning makes curves.png impossible to write (a
// folder stands in its place): the run must finish, its checkpoint and
// metrics written, with a warning naming the plot.
func TestCurvesFailureIsAWarning(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, CurvesFile, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	model := buildModel(t, 1)
	hist, err := Fit(context.Background(), model, newBlobs(32, 1), Config{
		Epochs: 2, BatchSize: 16, OutDir: dir, Warn: &warn, Curves: fakeCurves, Optimizer: optim.SGD(nn.Parameters(model), optim.LR(0.1)),
	})
	if err != nil || len(hist) != 2 {
		t.Fatalf("Fit: %d epochs, %v; want 2 epochs despite the plot", len(hist), err)
	}
	if !strings.Contains(warn.String(), "warning: "+CurvesFile+" not updated") {
		t.Errorf("warnings %q, want one naming %s", warn.String(), CurvesFile)
	}
	if _, err := os.Stat(filepath.Join(dir, MetricsFile)); err != nil {
		t.Error(err)
	}
}

func TestFitRefusesNegativeCounts(t *testing.T) {
	cases := []Config{{Epochs: -1}, {BatchSize: -1}, {CheckpointEvery: -3}}
	for _, c := range cases {
		model := buildModel(t, 1)
		c.Optimizer = optim.SGD(nn.Parameters(model))
		if _, err := Fit(context.Background(), model, newBlobs(8, 1), c); err == nil || !strings.Contains(err.Error(), "must not be negative") {
			t.Errorf("Fit(%+v): %v, want an error about negative counts", c, err)
		}
	}
}
