// Package train joins a model, a data set and an optimiser into the
// training loop: forward pass, loss, backward pass, update, repeated over
// epochs, with validation, learning-rate schedules, early stopping,
// checkpoints that survive a crash, resumption that continues bit for bit,
// and per-step and per-epoch callbacks for progress display and dashboards.
//
// Fit is the loop most users want. A manual loop (Forward, loss, ZeroGrad,
// Backward, Step) is just as valid; Fit is written in those same steps.
//
// Errors: Fit returns an error for bad data, a loss that turns NaN or
// infinite (*DivergedError), a checkpoint it cannot write, and
// ErrInterrupted when its context is cancelled (after saving).
package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/dist"
	"github.com/backprop-go/backprop/internal/fsutil"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// ErrInterrupted is returned (wrapped) by Fit when its context is cancelled:
// the step in progress finished and, with an OutDir, a checkpoint was saved.
var ErrInterrupted = errors.New("training interrupted")

// LossFunc computes the mean loss of a batch from the model's output.
type LossFunc func(out *ag.Value, b *data.Batch) *ag.Value

// CrossEntropyLoss is the default loss for classification.
func CrossEntropyLoss(out *ag.Value, b *data.Batch) *ag.Value { return ag.CrossEntropy(out, b.Labels) }

// MSELossFunc is the default loss for regression.
func MSELossFunc(out *ag.Value, b *data.Batch) *ag.Value {
	return ag.MSELoss(out, ag.Const(tensor.Reshape(b.Targets, out.Shape()...)))
}

// Config sets up Fit. Optimizer is required; the rest has defaults.
type Config struct {
	Epochs    int    // total epochs of the run; a resumed run stops at the same one (default 1)
	BatchSize int    // default 64
	Seed      uint64 // seeds shuffling and augmentation
	Loss      LossFunc
	Optimizer optim.Optimizer
	// Schedule, when set, sets the learning rate at the start of each epoch
	// from the base rate (the optimiser's rate when the run started).
	Schedule optim.Schedule
	// StepSchedule, when set, sets the learning rate before each step from
	// the base rate and the global step count (warm-up, one-cycle).
	StepSchedule optim.Schedule
	// ClipNorm, when positive, clips the global gradient norm of each
	// update, after the AfterBackward hooks.
	ClipNorm float64

	// Task chooses the default loss and the figures reported; TaskAuto
	// (the zero value) infers classification or regression from the data
	// set.
	Task Task
	// Step, when set, replaces the default step (ForwardStep(Loss)): for
	// models that are not input→logits. Loss is then unused.
	Step StepFunc
	// AccumulateSteps, when above 1, accumulates the gradients of that
	// many consecutive batches (micro-batches) into each optimiser update,
	// each batch's loss weighted by its share of the samples, so that an
	// update equals one of a batch AccumulateSteps times the size, up to
	// float rounding (for models without batch statistics). Groups start
	// afresh each epoch; the last one of an epoch may be shorter.
	// Schedules, Step counts, checkpoints and interruptions go by updates.
	AccumulateSteps int
	// AfterBackward hooks run in order before each update, after its
	// backward passes and before clipping (see GradHook).
	AfterBackward []GradHook

	Val data.Dataset // validation data, evaluated after each epoch

	// EarlyStopping, when Patience > 0, stops after Patience epochs without
	// improvement of the validation loss (the training loss without Val)
	// by more than MinDelta, and restores the best weights.
	EarlyStopping EarlyStopping

	// OutDir, when set, receives checkpoint.safetensors after each epoch
	// (and every CheckpointEvery steps), metrics.jsonl, and curves.png when
	// Curves is set.
	OutDir string
	// Curves, when set with an OutDir, draws the history into
	// OutDir/curves.png after each epoch (curves.Save from package
	// github.com/backprop-go/backprop/train/curves does; package train
	// does not draw, so that it does not link a plotting library). A
	// failure is a warning.
	Curves          CurvesFunc
	CheckpointEvery int
	// Meta is stored in every checkpoint (architecture, input shape,
	// class names, preprocessing).
	Meta map[string]string

	// Resume continues the run a checkpoint recorded: weights, optimiser
	// state, random state, position, history.
	Resume *Checkpoint

	Callbacks []Callback
	Workers   int // data-loading goroutines (default GOMAXPROCS)

	// Warn receives a line for each problem that does not stop the run,
	// such as a curves plot that could not be drawn; default os.Stderr.
	Warn io.Writer

	// Distributed, when it has more than one replica, makes this Fit one
	// replica of a data-parallel job (see distributed.go): every replica
	// calls Fit with the same model, data and Config; each trains on its
	// shard of every epoch with BatchSize samples per step (the global
	// batch is BatchSize × Size), the gradients are averaged before each
	// update, and only rank 0 writes OutDir. A replica whose Fit returns an
	// error must end the job (Comm.Abort), or the others wait for it.
	Distributed dist.Comm
	// OverlapAllReduce (with Distributed) averages the gradients in
	// buckets of at most BucketBytes (default 256 KiB; a larger
	// parameter makes a bucket of its own), the last layers'
	// first, each handed to a communication goroutine as soon as the
	// backward pass has finished its gradients, so that the all-reduce
	// runs while the first layers' are computed (DistributedDataParallel's
	// overlap). The sums are added in the same order either way: the
	// weights are bit-identical with and without.
	OverlapAllReduce bool
	BucketBytes      int
	// SyncBatchNorm (with Distributed) normalises every batch-norm layer
	// with the statistics of the global batch, as PyTorch's
	// SyncBatchNorm, instead of each replica's own (the default, as
	// DistributedDataParallel): two small all-reduces per layer and step,
	// one in the forward, one in the backward.
	SyncBatchNorm bool
}

