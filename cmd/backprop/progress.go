package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/backprop-go/backprop/train"
)

// progress shows a bar per epoch (loss, accuracy, throughput, ETA) and a
// line at the end of each epoch with the training and validation figures.
type progress struct {
	w     io.Writer
	quiet bool
	noBar bool // not a terminal: epoch lines only, no bar redrawn in place
	bar   *progressbar.ProgressBar
	epoch int
	last  time.Time
}

func newProgress(w io.Writer, quiet bool) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, quiet: quiet, noBar: !ok || !term.IsTerminal(int(f.Fd()))}
}

// OnStep implements train.Callback.
func (p *progress) OnStep(s train.StepInfo) {
	if p.quiet || p.noBar {
		return
	}
	if p.bar == nil || s.Epoch != p.epoch {
		p.epoch = s.Epoch
		p.bar = progressbar.NewOptions(s.Batches,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(fmt.Sprintf("epoch %d", s.Epoch)),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(24),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
		_ = p.bar.Set(s.Batch - 1)
	}
	if time.Since(p.last) > 100*time.Millisecond || s.Batch == s.Batches {
		desc := fmt.Sprintf("epoch %d  loss %.4f", s.Epoch, s.Meter.Loss())
		if acc := s.Meter.Accuracy(); !math.IsNaN(acc) {
			desc += fmt.Sprintf("  acc %.2f%%", 100*acc)
		}
		desc += fmt.Sprintf("  %.0f samples/s", s.SamplesPerSecond)
		p.bar.Describe(desc)
		p.last = time.Now()
	}
	_ = p.bar.Set(s.Batch)
}

// OnEpoch implements train.Callback.
func (p *progress) OnEpoch(e train.EpochStats) {
	if p.quiet {
		return
	}
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	line := fmt.Sprintf("epoch %d: train loss %.4f", e.Epoch, e.TrainLoss)
	if e.TrainAccuracy > 0 {
		line += fmt.Sprintf(" acc %.2f%%", 100*e.TrainAccuracy)
	}
	if e.HasVal {
		line += fmt.Sprintf(", val loss %.4f", e.ValLoss)
		if e.ValAccuracy > 0 {
			line += fmt.Sprintf(" acc %.2f%%", 100*e.ValAccuracy)
		}
	}
	line += fmt.Sprintf(", lr %.3g, %.1f s (%.0f samples/s)", e.LR, e.Seconds, e.SamplesPerSecond)
	fmt.Fprintln(p.w, line)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Exit()
		p.bar = nil
	}
}
