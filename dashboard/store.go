package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/backprop-go/backprop/internal/fsutil"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/train"
)

// Save writes s to path as JSON, atomically, so that a crash mid-write
// leaves the previous file whole.
func Save(path string, s Snapshot) error {
	return fsutil.WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		return json.NewEncoder(w).Encode(s)
	})
}

// Load returns a finished Recorder with what a run saved in its output
// directory dir: dashboard.json when the run had the dashboard on, and
// otherwise the epochs of metrics.jsonl. model, when not nil, is the
// run's model with its trained weights (from the checkpoint): it fills in
// the architecture and the weight histograms that metrics.jsonl lacks.
func Load(dir string, model nn.Module, arch string, shape []int, classes []string) (*Recorder, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err == nil {
		var s Snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Join(dir, FileName), err)
		}
		return fromSnapshot(s), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	hist, err := train.LoadHistory(filepath.Join(dir, train.MetricsFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s has neither %s nor %s: is it the --out directory of a training run?", dir, FileName, train.MetricsFile)
		}
		return nil, err
	}
	s := Snapshot{Epochs: hist}
	if model != nil {
		info := describe(model, arch, shape, classes)
		groups := groupParameters(model)
		for _, g := range groups {
			info.Groups = append(info.Groups, g.name)
		}
		s.Run = &info
		step := 0
		if len(hist) > 0 {
			step = hist[len(hist)-1].Step
		}
		s.Histograms = histograms(groups, step, Options{}.withDefaults().HistogramBins)
	}
	s.EvalNote = "this run was trained without --dashboard: only its epochs and final weights are known"
	return fromSnapshot(s), nil
}
