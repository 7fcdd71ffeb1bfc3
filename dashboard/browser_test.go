package dashboard

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/backprop-go/backprop/dashboard/playground"
	"github.com/backprop-go/backprop/explain"
	"github.com/backprop-go/backprop/train"
)

// chromium returns the browser to test with: $BACKPROP_CHROMIUM, or the
// first of the usual names on the PATH.
func chromium() string {
	if p := os.Getenv("BACKPROP_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts headless Chromium for one test and returns its context.
// The flags are those that keep Chromium from reaching out to the network
// (this machine has none) and from needing a sandbox or a GPU.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip("no Chromium found (install Debian's chromium, or set BACKPROP_CHROMIUM): skipping the browser test")
	}
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Cleanups run last-in first-out: the browser stops before its
	// profile directory is removed.
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000)); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// screenshotDir is where the browser tests save their screenshots.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("BACKPROP_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// within runs a browser action with a deadline, so that a broken page
// fails the test instead of hanging it.
func within[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second))
}

// gate holds training at one step until released, so that the test can
// look at the page in the middle of a run without depending on timing.
type gate struct {
	at      int
	reached chan struct{}
	release chan struct{}
}

func (g gate) OnStep(s train.StepInfo) {
	if s.Step == g.at {
		close(g.reached)
		<-g.release
	}
}
func (gate) OnEpoch(train.EpochStats) {}