// EarlyStopping configures Fit's early stopping.
type EarlyStopping struct {
	Patience int
	MinDelta float64
}

// StepInfo describes a finished training step (a batch), for callbacks.
type StepInfo struct {
	Epoch, Batch, Batches, Step int
	Loss                        float32
	BatchAccuracy               float64 // NaN without labels (regression)
	// Updated reports whether the optimiser stepped after this batch:
	// always, unless gradients are accumulated (Config.AccumulateSteps),
	// when only the last batch of each group updates. Step counts updates.
	Updated bool
	LR      float64
	// SamplesPerSecond is over the epoch so far; for a language model the
	// Meter counts tokens, so this is tokens per second.
	SamplesPerSecond float64
	Model            nn.Module
	Meter            *Meter // the epoch's running figures
}

// Callback observes training. OnStep runs after each batch's optimiser
// step, while the gradients are still in place (with gradient
// accumulation, after every batch: see StepInfo.Updated); OnEpoch after
// each epoch's validation.
type Callback interface {
	OnStep(s StepInfo)
	OnEpoch(e EpochStats)
}

// CallbackFuncs adapts functions to Callback; either may be nil.
type CallbackFuncs struct {
	Step  func(StepInfo)
	Epoch func(EpochStats)
}

// OnStep implements Callback.
func (c CallbackFuncs) OnStep(s StepInfo) {
	if c.Step != nil {
		c.Step(s)
	}
}

// OnEpoch implements Callback.
func (c CallbackFuncs) OnEpoch(e EpochStats) {
	if c.Epoch != nil {
		c.Epoch(e)
	}
}

// File names Fit writes in OutDir.
const (
	CheckpointFile = "checkpoint.safetensors"
	MetricsFile    = "metrics.jsonl"
	CurvesFile     = "curves.png"
)

// run is the state of one Fit call.
type run struct {
	cfg     Config
	model   nn.Module
	loader  *data.Loader
	task    Task
	step    StepFunc
	classes int
	ck      Checkpoint // position, history, early stopping
	best    map[string]*tensor.Tensor
	bases   []float64 // each parameter group's base learning rate, which schedules scale
	rep     *replica  // nil but in a data-parallel job
}

