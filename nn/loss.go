package nn

import (
	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// The losses are autograd's, re-exported so that a training loop needs
// only this package: nn.CrossEntropy(model.Forward(x), y). Each follows
// the torch.nn.functional function of the same name; see package autograd
// for the details.

// LossOption sets an option of a loss (reduction, label smoothing, ...).
type LossOption = ag.LossOption

// Reduction says how a loss combines per-element values.
type Reduction = ag.Reduction

// The reductions, as PyTorch's reduction="mean", "sum" and "none".
const (
	ReduceMean = ag.ReduceMean
	ReduceSum  = ag.ReduceSum
	ReduceNone = ag.ReduceNone
)

// CrossEntropy is the cross-entropy of logits [N, C] (or [N, C, d...])
// against class indices: LogSoftmax then NLLLoss, fused.
func CrossEntropy(logits *ag.Value, targets []int, opts ...LossOption) *ag.Value {
	return ag.CrossEntropy(logits, targets, opts...)
}

// NLLLoss is the negative log-likelihood of log-probabilities [N, C].
func NLLLoss(logp *ag.Value, targets []int, opts ...LossOption) *ag.Value {
	return ag.NLLLoss(logp, targets, opts...)
}

// MSELoss is the mean squared error.
func MSELoss(input, target *ag.Value, opts ...LossOption) *ag.Value {
	return ag.MSELoss(input, target, opts...)
}

// L1Loss is the mean absolute error.
func L1Loss(input, target *ag.Value, opts ...LossOption) *ag.Value {
	return ag.L1Loss(input, target, opts...)
}

// HuberLoss is quadratic within Delta (default 1) and linear beyond.
func HuberLoss(input, target *ag.Value, opts ...LossOption) *ag.Value {
	return ag.HuberLoss(input, target, opts...)
}

// BCEWithLogits is binary cross-entropy on logits, computed stably.
func BCEWithLogits(input, target *ag.Value, opts ...LossOption) *ag.Value {
	return ag.BCEWithLogits(input, target, opts...)
}

// WithReduction sets how a loss combines per-element values.
func WithReduction(r Reduction) LossOption { return ag.WithReduction(r) }

// LabelSmoothing mixes CrossEntropy's one-hot target with the uniform
// distribution.
func LabelSmoothing(eps float32) LossOption { return ag.LabelSmoothing(eps) }

// IgnoreIndex sets the target class that contributes no loss (default
// -100).
func IgnoreIndex(i int) LossOption { return ag.IgnoreIndex(i) }

// ClassWeights rescales each class's loss.
func ClassWeights(w *tensor.Tensor) LossOption { return ag.ClassWeights(w) }

// PosWeight weights the positive term of BCEWithLogits.
func PosWeight(w *tensor.Tensor) LossOption { return ag.PosWeight(w) }

// Delta sets HuberLoss's threshold.
func Delta(d float32) LossOption { return ag.Delta(d) }
