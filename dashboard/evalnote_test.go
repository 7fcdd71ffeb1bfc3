package dashboard

import (
	"strings"
	"testing"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
)

// TestEvalNoteNamesTheTask: the dashboard says why a run has no confusion
// matrix in the words of its task.
func TestEvalNoteNamesTheTask(t *testing.T) {
	text, err := data.NewText([]byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 40)), data.TextConfig{Context: 8})
	if err != nil {
		t.Fatal(err)
	}
	lm, err := nn.Build("embedding(256,8) linear(256)", []int{8}, nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := nn.Build("linear(1)", []int{3}, nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		model   nn.Module
		shape   []int
		classes []string
		eval    data.Dataset
		want    string
	}{
		{"language model", lm, []int{8}, nil, text.Test, "language model: no confusion matrix"},
		{"regression", reg, []int{3}, nil, regressionSet{}, "regression: no confusion matrix"},
		{"no evaluation data", reg, []int{3}, nil, nil, "no validation or test data"},
		{"classifier", reg, []int{3}, []string{"a"}, nil, "no validation or test data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewRecorder(c.model, "", c.shape, c.classes, c.eval, "", Options{})
			if !strings.HasPrefix(r.snap.EvalNote, c.want) {
				t.Errorf("note %q, want it to start %q", r.snap.EvalNote, c.want)
			}
		})
	}
}

// regressionSet is a data set that is not a text.
type regressionSet struct{ data.Dataset }
