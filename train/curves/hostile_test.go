package curves

import (
	"bytes"
	"image/png"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backprop-go/backprop/train"
)

// history returns epochs 1, 2, ... with these training losses, and
// validation losses and accuracies derived from them.
func history(losses ...float64) train.History {
	var h train.History
	for i, v := range losses {
		h = append(h, train.EpochStats{Epoch: i + 1, Step: 10 * (i + 1), TrainLoss: v, TrainAccuracy: 0.5, HasVal: true, ValLoss: v * 2, ValAccuracy: 0.25})
	}
	return h
}

func TestPlotCurvesOfHostileHistories(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		name string
		h    train.History
	}{
		{"none", nil},
		{"one epoch", history(0.7)},
		{"one huge epoch", history(1e38)},
		{"equal values", history(2, 2, 2)},
		{"equal huge values", history(3e38, 3e38, 3e38)},
		{"diverged to 1e38", history(2.3, 40, 1e38, 3.4e38)},
		{"the largest float64", history(math.MaxFloat64, 1)},
		{"a range beyond float64", train.History{{Epoch: 1, TrainLoss: math.MaxFloat64}, {Epoch: 2, TrainLoss: -math.MaxFloat64}}},
		{"+Inf", history(1, inf, 0.5)},
		{"-Inf", history(1, math.Inf(-1))},
		{"NaN", history(nan, 1, nan)},
		{"only NaN", history(nan, nan)},
		{"only Inf", history(inf)},
		{"nearly equal", history(1, 1+1e-15, 1)},
		{"nearly equal and large", history(1e9, 1e9+1e-6)},
		{"tiny", history(5e-324, 0)},
		{"huge epoch numbers", train.History{{Epoch: math.MaxInt, TrainLoss: 1}, {Epoch: math.MaxInt - 1, TrainLoss: 2}}},
		{"one huge epoch number", train.History{{Epoch: math.MaxInt, TrainLoss: 1}}},
		{"accuracy NaN", train.History{{Epoch: 1, TrainLoss: 1, TrainAccuracy: nan, HasVal: true, ValAccuracy: inf}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			done := make(chan error, 1)
			go func() { done <- Plot(tc.h, &buf) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Plot: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Plot did not return in 30 s") // gonum/plot's tick search loops on some ranges
			}
			if _, err := png.DecodeConfig(&buf); err != nil {
				t.Errorf("not a PNG: %v", err)
			}
		})
	}
}

// panicWriter panics on the first write, as a bug inside the plotting
// library would while the PNG is written.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom in the plotting library") }

func TestPlotCurvesRecoversFromPanics(t *testing.T) {
	err := Plot(history(1, 0.5), panicWriter{})
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "drawing curves") {
		t.Fatalf("Plot after a panic: %v", err)
	}
}

func TestSaveCurvesOfADivergedRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), train.CurvesFile)
	if err := Save(history(2.3, 1e38, math.Inf(1), math.NaN()), path); err != nil {
		t.Fatal(err)
	}
}
