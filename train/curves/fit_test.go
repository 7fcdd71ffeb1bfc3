package curves_test

import (
	"context"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/train"
	"github.com/backprop-go/backprop/train/curves"
)

// twoClasses is a tiny separable classification set: the sign of x0.
type twoClasses struct{}

func (twoClasses) Len() int          { return 32 }
func (twoClasses) Shape() []int      { return []int{2} }
func (twoClasses) Classes() []string { return []string{"neg", "pos"} }
func (twoClasses) TargetSize() int   { return 0 }
func (twoClasses) Sample(i int, _ *rand.Rand, x, _ []float32) (int, error) {
	x[0], x[1] = float32(i%2*2-1), float32(i%3)
	return i % 2, nil
}

// TestFitDrawsCurvesThroughTheHook is the wiring the command uses: with
// Config.Curves set to Save, Fit leaves a PNG in its output folder.
func TestFitDrawsCurvesThroughTheHook(t *testing.T) {
	dir := t.TempDir()
	model, err := nn.Build("linear(4) tanh linear(2)", []int{2}, nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.Fit(context.Background(), model, twoClasses{}, train.Config{
		Epochs: 2, BatchSize: 8, OutDir: dir, Curves: curves.Save, Val: twoClasses{},
		Optimizer: optim.SGD(nn.Parameters(model), optim.LR(0.1)),
	}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, train.CurvesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width < 100 {
		t.Fatalf("curves.png: %+v, %v; want a PNG", cfg, err)
	}
}

// Fit draws curves.png only through its Curves hook, so that package
// train does not link the plotting library.
func ExampleSave() {
	model, _ := nn.Build("linear(2)", []int{2}, nn.Seed(1))
	_, _ = train.Fit(context.Background(), model, twoClasses{}, train.Config{
		OutDir:    os.TempDir() + "/curves-example",
		Curves:    curves.Save,
		Optimizer: optim.SGD(nn.Parameters(model)),
	})
}