// Fit trains model on ds as cfg says and returns the history of the run
// (including epochs done before a resume).
func Fit(ctx context.Context, model nn.Module, ds data.Dataset, cfg Config) (History, error) {
	if cfg.Optimizer == nil {
		return nil, errors.New("train.Fit: Config.Optimizer is required")
	}
	// A parameter the model holds but never registered would get
	// gradients yet be neither optimised nor saved: refuse it up front.
	if err := nn.CheckRegistered(model); err != nil {
		return nil, fmt.Errorf("train.Fit: %w", err)
	}
	if cfg.Epochs < 0 || cfg.BatchSize < 0 || cfg.CheckpointEvery < 0 {
		return nil, fmt.Errorf("train.Fit: Epochs %d, BatchSize %d and CheckpointEvery %d must not be negative (0 means the default)",
			cfg.Epochs, cfg.BatchSize, cfg.CheckpointEvery)
	}
	if cfg.Epochs == 0 {
		cfg.Epochs = 1
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 64
	}
	if cfg.Warn == nil {
		cfg.Warn = os.Stderr
	}
	if cfg.AccumulateSteps < 0 {
		return nil, fmt.Errorf("train.Fit: AccumulateSteps %d must not be negative", cfg.AccumulateSteps)
	}
	task, err := cfg.Task.resolve(ds)
	if err != nil {
		return nil, err
	}
	if err := task.check(ds, cfg.Step); err != nil {
		return nil, fmt.Errorf("train.Fit: %w", err)
	}
	if cfg.Loss == nil {
		cfg.Loss = task.defaultLoss()
	}
	step := cfg.Step
	if step == nil {
		step = ForwardStep(cfg.Loss)
	}
	rep, ctx := newReplica(ctx, &cfg)
	defer rep.close()
	loader, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: cfg.BatchSize, Shuffle: true, Seed: cfg.Seed, Workers: cfg.Workers, Shard: rep.shard()})
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, model: model, loader: loader, task: task, step: step, rep: rep}
	if task == TaskClassification {
		r.classes = len(ds.Classes())
	}
	r.bases = optim.GroupLRs(cfg.Optimizer)
	r.ck.BaseLR = r.bases[0]
	if len(r.bases) > 1 {
		r.ck.BaseLRs = r.bases
	}
	if cfg.Resume != nil {
		if err := r.restore(cfg.Resume); err != nil {
			return nil, err
		}
		// Checkpoints fall between updates; one taken with another
		// AccumulateSteps may fall inside a group of this run's.
		if a := max(cfg.AccumulateSteps, 1); r.ck.Batch%a != 0 {
			return nil, fmt.Errorf("train.Fit: resuming at batch %d of epoch %d, inside a group of AccumulateSteps %d batches; resume with the AccumulateSteps the checkpoint was written with",
				r.ck.Batch, r.ck.Epoch+1, a)
		}
	}
	if err := rep.start(r); err != nil {
		return nil, err
	}
	if cfg.OutDir != "" {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return nil, err
		}
		// A run killed while writing (kill -9, a power cut) leaves its
		// temporary files; nothing else writes these names, so they go.
		if _, err := fsutil.RemoveStaleTemps(cfg.OutDir, CheckpointFile, MetricsFile, CurvesFile); err != nil {
			return nil, fmt.Errorf("train.Fit: %s: %w", cfg.OutDir, err)
		}
	}
	for r.ck.Epoch < cfg.Epochs {
		stop, err := r.epoch(ctx)
		if err != nil {
			return r.ck.History, err
		}
		if stop {
			break
		}
	}
	return r.ck.History, nil
}

