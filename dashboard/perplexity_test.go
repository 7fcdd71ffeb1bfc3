package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/train"
)

// lmRun trains a tiny byte-level language model for two epochs with a
// live dashboard and returns it, finished.
func lmRun(t *testing.T) *Live {
	t.Helper()
	splits, err := data.NewText(bytes.Repeat([]byte("the cat sat on the mat. "), 40), data.TextConfig{Context: 8, TestFraction: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	arch := "embedding(256,8) linear(256)"
	model, err := nn.Build(arch, splits.Train.Shape(), nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	live, err := Start(Run{Model: model, Arch: arch, Shape: splits.Train.Shape(), Eval: splits.Test, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.Close() })
	step := train.NextTokenStep(data.TextInputField, data.TextTargetField)
	_, err = train.Fit(context.Background(), model, splits.Train, train.Config{
		Epochs: 2, BatchSize: 8, Seed: 1, Task: train.TaskLanguageModel, Step: step, Val: splits.Test,
		Optimizer: optim.AdamW(nn.Parameters(model), optim.LR(1e-2)), Callbacks: []train.Callback{live}, Workers: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	live.Finish()
	return live
}

// TestRunInfoSaysLanguageModel: the snapshot marks a language model (the
// page then draws perplexity) and no other run.
func TestRunInfoSaysLanguageModel(t *testing.T) {
	live := lmRun(t)
	resp, err := http.Get(live.URL() + "api/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.Run == nil || !s.Run.LanguageModel || len(s.Epochs) != 2 || !s.Epochs[1].HasVal {
		t.Fatalf("run %+v, %d epochs: want a language model with 2 evaluated epochs", s.Run, len(s.Epochs))
	}
	reg, err := nn.Build("linear(1)", []int{3}, nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		classes []string
		eval    data.Dataset
	}{
		{"regression", nil, regressionSet{}},
		{"classifier", []string{"a", "b"}, nil},
	} {
		r := NewRecorder(reg, "", []int{3}, c.classes, c.eval, "", Options{})
		b, err := json.Marshal(r.snap)
		if err != nil {
			t.Fatal(err)
		}
		if r.snap.Run.LanguageModel || strings.Contains(string(b), "languageModel") {
			t.Errorf("%s: marked as a language model: %s", c.name, b)
		}
	}
}

// TestBrowserDashboardDrawsPerplexity: a language model's page shows a
// perplexity chart and figure, e to the loss; a classifier's does not
// (TestBrowserDashboardFollowsTraining counts its charts).
func TestBrowserDashboardDrawsPerplexity(t *testing.T) {
	ctx := browser(t)
	live := lmRun(t)
	within(t, ctx, "loading the dashboard", chromedp.Navigate(live.URL()))
	within(t, ctx, "the end of the run", poll(`document.body.dataset.status === "finished" && +document.body.dataset.epochs === 2`))
	got := within(t, ctx, "reading the page", chromedp.Evaluate[map[string]float64](`(() => {
		const st = window.dashboardState.steps, last = st[st.length - 1];
		return {
			shown: document.getElementById("sec-ppl").style.display === "" ? 1 : 0,
			charts: document.querySelectorAll("#c-ppl .uplot").length,
			figure: parseFloat(document.getElementById("s-ppl").textContent),
			want: Math.exp(last.loss),
		};
	})()`))
	if got["shown"] != 1 || got["charts"] != 1 {
		t.Errorf("perplexity section shown %v with %v charts, want 1 and 1", got["shown"], got["charts"])
	}
	if w := got["want"]; !(w > 1) || got["figure"] < w*0.999 || got["figure"] > w*1.001 {
		t.Errorf("perplexity figure %v, want e^loss = %v", got["figure"], w)
	}
	screenshot(t, ctx, screenshotDir(t), "dashboard-lm.png")
}
