package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// The W-LM recipe: byte-level windows of lmContext+1 bytes, lmBatch of them
// a step, AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1, no dropout;
// the first 90% of the text trains, the last 10% tests.
const (
	lmContext   = 128
	lmBatch     = 32
	lmVocab     = 256
	lmTrainFrac = 0.9
	maxLMSteps  = 1_000_000
	lmEvalBatch = 64
)

// lmGoPackages are the Go standard library packages whose source (without
// tests) is the default text of the lm workload: every machine with Go has
// them, and they are enough text (about 0.4 MB) for a few hundred steps.
var lmGoPackages = []string{"fmt", "strings", "bufio", "sort", "bytes", "strconv", "errors", "io"}

// lmResult is what one lm run measured.
type lmResult struct {
	TokensPerSecond float64
	StepSeconds     float64 // median step
	TestLoss        float64 // nats per byte
	Params          int
}

// goSourceText concatenates the non-test .go files of lmGoPackages under
// the Go root that `go env GOROOT` names (the go command on the PATH), in
// name order.
func goSourceText() ([]byte, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	root := strings.TrimSpace(string(out))
	if err != nil || root == "" {
		return nil, errors.New("no Go installation found (go env GOROOT failed): give a text with --data FILE")
	}
	var text []byte
	for _, pkg := range lmGoPackages {
		dir := filepath.Join(root, "src", pkg)
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("reading the Go source in %s: %v: give a text with --data FILE", dir, err)
		}
		for _, e := range ents { // ReadDir sorts by name
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				return nil, err
			}
			text = append(text, b...)
		}
	}
	return text, nil
}

// benchLM trains the W-LM model kind ("gpt" or "lstm") on text for steps
// batches and returns its speed (the median step, from the sixth on, as the
// PyTorch script measures it) and its test loss.
func benchLM(kind string, text []byte, steps int, seed uint64) (lmResult, error) {
	cut := int(float64(len(text)) * lmTrainFrac)
	trainText, testText := text[:cut], text[cut:]
	if len(trainText) < lmContext+2 || len(testText) < lmContext+1 {
		return lmResult{}, fmt.Errorf("the text has %d bytes: want at least %d, so that both its training 90%% and its test 10%% hold a window of %d bytes",
			len(text), int(math.Ceil((lmContext+1)/(1-lmTrainFrac)))+1, lmContext+1)
	}
	spec, ok := nn.LanguageModelPreset(kind, lmContext, lmVocab)
	if !ok {
		return lmResult{}, usagef("--model %q: want gpt or lstm", kind)
	}
	model, err := nn.Build(spec, []int{lmContext}, nn.Seed(seed))
	if err != nil {
		return lmResult{}, err
	}
	params := nn.Parameters(model)
	opt := optim.AdamW(params, optim.LR(1e-3), optim.Betas(0.9, 0.99), optim.WeightDecay(0.1))
	rng := rand.New(rand.NewPCG(seed, 2))
	ids := make([]int64, lmBatch*lmContext)
	next := make([]int64, lmBatch*lmContext)
	times := make([]float64, 0, steps)
	for range steps {
		for b := range lmBatch {
			off := rng.IntN(len(trainText) - lmContext - 1)
			w := trainText[off : off+lmContext+1]
			for t := range lmContext {
				ids[b*lmContext+t], next[b*lmContext+t] = int64(w[t]), int64(w[t+1])
			}
		}
		start := time.Now()
		logits := model.Forward(ag.Const(tensor.NewInt64(ids, lmBatch, lmContext)))
		loss := ag.CrossEntropyT(ag.Reshape(logits, -1, lmVocab), tensor.NewInt64(next, lmBatch*lmContext))
		opt.ZeroGrad()
		loss.BackwardRelease()
		opt.Step()
		times = append(times, time.Since(start).Seconds())
		if l := loss.Data.Item(); math.IsNaN(float64(l)) {
			return lmResult{}, errors.New("the training loss became NaN")
		}
	}
	skip := min(5, steps-1)
	rest := slices.Clone(times[skip:])
	sort.Float64s(rest)
	med := rest[len(rest)/2]
	n := 0
	for _, p := range params {
		n += p.Data.Size()
	}
	return lmResult{
		TokensPerSecond: lmBatch * lmContext / med, StepSeconds: med,
		TestLoss: lmTestLoss(model, testText), Params: n,
	}, nil
}

// lmTestLoss is the mean cross-entropy in nats per byte of every next byte
// of test, cut into non-overlapping windows of lmContext+1 (stride
// lmContext), the last partial window dropped.
func lmTestLoss(model nn.Module, test []byte) float64 {
	nn.Eval(model)
	defer nn.Train(model)
	n := (len(test) - 1) / lmContext
	var total float64
	for i := 0; i < n; i += lmEvalBatch {
		k := min(lmEvalBatch, n-i)
		ids := make([]int64, k*lmContext)
		next := make([]int64, k*lmContext)
		for j := range k {
			w := test[(i+j)*lmContext : (i+j)*lmContext+lmContext+1]
			for t := range lmContext {
				ids[j*lmContext+t], next[j*lmContext+t] = int64(w[t]), int64(w[t+1])
			}
		}
		logits := model.Forward(ag.NoGraph(tensor.NewInt64(ids, k, lmContext)))
		loss := ag.CrossEntropyT(ag.Reshape(logits, -1, lmVocab), tensor.NewInt64(next, k*lmContext))
		total += float64(loss.Data.Item()) * float64(k*lmContext)
	}
	return total / float64(n*lmContext)
}

// runBenchLM is bench --workload lm: it reads the text (file, or the Go
// source), trains and emits one row.
func runBenchLM(kind, file string, steps, threads int, seed uint64, emit func(map[string]any, string), stderr io.Writer) int {
	if kind != "gpt" && kind != "lstm" {
		return fail(stderr, "bench", usagef("--model %q: want gpt or lstm for --workload lm", kind))
	}
	if steps < 1 || steps > maxLMSteps {
		return fail(stderr, "bench", usagef("--steps %d: want 1 to %d", steps, maxLMSteps))
	}
	var text []byte
	var err error
	if file != "" {
		text, err = os.ReadFile(file)
	} else {
		text, err = goSourceText()
	}
	if err != nil {
		return fail(stderr, "bench", err)
	}
	r, err := benchLM(kind, text, steps, seed)
	if err != nil {
		return fail(stderr, "bench", err)
	}
	emit(map[string]any{"workload": "lm", "model": kind, "threads": threads, "steps": steps,
		"tokens_per_second": round(r.TokensPerSecond, 0), "step_seconds_median": round(r.StepSeconds, 5),
		"test_loss": round(r.TestLoss, 4), "params": r.Params},
		fmt.Sprintf("lm %s T%d: %.0f training tokens/s (median step %.1f ms), test loss %.4f nats per byte after %d steps (%d parameters)",
			kind, threads, r.TokensPerSecond, r.StepSeconds*1e3, r.TestLoss, steps, r.Params))
	return 0
}