// restore loads a checkpoint's state into the model and optimiser.
func (r *run) restore(c *Checkpoint) error {
	if err := nn.LoadStateDict(r.model, c.Model, true); err != nil {
		return fmt.Errorf("resuming: %w", err)
	}
	if err := r.cfg.Optimizer.LoadStateDict(c.Optimizer); err != nil {
		return fmt.Errorf("resuming the optimiser: %w", err)
	}
	if len(c.RNG) > 0 {
		if err := nn.SetRNGState(r.model, c.RNG); err != nil {
			return fmt.Errorf("resuming: %w", err)
		}
	}
	r.ck.Epoch, r.ck.Batch, r.ck.Step = c.Epoch, c.Batch, c.Step
	r.ck.History, r.ck.Partial, r.ck.Best, r.best = c.History, c.Partial, c.Best, c.BestModel
	switch {
	case len(c.BaseLRs) > 0:
		if len(c.BaseLRs) != len(r.bases) {
			return fmt.Errorf("resuming: the checkpoint has %d parameter groups' learning rates, the optimiser %d groups", len(c.BaseLRs), len(r.bases))
		}
		copy(r.bases, c.BaseLRs)
	case c.BaseLR > 0 && len(r.bases) == 1:
		r.bases[0] = c.BaseLR
	}
	r.ck.BaseLR = r.bases[0]
	for g, lr := range r.bases {
		r.cfg.Optimizer.SetGroupLR(g, lr)
	}
	return nil
}