func TestBrowserDashboardFollowsTraining(t *testing.T) {
	ctx := browser(t)
	model := tinyModel(t)
	live, err := Start(Run{Model: model, Arch: "flatten linear(16) relu linear(3)", Shape: []int{1, 8, 8},
		Classes: stripes{}.Classes(), Eval: stripes{n: 90, seed: 2}, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	g := gate{at: 20, reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { // 15 steps per epoch
		_, err := fitErr(model, 6, 240, live, g)
		done <- err
	}()
	<-g.reached

	within(t, ctx, "loading the dashboard", chromedp.Navigate(live.URL()))
	within(t, ctx, "the first points", poll(`+document.body.dataset.steps >= 20 && +document.body.dataset.epochs >= 1`))
	before := within(t, ctx, "reading the points", chromedp.Evaluate[int](`window.dashboardState.steps.length`))
	// The uPlot chart must hold the same points as the state.
	plotted := within(t, ctx, "reading the chart", chromedp.Evaluate[int](`document.querySelectorAll("#c-loss .uplot").length`))
	if plotted != 1 || before != 20 {
		t.Fatalf("before: %d loss charts, %d points (want 1 and 20)", plotted, before)
	}
	close(g.release)
	within(t, ctx, "new points while training goes on", poll(`+document.body.dataset.steps > 20`))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	live.Finish()
	within(t, ctx, "the end of the run", poll(`document.body.dataset.status === "finished" && +document.body.dataset.epochs === 6`))
	after := within(t, ctx, "reading the points", chromedp.Evaluate[int](`window.dashboardState.steps.length`))
	if after != 90 {
		t.Errorf("after training: %d step points, want 90", after)
	}
	counts := within(t, ctx, "reading the panels", chromedp.Evaluate[map[string]int](`({
		charts: document.querySelectorAll(".uplot").length,
		boxes: document.querySelectorAll("#arch .box").length,
		hists: document.querySelectorAll("#hists canvas").length,
		cells: document.querySelectorAll("#confusion td").length,
		images: document.querySelectorAll("#images img").length,
	})`))
	want := map[string]int{"charts": 6, "boxes": 5, "hists": 2, "cells": 9, "images": 32}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d, want %d", k, counts[k], v)
		}
	}
	screenshot(t, ctx, screenshotDir(t), "dashboard.png")
}

func TestBrowserPlaygroundLearnsAndSteps(t *testing.T) {
	ctx := browser(t)
	pg, err := NewPlayground(playground.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen("", NewHandler(nil, pg), io.Discard, "Playground")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	within(t, ctx, "loading the playground", chromedp.Navigate(srv.URL()+"playground"))
	within(t, ctx, "the first drawing", poll(`document.body.dataset.status === "ready" && document.getElementById("boundary").dataset.pixelHash !== ""`))
	hashes := `[document.getElementById("boundary").dataset.hash, document.getElementById("boundary").dataset.pixelHash]`
	before := within(t, ctx, "reading the boundary", chromedp.Evaluate[[]string](hashes))

	within(t, ctx, "pressing Play", chromedp.Click(chromedp.ID("play")))
	within(t, ctx, "training steps", poll(`+document.body.dataset.step >= 100`))
	within(t, ctx, "pressing Pause", chromedp.Click(chromedp.ID("play")))
	within(t, ctx, "pausing", poll(`document.body.dataset.playing === ""`))
	after := within(t, ctx, "reading the boundary", chromedp.Evaluate[[]string](hashes))
	if before[0] == after[0] || before[1] == after[1] {
		t.Errorf("the decision boundary did not change: grid hash %s → %s, pixel hash %s → %s", before[0], after[0], before[1], after[1])
	}
	shots := screenshotDir(t)
	screenshot(t, ctx, shots, "playground-trained.png")

	stages := []struct{ name, caption string }{
		{"forward", "Forward pass:"},
		{"loss", "Prediction and error:"},
		{"backward", "Backward pass:"},
		{"update", "Gradient descent:"},
	}
	step := within(t, ctx, "reading the step", chromedp.Evaluate[int](`+document.body.dataset.step`))
	for i, s := range stages {
		within(t, ctx, "pressing Step", chromedp.Click(chromedp.ID("step")))
		within(t, ctx, "stage "+s.name, poll(`document.body.dataset.stage === "`+s.name+`"`))
		caption := within(t, ctx, "reading the caption", chromedp.Evaluate[string](`document.getElementById("caption").textContent`))
		if !strings.HasPrefix(caption, s.caption) {
			t.Errorf("stage %d (%s): caption %q, want it to start with %q", i+1, s.name, caption, s.caption)
		}
		active := within(t, ctx, "reading the stage bar", chromedp.Evaluate[string](`document.querySelector("#stages .active").textContent`))
		if !strings.HasPrefix(active, string(rune('1'+i))) {
			t.Errorf("stage %s: the highlighted stage is %q", s.name, active)
		}
		screenshot(t, ctx, shots, "playground-"+s.name+".png")
	}
	if got := within(t, ctx, "reading the step", chromedp.Evaluate[int](`+document.body.dataset.step`)); got != step+1 {
		t.Errorf("the four stages took the step count from %d to %d, want one step", step, got)
	}
}

// TestBrowserPlaygroundExplainsOneStep runs backprop explain's network in
// the playground (the catdog data, one photo a step), walks a step to its
// backward pass and points at a weight and a neuron: the details shown
// must be explain's numbers for the same step.
func TestBrowserPlaygroundExplainsOneStep(t *testing.T) {
	ctx := browser(t)
	pg, err := NewPlayground(playground.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen("", NewHandler(nil, pg), io.Discard, "Playground")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	story, err := explain.Run(explain.Config{Steps: 1, LR: 1, Seed: 1, Activation: "tanh"})
	if err != nil {
		t.Fatal(err)
	}
	step := story.Steps[0]
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

	within(t, ctx, "loading the playground", chromedp.Navigate(srv.URL()+"playground"))
	within(t, ctx, "the first drawing", poll(`document.body.dataset.status === "ready"`))
	within(t, ctx, "choosing catdog", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#datasets button")].find((b) => b.textContent === "catdog").click()`))
	within(t, ctx, "the catdog network", poll(`document.body.dataset.status === "ready" && window.playgroundState().config.dataset === "catdog" && window.playgroundState().train.length === 4`))
	shots := screenshotDir(t)

	point := func(kind string, l, j, i int) string {
		spot := within(t, ctx, "locating "+kind, chromedp.Evaluate[map[string]float64](fmt.Sprintf(`window.playgroundSpot(%q, %d, %d, %d)`, kind, l, j, i)))
		within(t, ctx, "pointing at "+kind, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, spot["x"], spot["y"]))
		within(t, ctx, "the details", poll(`document.getElementById("tip").dataset.kind === "`+kind+`" && !document.getElementById("tip").hidden`))
		return within(t, ctx, "reading the details", chromedp.Evaluate[string](`document.getElementById("tip").innerText`))
	}
	for _, stage := range []string{"forward", "loss", "backward"} {
		within(t, ctx, "pressing Step", chromedp.Click(chromedp.ID("step")))
		within(t, ctx, "stage "+stage, poll(`document.body.dataset.stage === "`+stage+`"`))
		if stage == "forward" {
			// Hidden neuron h1 for photo 1: explain's weighted sum and output.
			tip := point("neuron", 1, 0, 0)
			h1 := step.Hidden[0]
			for _, want := range []string{"training point 1", "weighted sum (Σ weight × input + bias): " + num(h1.Sum), "tanh: output " + num(h1.Output)} {
				if !strings.Contains(tip, want) {
					t.Errorf("forward stage, neuron h1: details %q lack %q", tip, want)
				}
			}
			screenshot(t, ctx, shots, "playground-catdog-forward.png")
		}
	}
	// The weight from h1 to the output is explain's w2[h1].
	w := step.Weights[0]
	if w.Name != "w2[h1]" {
		t.Fatalf("explain's first weight is %s, want w2[h1]", w.Name)
	}
	tip := point("edge", 1, 0, 0)
	for _, want := range []string{"value: " + num(w.Old), "gradient: " + num(w.Gradient)} {
		if !strings.Contains(tip, want) {
			t.Errorf("backward stage, w2[h1]: details %q lack %q", tip, want)
		}
	}
	screenshot(t, ctx, shots, "playground-catdog-backward.png")
	within(t, ctx, "pressing Step", chromedp.Click(chromedp.ID("step")))
	within(t, ctx, "stage update", poll(`document.body.dataset.stage === "update"`))
	tip = point("edge", 1, 0, 0)
	if want := "= " + num(w.New); !strings.Contains(tip, want) {
		t.Errorf("update stage, w2[h1]: details %q lack %q", tip, want)
	}
	screenshot(t, ctx, shots, "playground-catdog-update.png")
}

// TestBrowserPlaygroundChoosesAPoint: in a batch of several points,
// clicking one of them on the output plot makes the neurons' details show
// that point's weighted sums and outputs.
func TestBrowserPlaygroundChoosesAPoint(t *testing.T) {
	ctx := browser(t)
	pg, err := NewPlayground(playground.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen("", NewHandler(nil, pg), io.Discard, "Playground")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	within(t, ctx, "loading the playground", chromedp.Navigate(srv.URL()+"playground"))
	within(t, ctx, "the first drawing", poll(`document.body.dataset.status === "ready"`))
	within(t, ctx, "pressing Step", chromedp.Click(chromedp.ID("step")))
	within(t, ctx, "the forward stage", poll(`document.body.dataset.stage === "forward"`))
	const pick = 3 // the fourth point of the batch of 10
	spot := within(t, ctx, "locating the point", chromedp.Evaluate[map[string]float64](fmt.Sprintf(`window.playgroundPointSpot(%d)`, pick)))
	within(t, ctx, "clicking the point", chromedp.MouseClickXY(spot["x"], spot["y"]))
	within(t, ctx, "the point chosen", poll(fmt.Sprintf(`document.body.dataset.focus === "%d"`, pick)))
	want := within(t, ctx, "reading the stage", chromedp.Evaluate[map[string]any](fmt.Sprintf(`({k: window.playgroundState().stage.batch[%d], s: window.playgroundState().stage.pointSums[%d][0][0]})`, pick, pick)))
	n := within(t, ctx, "locating the neuron", chromedp.Evaluate[map[string]float64](`window.playgroundSpot("neuron", 1, 0, 0)`))
	within(t, ctx, "pointing at the neuron", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, n["x"], n["y"]))
	within(t, ctx, "the details", poll(`document.getElementById("tip").dataset.kind === "neuron" && !document.getElementById("tip").hidden`))
	tip := within(t, ctx, "reading the details", chromedp.Evaluate[string](`document.getElementById("tip").innerText`))
	k := int(want["k"].(float64))
	sum := strconv.FormatFloat(want["s"].(float64), 'g', 4, 32)
	for _, w := range []string{fmt.Sprintf("for training point %d ", k+1), "weighted sum (Σ weight × input + bias): " + sum} {
		if !strings.Contains(tip, w) {
			t.Errorf("after choosing batch point %d: details %q lack %q", pick, tip, w)
		}
	}
	screenshot(t, ctx, screenshotDir(t), "playground-chosen-point.png")
}
