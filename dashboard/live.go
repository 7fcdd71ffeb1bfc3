package dashboard

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/train"
)

// Run describes a training run to show live.
type Run struct {
	Addr    string // "" means 127.0.0.1 on a free port
	OutDir  string // where dashboard.json goes ("" for none)
	Model   nn.Module
	Arch    string
	Shape   []int    // one sample's shape
	Classes []string // nil for regression
	Eval    data.Dataset
	Log     io.Writer // where the address is printed
	Options Options
	// ResumeStep, when positive, says the run resumes a checkpoint taken
	// after that many steps: the history in OutDir's dashboard.json up to
	// that step is kept and continued, instead of starting afresh.
	ResumeStep int
}

// Live is a running dashboard of a training run.
type Live struct {
	*Recorder
	srv *Server
	log io.Writer
	dir string
}

var _ train.Callback = (*Live)(nil)

// Start serves the dashboard of run and returns it; give it to train.Fit
// as a callback, and Close it when training is over.
func Start(run Run) (*Live, error) {
	rec := NewRecorder(run.Model, run.Arch, run.Shape, run.Classes, run.Eval, run.OutDir, run.Options)
	if run.ResumeStep > 0 && run.OutDir != "" {
		if err := rec.continueFrom(filepath.Join(run.OutDir, FileName), run.ResumeStep); err != nil {
			return nil, err
		}
	}
	srv, err := Listen(run.Addr, NewHandler(rec, nil), run.Log, "Dashboard")
	if err != nil {
		return nil, err
	}
	return &Live{Recorder: rec, srv: srv, log: run.Log, dir: run.OutDir}, nil
}

// URL returns the dashboard's address.
func (l *Live) URL() string { return l.srv.URL() }

// Close marks the run finished, saves dashboard.json and stops the server.
func (l *Live) Close() {
	l.Finish()
	if l.srv.h.streams.Load() > 0 {
		// Let open pages receive the last event, so that they say the
		// run finished rather than that the server went away.
		time.Sleep(l.srv.h.minPushGap + 100*time.Millisecond)
	}
	l.srv.Close()
	if l.log != nil && l.dir != "" {
		fmt.Fprintf(l.log, "Dashboard closed; reopen it with: backprop dashboard %s\n", l.dir)
	}
}
