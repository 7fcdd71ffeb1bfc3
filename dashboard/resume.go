package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/backprop-go/backprop/train"
)

// continueFrom takes over the history a resumed run's first part saved in
// path (dashboard.json), up to step, so that the charts go on where they
// stopped. A missing file (the first part ran without the dashboard)
// leaves the recorder empty.
func (r *Recorder) continueFrom(path string, step int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snap.Epochs = slices.DeleteFunc(s.Epochs, func(e train.EpochStats) bool { return e.Step > step })
	r.snap.Steps = slices.DeleteFunc(s.Steps, func(p StepPoint) bool { return p.Step > step })
	r.snap.Norms = slices.DeleteFunc(s.Norms, func(p NormPoint) bool { return p.Step > step })
	if r.snap.Epochs == nil {
		r.snap.Epochs = []train.EpochStats{}
	}
	if r.snap.Steps == nil {
		r.snap.Steps = []StepPoint{}
	}
	if r.snap.Norms == nil {
		r.snap.Norms = []NormPoint{}
	}
	// The stride between recorded steps doubles after every
	// PointsPerStride·stride steps; replay that for the steps already done.
	r.stride, r.sinceStride = 1, step
	for r.sinceStride >= r.opts.PointsPerStride*r.stride {
		r.sinceStride -= r.opts.PointsPerStride * r.stride
		r.stride *= 2
	}
	r.bumpLocked()
	return nil
}
