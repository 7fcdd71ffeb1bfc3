package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
)

// detModel is a model without dropout or batch statistics, so that a
// batch split into micro-batches computes the same function.
func detModel(t *testing.T) nn.Module {
	t.Helper()
	m, err := nn.Build("linear(8) tanh linear(2)", []int{2}, nn.Seed(3))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAccumulateStepsEqualsLargerBatch trains with batches of 32 and with
// micro-batches of 8 accumulated 4 at a time over 100 samples (so the last
// group is one partial batch of 4, as the last batch of 32 is): the
// weights, step counts and losses agree up to float rounding.
func TestAccumulateStepsEqualsLargerBatch(t *testing.T) {
	type result struct {
		weights []float32
		hist    History
		updates int
		batches int
	}
	fit := func(bs, accum int) result {
		model := detModel(t)
		var r result
		hist, err := Fit(context.Background(), model, newBlobs(100, 4), Config{
			Epochs: 3, BatchSize: bs, Seed: 5, AccumulateSteps: accum, ClipNorm: 0.5,
			Optimizer: optim.SGD(nn.Parameters(model), optim.LR(0.3), optim.Momentum(0.9)),
			Callbacks: []Callback{CallbackFuncs{Step: func(s StepInfo) {
				r.batches++
				if s.Updated {
					r.updates++
				}
			}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range nn.Parameters(model) {
			r.weights = append(r.weights, p.Data.Data()...)
		}
		r.hist = hist
		return r
	}
	big, micro := fit(32, 1), fit(8, 4)
	if big.updates != 12 || micro.updates != 12 || micro.batches != 39 {
		t.Fatalf("updates %d and %d (micro-batches %d), want 12, 12 and 39", big.updates, micro.updates, micro.batches)
	}
	if micro.hist[2].Step != 12 {
		t.Errorf("history counts %d steps, want 12 updates", micro.hist[2].Step)
	}
	changed := false
	for i, w := range big.weights {
		if d := math.Abs(float64(w - micro.weights[i])); d > 1e-5*max(1, math.Abs(float64(w))) {
			t.Fatalf("weight %d: %v with one batch of 32, %v with 4 accumulated micro-batches of 8", i, w, micro.weights[i])
		}
	}
	init := nn.Parameters(detModel(t))[0].Data.Data()
	for i, w := range init {
		changed = changed || w != big.weights[i]
	}
	if !changed {
		t.Fatal("the weights did not move: the comparison proves nothing")
	}
	for e := range big.hist {
		if d := math.Abs(big.hist[e].TrainLoss - micro.hist[e].TrainLoss); d > 1e-5 {
			t.Errorf("epoch %d training loss %v vs %v", e+1, big.hist[e].TrainLoss, micro.hist[e].TrainLoss)
		}
	}
	// AccumulateSteps 1 is the plain loop, bit for bit.
	plain, one := fit(8, 0), fit(8, 1)
	for i := range plain.weights {
		if plain.weights[i] != one.weights[i] {
			t.Fatalf("AccumulateSteps 1 changed weight %d: %v vs %v", i, one.weights[i], plain.weights[i])
		}
	}
}

// TestAfterBackwardRunsBeforeClipping has a hook blow the gradients up a
// millionfold: with clipping after the hooks, SGD without momentum at
// lr 1 still moves the weights by exactly ClipNorm each update.
func TestAfterBackwardRunsBeforeClipping(t *testing.T) {
	model := detModel(t)
	params := nn.Parameters(model)
	var before []float32
	var infos []UpdateInfo
	hook := func(_ context.Context, u UpdateInfo) error {
		infos = append(infos, u)
		before = before[:0]
		for _, p := range u.Params {
			before = append(before, p.Data.Data()...)
			g := p.Grad.Data()
			for i := range g {
				g[i] *= 1e6
			}
		}
		return nil
	}
	moved := 0
	_, err := Fit(context.Background(), model, newBlobs(40, 1), Config{
		Epochs: 1, BatchSize: 10, AccumulateSteps: 2, ClipNorm: 0.25, AfterBackward: []GradHook{hook},
		Optimizer: optim.SGD(params, optim.LR(1)),
		Callbacks: []Callback{CallbackFuncs{Step: func(s StepInfo) {
			if !s.Updated {
				return
			}
			var sq float64
			i := 0
			for _, p := range params {
				for _, w := range p.Data.Data() {
					d := float64(w - before[i])
					sq += d * d
					i++
				}
			}
			if n := math.Sqrt(sq); math.Abs(n-0.25) > 1e-3 {
				t.Errorf("step %d moved the weights by %v, want the clip norm 0.25", s.Step, n)
			}
			moved++
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if moved != 2 || len(infos) != 2 {
		t.Fatalf("%d updates observed, %d hook calls; want 2 and 2", moved, len(infos))
	}
	if u := infos[1]; u.Step != 2 || u.MicroBatches != 2 || u.Samples != 20 || u.Epoch != 1 || len(u.Params) != len(params) {
		t.Errorf("second update info %+v", u)
	}
	// A hook's error stops the run and is returned.
	boom := errors.New("all-reduce failed")
	_, err = Fit(context.Background(), detModel(t), newBlobs(40, 1), Config{
		Optimizer:     optim.SGD(nn.Parameters(detModel(t))),
		AfterBackward: []GradHook{func(context.Context, UpdateInfo) error { return boom }},
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Fit with a failing hook: %v", err)
	}
}

// sequences is a FieldDataset of token sequences following a fixed
// successor table (token k is followed by (3k+1) mod vocab), with Int64 ids
// and next-token targets.
type sequences struct {
	n, seq, vocab int
}

func (d sequences) Len() int          { return d.n }
func (d sequences) Shape() []int      { return []int{1} }
func (d sequences) Classes() []string { return nil }
func (d sequences) TargetSize() int   { return 0 }
func (d sequences) Sample(i int, _ *rand.Rand, x, _ []float32) (int, error) {
	x[0] = 0
	return -1, nil
}
func (d sequences) Fields() []data.Field {
	return []data.Field{{Name: "ids", Int: true, Shape: []int{d.seq}}, {Name: "next", Int: true, Shape: []int{d.seq}}}
}
func (d sequences) SampleFields(i int, rng *rand.Rand, x, t []float32, f data.FieldValues) (int, error) {
	tok := int64(i % d.vocab)
	for j := range d.seq {
		f.Ints["ids"][j] = tok
		tok = (tok*3 + 1) % int64(d.vocab)
		f.Ints["next"][j] = tok
	}
	return d.Sample(i, rng, x, t)
}

// bigramStep is a custom step: the model is an embedding table whose row
// for a token holds the logits of the next one. The Int64 ids [N, T] look
// up logits [N, T, V], turned into the sequence form [N, V, T] that
// ag.CrossEntropyT scores against the Int64 targets [N, T], and that the
// metrics read with those targets.
func bigramStep(ctx context.Context, model nn.Module, b *data.Batch) (StepOutput, error) {
	ids, next := b.Int("ids"), b.Int("next")
	if ids == nil || next == nil {
		return StepOutput{}, errors.New("batch without ids or next")
	}
	w := model.(*nn.EmbeddingModule).Weight
	if Evaluating(ctx) {
		w = ag.Detached(w)
	}
	logits := ag.Permute(ag.EmbeddingT(w, ids, -1), 0, 2, 1)
	return StepOutput{Loss: ag.CrossEntropyT(logits, next), Output: logits, Targets: next}, nil
}

// TestLanguageModelTask trains a bigram model through a custom step on
// integer fields and checks the language-model figures: perplexity and
// bits per token follow from the mean cross-entropy per token, falling
// towards 1 and 0 as the deterministic successor is learnt.
func TestLanguageModelTask(t *testing.T) {
	const vocab = 7
	ds := sequences{n: 64, seq: 5, vocab: vocab}
	model := nn.Embedding(vocab, vocab, nn.Seed(1))
	hist, err := Fit(context.Background(), model, ds, Config{
		Epochs: 8, BatchSize: 16, Task: TaskLanguageModel, Step: bigramStep, Val: ds,
		Optimizer: optim.Adam(nn.Parameters(model), optim.LR(0.3)),
	})
	if err != nil {
		t.Fatal(err)
	}
	first, last := hist[0], hist[len(hist)-1]
	for _, e := range []EpochStats{first, last} {
		if math.Abs(e.TrainPerplexity-math.Exp(e.TrainLoss)) > 1e-9*e.TrainPerplexity ||
			math.Abs(e.ValBitsPerToken-e.ValLoss/math.Ln2) > 1e-12 || e.TrainAccuracy != 0 {
			t.Errorf("epoch %d: %+v: perplexity and bits do not follow from the loss", e.Epoch, e)
		}
	}
	if first.TrainPerplexity < 2 || last.ValPerplexity > 1.2 || last.ValBitsPerToken > 0.3 {
		t.Errorf("perplexity %v → %v (val %v, %v bits): want it to fall from the vocabulary's %d towards 1",
			first.TrainPerplexity, last.TrainPerplexity, last.ValPerplexity, last.ValBitsPerToken, vocab)
	}
	res, err := Evaluate(model, ds, EvalConfig{Task: TaskLanguageModel, Step: bigramStep})
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 64*5 || res.Accuracy != 1 || math.Abs(res.Perplexity-math.Exp(res.Loss)) > 1e-12 || res.Confusion != nil {
		t.Errorf("Evaluate: %d tokens, next-token accuracy %v, perplexity %v for loss %v", res.Samples, res.Accuracy, res.Perplexity, res.Loss)
	}
	if _, err := Fit(context.Background(), model, ds, Config{Task: TaskLanguageModel, Optimizer: optim.SGD(nn.Parameters(model))}); err == nil {
		t.Error("TaskLanguageModel without a Step accepted")
	}
}

// TestNextTokenStep trains the bigram model through NextTokenStep (the
// Int64 ids into nn.Embedding's Forward, logits [N, T, V] scored as rows)
// and through the custom sequence-form step from the same start: the two
// losses are the same function, so the runs agree to float rounding, and
// the model learns the successors. Missing fields and a model of the
// wrong output shape are errors.
func TestNextTokenStep(t *testing.T) {
	const vocab = 7
	ds := sequences{n: 48, seq: 4, vocab: vocab}
	fit := func(step StepFunc) (History, *nn.EmbeddingModule) {
		model := nn.Embedding(vocab, vocab, nn.Seed(4))
		hist, err := Fit(context.Background(), model, ds, Config{
			Epochs: 6, BatchSize: 16, Seed: 3, Task: TaskLanguageModel, Step: step, Val: ds,
			Optimizer: optim.Adam(nn.Parameters(model), optim.LR(0.3)),
		})
		if err != nil {
			t.Fatal(err)
		}
		return hist, model
	}
	rows, mr := fit(NextTokenStep("ids", "next"))
	seq, ms := fit(bigramStep)
	for e := range rows {
		if math.Abs(rows[e].TrainLoss-seq[e].TrainLoss) > 1e-5 || math.Abs(rows[e].ValLoss-seq[e].ValLoss) > 1e-5 {
			t.Errorf("epoch %d: rows losses %v, %v (val); sequence form %v, %v", e+1, rows[e].TrainLoss, rows[e].ValLoss, seq[e].TrainLoss, seq[e].ValLoss)
		}
	}
	for i, w := range mr.Weight.Data.Data() {
		if v := ms.Weight.Data.Data()[i]; math.Abs(float64(w-v)) > 1e-4*max(1, math.Abs(float64(w))) {
			t.Fatalf("weight %d: %v through NextTokenStep, %v through the sequence form", i, w, v)
		}
	}
	if first, last := rows[0], rows[len(rows)-1]; first.TrainPerplexity < 2 || last.ValPerplexity > 1.3 {
		t.Errorf("perplexity %v → %v (val): want it to fall from near the vocabulary's %d towards 1", first.TrainPerplexity, last.ValPerplexity, vocab)
	}
	res, err := Evaluate(mr, ds, EvalConfig{Task: TaskLanguageModel, Step: NextTokenStep("ids", "next")})
	if err != nil || res.Samples != 48*4 || res.Accuracy != 1 {
		t.Errorf("Evaluate: %v, %d tokens, next-token accuracy %v; want %d and 1", err, res.Samples, res.Accuracy, 48*4)
	}
	for _, c := range []struct {
		name  string
		model nn.Module
		step  StepFunc
	}{
		{"missing field", mr, NextTokenStep("ids", "labels")},
		{"output not [N, T, V]", nn.Sequential(nn.Embedding(vocab, 3), nn.Flatten()), NextTokenStep("ids", "next")},
	} {
		if _, err := Evaluate(c.model, ds, EvalConfig{Task: TaskLanguageModel, Step: c.step}); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestStepSeesEvaluating checks that a custom step learns whether it is
// called for training or from Evaluate, and that a step's error stops Fit.
func TestStepSeesEvaluating(t *testing.T) {
	model := detModel(t)
	var train, eval int
	step := func(ctx context.Context, m nn.Module, b *data.Batch) (StepOutput, error) {
		if Evaluating(ctx) {
			eval++
		} else {
			train++
		}
		return ForwardStep(CrossEntropyLoss)(ctx, m, b)
	}
	hist, err := Fit(context.Background(), model, newBlobs(32, 1), Config{
		Epochs: 1, BatchSize: 8, Step: step, Val: newBlobs(16, 2), Optimizer: optim.SGD(nn.Parameters(model), optim.LR(0.1)),
	})
	if err != nil || train != 4 || eval == 0 || hist[0].ValAccuracy == 0 {
		t.Fatalf("Fit: %v; %d training and %d evaluation calls, history %+v", err, train, eval, hist)
	}
	boom := errors.New("bad batch")
	_, err = Fit(context.Background(), model, newBlobs(32, 1), Config{
		Step:      func(context.Context, nn.Module, *data.Batch) (StepOutput, error) { return StepOutput{}, boom },
		Optimizer: optim.SGD(nn.Parameters(model)),
	})
	if !errors.Is(err, boom) {
		t.Fatalf("a failing step: %v", err)
	}
}

// TestAccumulatedResume interrupts a run with AccumulateSteps 2 and resumes
// it: the checkpoint falls between updates and the resumed run ends with
// the weights of an uninterrupted one, bit for bit; resuming inside a
// group of another AccumulateSteps is refused.
func TestAccumulatedResume(t *testing.T) {
	run := func(ctx context.Context, dir string, resume *Checkpoint) (nn.Module, error) {
		model := detModel(t)
		_, err := Fit(ctx, model, newBlobs(64, 1), Config{
			Epochs: 2, BatchSize: 8, Seed: 2, AccumulateSteps: 2, OutDir: dir, Resume: resume,
			Optimizer: optim.Adam(nn.Parameters(model), optim.LR(0.01)),
		})
		return model, err
	}
	solo, err := run(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	model := detModel(t)
	_, err = Fit(ctx, model, newBlobs(64, 1), Config{
		Epochs: 2, BatchSize: 8, Seed: 2, AccumulateSteps: 2, OutDir: dir,
		Optimizer: optim.Adam(nn.Parameters(model), optim.LR(0.01)),
		Callbacks: []Callback{CallbackFuncs{Step: func(s StepInfo) {
			if s.Epoch == 1 && s.Batch == 3 {
				cancel() // inside a group: the run stops after the next update
			}
		}}},
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	ck, err := LoadCheckpoint(dir + "/" + CheckpointFile)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Batch != 4 || ck.Step != 2 {
		t.Fatalf("checkpoint at batch %d, step %d; want batch 4, step 2 (after the group)", ck.Batch, ck.Step)
	}
	resumed, err := run(context.Background(), dir, ck)
	if err != nil {
		t.Fatal(err)
	}
	a, b := nn.Parameters(solo), nn.Parameters(resumed)
	for i := range a {
		for j, v := range a[i].Data.Data() {
			if v != b[i].Data.Data()[j] {
				t.Fatalf("parameter %d[%d]: %v solo, %v resumed", i, j, v, b[i].Data.Data()[j])
			}
		}
	}
	ck.Batch = 3
	m := detModel(t)
	if _, err := Fit(context.Background(), m, newBlobs(64, 1), Config{Epochs: 2, BatchSize: 8, AccumulateSteps: 2, Resume: ck,
		Optimizer: optim.Adam(nn.Parameters(m))}); err == nil {
		t.Error("resuming inside a group accepted")
	}
}
