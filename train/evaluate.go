package train

import (
	"context"
	"fmt"
	"math"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
)

// EvalConfig sets up Evaluate.
type EvalConfig struct {
	BatchSize int      // default 256
	Loss      LossFunc // default: cross-entropy for classification, MSE for regression
	K         int      // top-k accuracy (default 5)
	Workers   int

	// Task chooses the figures, as Config.Task; TaskAuto infers
	// classification or regression from the data set.
	Task Task
	// Step, when set, computes the loss and output of each batch instead
	// of loss(model.Forward(x)), as Config.Step; Loss is then unused. It is
	// called without a graph being built, with a context for which
	// Evaluating reports true.
	Step StepFunc

	// TargetNorm, for regression, is the standardisation of the targets
	// the model was trained on (one channel per target): outputs and
	// targets are mapped back (v·Std + Mean) before MSE, MAE and R² are
	// computed, so that they are in the target's own units. Nil: the
	// figures are in the units the data set gives.
	TargetNorm *data.Normalization
}

// Result holds the figures of an evaluation.
type Result struct {
	Loss     float64 // mean of the loss function, in the units the model was trained in
	Accuracy float64 // NaN for regression
	TopK     float64
	Samples  int

	// Confusion is the confusion matrix (rows: true class, columns:
	// predicted) up to DenseConfusionClasses classes, else nil; Pairs
	// holds its non-zero cells in either case.
	Confusion [][]int
	Pairs     []ConfusionPair

	// Regression only (NaN for classification), in the target's units
	// (see EvalConfig.TargetNorm): mean squared error, mean absolute
	// error, and the coefficient of determination 1 - SSE/SST.
	MSE, MAE, R2 float64

	// Language models only (NaN otherwise): the perplexity and the bits
	// per token of Loss, the mean cross-entropy per token. Accuracy and
	// TopK are then next-token accuracies.
	Perplexity, BitsPerToken float64
}

// Evaluate runs model in evaluation mode (no graph, batch norm on running
// statistics, no dropout) over ds and returns its loss and accuracy, or for
// regression its errors. It leaves the model in evaluation mode.
func Evaluate(model nn.Module, ds data.Dataset, cfg EvalConfig) (Result, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 256
	}
	task, err := cfg.Task.resolve(ds)
	if err != nil {
		return Result{}, err
	}
	if err := task.check(ds, cfg.Step); err != nil {
		return Result{}, fmt.Errorf("train: Evaluate: %w", err)
	}
	regression := task == TaskRegression
	if cfg.Loss == nil {
		cfg.Loss = task.defaultLoss()
	}
	if n := cfg.TargetNorm; n != nil && regression && (len(n.Mean) != ds.TargetSize() || len(n.Std) != ds.TargetSize()) {
		return Result{}, fmt.Errorf("train: Evaluate: target normalisation has %d values for %d targets", len(n.Mean), ds.TargetSize())
	}
	loader, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: cfg.BatchSize, Workers: cfg.Workers})
	if err != nil {
		return Result{}, err
	}
	nn.Eval(model)
	m := &Meter{K: cfg.K, Classes: len(ds.Classes())}
	if task != TaskClassification {
		m.Classes = 0 // no confusion matrix over a vocabulary
	}
	var reg regressionStats
	mt := &metrics{task: task, m: m, reg: &reg, norm: cfg.TargetNorm}
	ctx := context.WithValue(context.Background(), evaluatingKey{}, true)
	for b, err := range loader.Epoch(0) {
		if err != nil {
			return Result{}, err
		}
		if cfg.Step != nil {
			if err := evalStep(ctx, cfg.Step, model, b, mt); err != nil {
				return Result{}, err
			}
			continue
		}
		out := model.Forward(ag.NoGraph(b.X)) // no graph: evaluation only reads the weights
		if regression && out.Data.Size() != b.Targets.Size() {
			return Result{}, fmt.Errorf("train: Evaluate: the model gives %d outputs per sample, the data has %d targets", out.Data.Size()/max(b.Len(), 1), ds.TargetSize())
		}
		if sh := out.Data.Shape(); !regression && (len(sh) != 2 || sh[1] < len(ds.Classes())) {
			return Result{}, fmt.Errorf("train: Evaluate: the model's output has shape %v, the data has %d classes", sh, len(ds.Classes()))
		}
		m.Add(cfg.Loss(out, b).Item(), out.Data, b.Labels)
		if regression {
			reg.add(out.Data.Data(), b.Targets.Data(), cfg.TargetNorm)
		}
	}
	res := Result{Loss: m.Loss(), Accuracy: m.Accuracy(), TopK: m.TopK(), Samples: m.Samples(),
		Confusion: m.Confusion(), Pairs: m.ConfusionPairs(), MSE: math.NaN(), MAE: math.NaN(), R2: math.NaN()}
	res.Perplexity, res.BitsPerToken = math.NaN(), math.NaN()
	if regression {
		res.Accuracy, res.TopK = math.NaN(), math.NaN()
		res.MSE, res.MAE, res.R2 = reg.figures()
	}
	if task == TaskLanguageModel {
		res.Confusion, res.Pairs = nil, nil
		res.Perplexity, res.BitsPerToken = Perplexity(res.Loss), BitsPerToken(res.Loss)
	}
	return res, nil
}

// evalStep runs a custom step on one batch and records its figures. The
// step learns from Evaluating(ctx) that it is evaluating, and should then
// feed its inputs through ag.NoGraph so that no graph is built (a graph it
// builds anyway is correct, only wasted).
func evalStep(ctx context.Context, step StepFunc, model nn.Module, b *data.Batch, mt *metrics) error {
	so, err := step(ctx, model, b)
	if err != nil {
		return fmt.Errorf("train: Evaluate: batch %d: %w", b.Number+1, err)
	}
	if so.Loss == nil || so.Loss.Data.Size() != 1 {
		return fmt.Errorf("train: Evaluate: batch %d: the step returned no scalar loss", b.Number+1)
	}
	mt.record(so.Loss.Item(), so, b)
	return nil
}

// regressionStats accumulates the errors of regression outputs and the
// spread of the targets (Welford's update, so that large targets such as
// prices lose no precision).
type regressionStats struct {
	n        int
	sse, sae float64
	mean, m2 float64 // of the targets
}

// add records outputs and targets of equal length, mapped back to the
// target's units by norm (channel j of a sample of T targets is target j).
func (r *regressionStats) add(out, targets []float32, norm *data.Normalization) {
	t := 1
	if norm != nil {
		t = len(norm.Mean)
	}
	for i := range targets {
		p, y := float64(out[i]), float64(targets[i])
		if norm != nil {
			j := i % t
			s, mu := float64(norm.Std[j]), float64(norm.Mean[j])
			p, y = p*s+mu, y*s+mu
		}
		d := p - y
		r.sse += d * d
		r.sae += math.Abs(d)
		r.n++
		delta := y - r.mean
		r.mean += delta / float64(r.n)
		r.m2 += delta * (y - r.mean)
	}
}

// figures returns MSE, MAE and R² (NaN when undefined: no samples, or
// constant targets for R²).
func (r *regressionStats) figures() (mse, mae, r2 float64) {
	if r.n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	mse, mae = r.sse/float64(r.n), r.sae/float64(r.n)
	r2 = math.NaN()
	if r.m2 > 0 {
		r2 = 1 - r.sse/r.m2
	}
	return mse, mae, r2
}