// epoch runs (the rest of) one epoch, validation and the end-of-epoch
// bookkeeping. It reports whether early stopping ended the run.
func (r *run) epoch(ctx context.Context) (stop bool, err error) {
	cfg := r.cfg
	nn.Train(r.model)
	epoch := r.ck.Epoch
	if cfg.Schedule != nil {
		// Each parameter group from its own base rate, as PyTorch's
		// schedulers scale each group's initial_lr.
		optim.ApplySchedule(cfg.Optimizer, cfg.Schedule, r.bases, epoch)
	}
	meter := &Meter{Classes: r.classes}
	p := r.ck.Partial
	meter.samples, meter.lossSum, meter.correct, meter.topK = p.Samples, p.LossSum, p.Correct, p.TopK
	start := time.Now().Add(-time.Duration(r.ck.Partial.Seconds * float64(time.Second)))
	batches := r.loader.NumBatches()
	params := nn.Parameters(r.model)
	accum := max(cfg.AccumulateSteps, 1)
	mt := &metrics{task: r.task, m: meter}
	for b, err := range r.loader.EpochFrom(epoch, r.ck.Batch) {
		if err != nil {
			return false, err
		}
		first := b.Number%accum == 0                             // the group's first micro-batch: gradients start from zero
		last := (b.Number+1)%accum == 0 || b.Number+1 == batches // its last: the update
		if first && cfg.StepSchedule != nil {
			optim.ApplySchedule(cfg.Optimizer, cfg.StepSchedule, r.bases, r.ck.Step)
		}
		so, err := r.step(ctx, r.model, b)
		if err != nil {
			return false, fmt.Errorf("train.Fit: epoch %d, batch %d: %w", epoch+1, b.Number+1, err)
		}
		if so.Loss == nil || so.Loss.Data.Size() != 1 {
			return false, fmt.Errorf("train.Fit: epoch %d, batch %d: the step returned no scalar loss", epoch+1, b.Number+1)
		}
		loss := so.Loss.Item()
		before := meter.correct
		labelled := mt.record(loss, so, b) // before the backward pass releases the output's data
		if first {
			cfg.Optimizer.ZeroGrad()
		}
		root := so.Loss
		if accum > 1 {
			// Each micro-batch's mean loss weighted by its share of the
			// group's samples: the gradients add up to those of the mean
			// loss over the whole group.
			root = ag.MulScalar(so.Loss, float32(b.Len())/float32(r.groupSamples(b.Number, accum)))
		}
		r.rep.backward(root, last, params)
		if err := checkFinite(loss, epoch+1, r.ck.Step+1); err != nil {
			err.(*DivergedError).Layer = firstNonFinite(r.model)
			return false, err
		}
		if last {
			if err := r.update(ctx, epoch, b.Number, accum, params); err != nil {
				return false, err
			}
		}
		r.ck.Batch = b.Number + 1
		elapsed := time.Since(start).Seconds()
		r.ck.Partial = PartialEpoch{Samples: meter.samples, LossSum: meter.lossSum, Correct: meter.correct, TopK: meter.topK, Seconds: elapsed}
		info := StepInfo{Epoch: epoch + 1, Batch: b.Number + 1, Batches: batches, Step: r.ck.Step, Loss: loss,
			BatchAccuracy: math.NaN(), Updated: last, LR: cfg.Optimizer.LR(), SamplesPerSecond: float64(meter.samples) / max(elapsed, 1e-9),
			Model: r.model, Meter: meter}
		if labelled > 0 {
			info.BatchAccuracy = float64(meter.correct-before) / float64(labelled)
		}
		for _, c := range cfg.Callbacks {
			c.OnStep(info)
		}
		// Checkpoints and interruptions fall between updates only: the
		// gradients of a group half accumulated are not saved.
		if !last {
			continue
		}
		if cfg.OutDir != "" && cfg.CheckpointEvery > 0 && r.ck.Step%cfg.CheckpointEvery == 0 && r.ck.Batch < batches {
			if err := r.save(); err != nil {
				return false, err
			}
		}
		if ctx.Err() != nil && r.ck.Batch < batches {
			if cfg.OutDir != "" {
				if err := r.save(); err != nil {
					return false, err
				}
			}
			return false, fmt.Errorf("%w at epoch %d, step %d", ErrInterrupted, epoch+1, r.ck.Step)
		}
	}
	if err := r.rep.endEpoch(meter, r.model); err != nil {
		return false, err
	}
	stats := EpochStats{Epoch: epoch + 1, Step: r.ck.Step, TrainLoss: meter.Loss(), LR: cfg.Optimizer.LR(),
		Seconds: time.Since(start).Seconds()}
	stats.SamplesPerSecond = float64(meter.samples) / max(stats.Seconds, 1e-9)
	if r.classes > 0 {
		stats.TrainAccuracy, stats.TrainTop5 = meter.Accuracy(), meter.TopK()
	}
	if r.task == TaskLanguageModel {
		stats.TrainPerplexity, stats.TrainBitsPerToken = finiteOrZero(Perplexity(stats.TrainLoss)), finiteOrZero(BitsPerToken(stats.TrainLoss))
	}
	monitored := stats.TrainLoss
	if cfg.Val != nil {
		res, err := Evaluate(r.model, cfg.Val, EvalConfig{BatchSize: cfg.BatchSize, Loss: cfg.Loss, Workers: cfg.Workers, Task: r.task, Step: cfg.Step})
		if err != nil {
			return false, fmt.Errorf("validation: %w", err)
		}
		stats.HasVal, stats.ValLoss, monitored = true, res.Loss, res.Loss
		if r.classes > 0 {
			stats.ValAccuracy, stats.ValTop5 = res.Accuracy, res.TopK
		}
		if r.task == TaskLanguageModel {
			stats.ValPerplexity, stats.ValBitsPerToken = finiteOrZero(res.Perplexity), finiteOrZero(res.BitsPerToken)
		}
		nn.Train(r.model)
	}
	r.ck.History = append(r.ck.History, stats)
	r.ck.Epoch, r.ck.Batch, r.ck.Partial = epoch+1, 0, PartialEpoch{}
	stop = r.earlyStop(monitored)
	if cfg.OutDir != "" {
		if err := r.save(); err != nil {
			return false, err
		}
		if err := r.ck.History.SaveJSONL(filepath.Join(cfg.OutDir, MetricsFile)); err != nil {
			return false, err
		}
		// The plot is a view of metrics.jsonl: failing to draw it (a loss
		// too large for an axis, say) must not stop the run.
		if cfg.Curves != nil {
			if err := cfg.Curves(r.ck.History, filepath.Join(cfg.OutDir, CurvesFile)); err != nil {
				fmt.Fprintf(cfg.Warn, "warning: %s not updated: %v\n", CurvesFile, err)
			}
		}
	}
	for _, c := range cfg.Callbacks {
		c.OnEpoch(stats)
	}
	if ctx.Err() != nil && !stop && r.ck.Epoch < cfg.Epochs {
		return false, fmt.Errorf("%w after epoch %d", ErrInterrupted, epoch+1)
	}
	return stop, nil
}

