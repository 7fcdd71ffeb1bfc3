package train

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
)

// TestFitTrainsALanguageModelOnText runs the whole text path: a byte-level
// data.Text, a small GPT from nn.GPTSpec, Fit with NextTokenStep and the
// language-model task, and Evaluate's perplexity, which must fall well
// below the 256 of a model that knows nothing.
func TestFitTrainsALanguageModelOnText(t *testing.T) {
	text := bytes.Repeat([]byte("the cat sat on the mat. "), 120)
	splits, err := data.NewText(text, data.TextConfig{Context: 16, TestFraction: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	spec := nn.GPTSpec(nn.GPTConfig{Layers: 1, Dim: 16, Heads: 2, FeedForward: 32, Context: 16, Vocab: 256})
	model, err := nn.Build(spec, splits.Train.Shape(), nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	step := NextTokenStep(data.TextInputField, data.TextTargetField)
	before, err := Evaluate(model, splits.Test, EvalConfig{Task: TaskLanguageModel, Step: step})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Fit(context.Background(), model, splits.Train, Config{
		Epochs: 8, BatchSize: 8, Seed: 1, Task: TaskLanguageModel, Step: step,
		Optimizer: optim.AdamW(nn.Parameters(model), optim.LR(1e-2)),
	})
	if err != nil {
		t.Fatal(err)
	}
	after, err := Evaluate(model, splits.Test, EvalConfig{Task: TaskLanguageModel, Step: step})
	if err != nil {
		t.Fatal(err)
	}
	if !(after.Perplexity < before.Perplexity/4) || math.IsNaN(after.BitsPerToken) {
		t.Fatalf("test perplexity %.2f -> %.2f (bits per byte %.3f): want it to fall at least fourfold", before.Perplexity, after.Perplexity, after.BitsPerToken)
	}
	t.Logf("test perplexity %.2f -> %.2f, %.3f bits per byte", before.Perplexity, after.Perplexity, after.BitsPerToken)
}
