package train

import (
	"context"
	"errors"
	"fmt"
	"math"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// Task says what a model is trained for. It chooses the default loss and
// the figures Fit and Evaluate report.
type Task int

const (
	// TaskAuto infers the task from the data set, as Fit always did:
	// classification when it has classes, regression otherwise.
	TaskAuto Task = iota
	// TaskClassification reports accuracy, top-k accuracy and a confusion
	// matrix; the default loss is cross-entropy.
	TaskClassification
	// TaskRegression reports MSE, MAE and R² (Evaluate); the default loss
	// is the mean squared error.
	TaskRegression
	// TaskLanguageModel reports perplexity and bits per token from the
	// mean cross-entropy per token, and next-token accuracy. The loss is
	// averaged over tokens: a step returns the logits as StepOutput.Output,
	// [N, vocabulary] for N predicted tokens or a sequence's
	// [N, vocabulary, T], and the target token ids as an Int64
	// StepOutput.Targets ([N] or [N, T], from Batch.Ints): what
	// ag.CrossEntropyT takes. It needs a Config.Step (or EvalConfig.Step),
	// such as NextTokenStep: there is no default input→logits step for
	// token sequences.
	TaskLanguageModel
)

// String returns the task's name.
func (t Task) String() string {
	switch t {
	case TaskAuto:
		return "auto"
	case TaskClassification:
		return "classification"
	case TaskRegression:
		return "regression"
	case TaskLanguageModel:
		return "language-model"
	}
	return fmt.Sprintf("Task(%d)", int(t))
}

// resolve returns the task t stands for on ds.
func (t Task) resolve(ds data.Dataset) (Task, error) {
	switch t {
	case TaskAuto:
		if ds.Classes() == nil {
			return TaskRegression, nil
		}
		return TaskClassification, nil
	case TaskClassification, TaskRegression, TaskLanguageModel:
		return t, nil
	}
	return t, fmt.Errorf("train: unknown task %d", int(t))
}

// check reports a task that the default step cannot train on ds: the
// default step reads the data set's own labels or targets.
func (t Task) check(ds data.Dataset, step StepFunc) error {
	if step != nil {
		return nil
	}
	switch {
	case t == TaskLanguageModel:
		return errors.New("TaskLanguageModel needs a Step that returns the logits of the tokens and their targets")
	case t == TaskRegression && ds.TargetSize() == 0:
		return errors.New("TaskRegression on a data set without regression targets needs a Step")
	case t == TaskClassification && ds.Classes() == nil:
		return errors.New("TaskClassification on a data set without classes needs a Step")
	}
	return nil
}

// defaultLoss is the loss a task trains with when Config.Loss is nil.
func (t Task) defaultLoss() LossFunc {
	if t == TaskRegression {
		return MSELossFunc
	}
	return CrossEntropyLoss
}

// StepOutput is what a step function computed on a batch.
type StepOutput struct {
	// Loss is the scalar mean loss of the batch (required): Fit runs the
	// backward pass from it.
	Loss *ag.Value
	// Output, when set, is what the metrics are computed from: logits
	// [N, C] for classification and language models (N is the batch size,
	// or the number of predicted tokens), or [N, C, d...] with Int64
	// Targets [N, d...] (a sequence's logits [N, C, T], as the losses take
	// them); predictions of the targets' size for regression. Nil: only
	// the loss is recorded.
	Output *ag.Value
	// Labels are the classes (token ids) of Output's rows [N, C]; nil
	// means Targets when it is an Int64 tensor, else the batch's Labels.
	Labels []int
	// Targets are Output's targets: for regression float ones (nil means
	// the batch's Targets); for classification and language models an
	// Int64 tensor of class (token) ids shaped like Output without its
	// class dimension, the tensor given to ag.CrossEntropyT: each of its
	// elements counts as one sample in the metrics.
	Targets *tensor.Tensor
}

// StepFunc computes a model's loss on a batch: the forward pass of a model
// that is not input→logits (several inputs, a mask, Int64 token ids from
// Batch.Ints, a returned state), and the loss. Fit runs the backward pass
// and the update; Evaluate calls it too, and then a step should feed its
// inputs through ag.NoGraph so that no graph is built (Evaluating says
// when). The returned values must be read before the next call.
type StepFunc func(ctx context.Context, model nn.Module, b *data.Batch) (StepOutput, error)

// ForwardStep returns the step Fit uses by default:
// loss(model.Forward(Const(b.X)), b), with the model's output as the
// metrics' input; under Evaluate the input is ag.NoGraph(b.X).
func ForwardStep(loss LossFunc) StepFunc {
	return func(ctx context.Context, model nn.Module, b *data.Batch) (StepOutput, error) {
		x := ag.Const(b.X)
		if Evaluating(ctx) {
			x = ag.NoGraph(b.X)
		}
		out := model.Forward(x)
		return StepOutput{Loss: loss(out, b), Output: out}, nil
	}
}

// NextTokenStep returns a step for language models: the model takes the
// Int64 token ids of the batch's field input ([N, T]) and returns logits
// [N, T, vocabulary], and the loss is the cross-entropy against the Int64
// field target ([N, T], the next token at each position), averaged over
// the N·T tokens, with opts (label smoothing, ag.IgnoreIndex for padding:
// a negative one, such as the default -100, is also left out of the
// metrics) as ag.CrossEntropyT takes them. The token ids reach the model and the
// loss as Int64 tensors, never as floats. The logits are scored as N·T rows
// of [N·T, vocabulary] (views, no copy), which is the loss of the sequence
// form [N, vocabulary, T] with targets [N, T].
func NextTokenStep(input, target string, opts ...ag.LossOption) StepFunc {
	return func(ctx context.Context, model nn.Module, b *data.Batch) (StepOutput, error) {
		ids, next := b.Int(input), b.Int(target)
		if ids == nil || next == nil {
			return StepOutput{}, fmt.Errorf("train: NextTokenStep: the batch has no integer field %q or %q", input, target)
		}
		if !tensor.EqualShapes(ids.Shape(), next.Shape()) || ids.Dims() != 2 {
			return StepOutput{}, fmt.Errorf("train: NextTokenStep: inputs %v and targets %v, want both [N, T]", ids.Shape(), next.Shape())
		}
		x := ag.Const(ids)
		if Evaluating(ctx) {
			x = ag.NoGraph(ids)
		}
		logits := model.Forward(x)
		if s := logits.Shape(); len(s) != 3 || s[0] != ids.Dim(0) || s[1] != ids.Dim(1) {
			return StepOutput{}, fmt.Errorf("train: NextTokenStep: the model returned logits %v for tokens %v, want [N, T, vocabulary]", s, ids.Shape())
		}
		rows := ag.Reshape(logits, -1, logits.Shape()[2])
		flat := tensor.Reshape(next, -1)
		return StepOutput{Loss: ag.CrossEntropyT(rows, flat, opts...), Output: rows, Targets: flat}, nil
	}
}

type evaluatingKey struct{}

// Evaluating reports whether a StepFunc is being called by Evaluate (no
// backward pass will follow, so no graph is needed) rather than by the
// training loop.
func Evaluating(ctx context.Context) bool { return ctx.Value(evaluatingKey{}) != nil }

// GradHook runs once per optimiser update, after the backward pass of its
// last micro-batch and before gradient clipping and the optimiser step,
// with the update's gradients in the parameters' Grad: the place to
// average gradients across processes, inspect or change them. An error
// stops Fit (nothing is saved: the update is half done).
type GradHook func(ctx context.Context, u UpdateInfo) error

// UpdateInfo describes the optimiser update about to be taken, for
// GradHooks.
type UpdateInfo struct {
	Epoch        int // 1-based
	Step         int // the optimiser step about to be taken, 1-based
	MicroBatches int // batches whose gradients were accumulated into this update
	Samples      int // samples in those batches
	Model        nn.Module
	Params       []*ag.Value // the model's parameters, in state_dict order
}

// CurvesFunc draws the curves of a history into the file at path; see
// Config.Curves. The curves package's Save is one.
type CurvesFunc func(h History, path string) error

// metrics records a task's figures of steps into a Meter (and, for
// Evaluate's regression figures, into regression statistics).
type metrics struct {
	task Task
	m    *Meter
	reg  *regressionStats // nil: not kept
	norm *data.Normalization
}

// record adds a step's figures; it returns the number of labelled rows
// (0 without labels), for the batch accuracy.
func (mt *metrics) record(loss float32, so StepOutput, b *data.Batch) int {
	if so.Output == nil {
		mt.m.AddLoss(loss, b.Len())
		return 0
	}
	if mt.task == TaskRegression {
		mt.m.Add(loss, so.Output.Data, nil)
		targets := so.Targets
		if targets == nil {
			targets = b.Targets
		}
		if mt.reg != nil && targets != nil {
			mt.reg.add(so.Output.Data.Data(), targets.Data(), mt.norm)
		}
		return 0
	}
	labels := so.Labels
	if labels == nil && so.Targets != nil && so.Targets.DType() == tensor.Int64 {
		before := mt.m.samples
		mt.m.AddTargets(loss, so.Output.Data, so.Targets)
		return mt.m.samples - before
	}
	if labels == nil {
		labels = b.Labels
	}
	mt.m.Add(loss, so.Output.Data, labels)
	return len(labels)
}

// Perplexity returns exp(mean cross-entropy per token): the perplexity of a
// language model whose loss is that mean (in nats).
func Perplexity(meanCrossEntropy float64) float64 { return math.Exp(meanCrossEntropy) }

// BitsPerToken returns the mean cross-entropy per token in bits.
func BitsPerToken(meanCrossEntropy float64) float64 { return meanCrossEntropy / math.Ln2 }

// finiteOrZero returns v, or 0 (left out of metrics.jsonl) when v is not
// finite: JSON has no Inf, and a perplexity overflows for losses over 709.
func finiteOrZero(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