// update ends a group of micro-batches: the AfterBackward hooks, gradient
// clipping, the optimiser step.
func (r *run) update(ctx context.Context, epoch, number, accum int, params []*ag.Value) error {
	cfg := r.cfg
	if len(cfg.AfterBackward) > 0 {
		g0 := number - number%accum
		u := UpdateInfo{Epoch: epoch + 1, Step: r.ck.Step + 1, MicroBatches: number - g0 + 1,
			Samples: r.groupSamples(number, accum), Model: r.model, Params: params}
		for _, h := range cfg.AfterBackward {
			if err := h(ctx, u); err != nil {
				return fmt.Errorf("train.Fit: epoch %d, step %d: AfterBackward: %w", epoch+1, r.ck.Step+1, err)
			}
		}
	}
	if cfg.ClipNorm > 0 {
		optim.ClipGradNorm(params, cfg.ClipNorm, 2)
	}
	cfg.Optimizer.Step()
	r.ck.Step++
	return nil
}

// groupSamples returns the number of samples in the group of accum
// micro-batches that batch number belongs to (the last batch of an epoch
// may be partial, and so may its group).
func (r *run) groupSamples(number, accum int) int {
	n, bs := r.loader.EpochLen(), r.loader.Config().BatchSize
	g0 := number - number%accum
	g1 := min(g0+accum, r.loader.NumBatches())
	return min(g1*bs, n) - g0*bs
}

// earlyStop updates early stopping's state with this epoch's monitored
// value, keeps a copy of the best weights, and restores them when patience
// runs out.
func (r *run) earlyStop(v float64) bool {
	es := r.cfg.EarlyStopping
	if es.Patience <= 0 {
		return false
	}
	b := &r.ck.Best
	if !b.Set || v < b.Value-es.MinDelta {
		*b = BestState{Value: v, Epoch: r.ck.Epoch, Set: true}
		r.best = cloneState(nn.StateDict(r.model))
		return false
	}
	b.Bad++
	if b.Bad < es.Patience {
		return false
	}
	if r.best != nil {
		if err := nn.LoadStateDict(r.model, r.best, true); err != nil {
			panic(err) // the model's own state always fits it
		}
	}
	return true
}

func cloneState(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	out := make(map[string]*tensor.Tensor, len(sd))
	for k, v := range sd {
		out[k] = v.Clone()
	}
	return out
}

// save writes the checkpoint of the run's current position. The output
// directory is created again first when it has gone (deleted by hand
// mid-run), so that the run keeps its progress rather than failing.
func (r *run) save() error {
	if err := os.MkdirAll(r.cfg.OutDir, 0o755); err != nil {
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	rng, err := nn.RNGState(r.model)
	if err != nil {
		return err
	}
	c := r.ck
	c.Model, c.Optimizer, c.Meta, c.RNG = nn.StateDict(r.model), r.cfg.Optimizer.StateDict(), r.cfg.Meta, rng
	c.BestModel = r.best
	return c.Save(filepath.Join(r.cfg.OutDir, CheckpointFile))
}

// firstNonFinite names the first parameter (in state_dict order) whose
// value or gradient holds a NaN or an infinity.
func firstNonFinite(m nn.Module) string {
	bad := func(t *tensor.Tensor) bool {
		if t == nil {
			return false
		}
		for _, v := range t.Data() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return true
			}
		}
		return false
	}
	for _, p := range nn.NamedParameters(m) {
		if bad(p.Value.Data) || bad(p.Value.Grad) {
			return p.Name
		}
	}
	return ""
}
