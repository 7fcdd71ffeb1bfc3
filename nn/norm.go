package nn

import (
	"fmt"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// BatchNormModule normalises each channel of its input with batch
// statistics in training mode and running statistics in evaluation mode,
// as torch.nn.BatchNorm1d and BatchNorm2d. Make one with [BatchNorm1d] or
// [BatchNorm2d].
//
// In training mode each Forward updates the running statistics in place:
// running = (1-Momentum)·running + Momentum·batch, with the unbiased batch
// variance for running_var (the biased one normalises the batch), and adds
// one to num_batches_tracked. This happens for inputs marked
// autograd.NoGraph too (as under torch.no_grad): the mode decides, not the
// graph, so call [Eval] before evaluating.
type BatchNormModule struct {
	NumFeatures int
	// Dims is 1 for BatchNorm1d ([N, C] or [N, C, L] inputs) and 2 for
	// BatchNorm2d ([N, C, H, W]).
	Dims          int
	Eps, Momentum float32
	// Weight and Bias ([C]) are nil without affine parameters.
	Weight, Bias *ag.Value
	// RunningMean and RunningVar ([C]) and NumBatchesTracked (a scalar,
	// float32 here where PyTorch keeps an int64) are nil without running
	// statistics.
	RunningMean, RunningVar, NumBatchesTracked *tensor.Tensor
	// Sync, when not nil, makes the layer a synchronised batch norm in
	// training mode (torch.nn.SyncBatchNorm, autograd.SyncBatchNorm): the
	// batch statistics are those of the global batch of a data-parallel
	// job, Sync summing float64 buffers over its replicas in a fixed
	// order. train.Config.SyncBatchNorm sets it for the run. It is not
	// part of the layer's state or spec.
	Sync func(buf []float64) error
	modeFlag
}

// BatchNorm1d returns batch normalisation over the C channels of [N, C] or
// [N, C, L] inputs: weight 1, bias 0, running mean 0, running variance 1.
// Options: Momentum (default 0.1), Eps (default 1e-5), NoAffine,
// NoRunningStats.
func BatchNorm1d(numFeatures int, opts ...Option) *BatchNormModule {
	return newBatchNorm("BatchNorm1d", 1, numFeatures, opts)
}

// BatchNorm2d returns batch normalisation over the C channels of
// [N, C, H, W] inputs; see BatchNorm1d for the defaults and options.
func BatchNorm2d(numFeatures int, opts ...Option) *BatchNormModule {
	return newBatchNorm("BatchNorm2d", 2, numFeatures, opts)
}

func newBatchNorm(op string, dims, n int, opts []Option) *BatchNormModule {
	c := newConfig(op, []string{"Momentum", "Eps", "NoAffine", "NoRunningStats"}, opts)
	if n < 1 {
		panic(fmt.Sprintf("nn.%s: number of features %d must be positive", op, n))
	}
	l := &BatchNormModule{NumFeatures: n, Dims: dims, Eps: c.eps, Momentum: c.momentum}
	if !c.noAffine {
		l.Weight, l.Bias = ag.Param(tensor.Ones(n)), ag.Param(tensor.Zeros(n))
	}
	if !c.noRunningStats {
		l.RunningMean, l.RunningVar, l.NumBatchesTracked = tensor.Zeros(n), tensor.Ones(n), tensor.Scalar(0)
	}
	return l
}

// checkShape checks a batched input shape, or a sample shape (without
// the batch dimension) when batched is false.
func (l *BatchNormModule) checkShape(in []int, batched bool) error {
	s := in
	if !batched {
		s = append([]int{1}, in...)
	}
	okRank := len(s) == 4
	want := "[N, C, H, W]"
	if l.Dims == 1 {
		okRank = len(s) == 2 || len(s) == 3
		want = "[N, C] or [N, C, L]"
	}
	if !okRank || s[1] != l.NumFeatures {
		if !batched {
			want = strings.ReplaceAll(want, "N, ", "")
		}
		return fmt.Errorf("BatchNorm%dd with C=%d needs input %s, got %v", l.Dims, l.NumFeatures, want, in)
	}
	return nil
}

// Forward normalises x.
func (l *BatchNormModule) Forward(x *ag.Value) *ag.Value {
	if err := l.checkShape(x.Shape(), true); err != nil {
		panic("nn." + err.Error())
	}
	useBatch := l.Training() || l.RunningMean == nil
	if l.Training() && l.NumBatchesTracked != nil {
		l.NumBatchesTracked.Data()[0]++
	}
	if l.Sync != nil && l.Training() {
		return ag.SyncBatchNorm(x, l.Weight, l.Bias, l.RunningMean, l.RunningVar, l.Momentum, l.Eps, l.Sync)
	}
	return ag.BatchNorm(x, l.Weight, l.Bias, l.RunningMean, l.RunningVar, useBatch, l.Momentum, l.Eps)
}

// LocalParameters returns weight and bias (when affine).
func (l *BatchNormModule) LocalParameters() []NamedValue {
	return params("weight", l.Weight, "bias", l.Bias)
}

// LocalBuffers returns running_mean, running_var and num_batches_tracked
// (when tracking running statistics).
func (l *BatchNormModule) LocalBuffers() []NamedTensor {
	if l.RunningMean == nil {
		return nil
	}
	return []NamedTensor{{"running_mean", l.RunningMean}, {"running_var", l.RunningVar},
		{"num_batches_tracked", l.NumBatchesTracked}}
}

// OutputShape checks the input's channels and returns its shape.
func (l *BatchNormModule) OutputShape(in []int) ([]int, error) {
	if err := l.checkShape(in, false); err != nil {
		return nil, err
	}
	return append([]int{}, in...), nil
}

// Spec returns "batchnorm" with the options that differ from the
// defaults, or "" without running statistics (the grammar has no form
// for that).
func (l *BatchNormModule) Spec() string {
	if l.RunningMean == nil {
		return ""
	}
	return withArgs("batchnorm", normArgs(l.Momentum, l.Eps, l.Weight == nil)...)
}

func normArgs(momentum, eps float32, noAffine bool) []string {
	var a []string
	if momentum != 0.1 && momentum != -1 {
		a = append(a, "momentum="+formatFloat(momentum))
	}
	if eps != 1e-5 {
		a = append(a, "eps="+formatFloat(eps))
	}
	if noAffine {
		a = append(a, "affine=0")
	}
	return a
}

// withArgs formats a token: name alone or name(a,b,...).
func withArgs(name string, args ...string) string {
	if len(args) == 0 {
		return name
	}
	return name + "(" + strings.Join(args, ",") + ")"
}

// String describes the layer as PyTorch prints it.
func (l *BatchNormModule) String() string {
	return fmt.Sprintf("BatchNorm%dd(%d, eps=%s, momentum=%s, affine=%t, track_running_stats=%t)",
		l.Dims, l.NumFeatures, formatFloat(l.Eps), formatFloat(l.Momentum), l.Weight != nil, l.RunningMean != nil)
}

// LayerNormModule normalises over the trailing dimensions given by Shape,
// as torch.nn.LayerNorm. Make one with [LayerNorm].
type LayerNormModule struct {
	// Shape is the normalized shape: the input's last len(Shape)
	// dimensions, which must equal it.
	Shape []int
	Eps   float32
	// Weight and Bias have shape Shape; nil without affine parameters
	// (both) or without a bias.
	Weight, Bias *ag.Value
	// allDims records that Build sized Shape to the whole sample, which the
	// spec writes as plain "layernorm".
	allDims bool
}

// LayerNorm returns layer normalisation over the trailing dimensions
// normalizedShape, with weight 1 and bias 0. Options: Eps (default 1e-5),
// NoAffine, NoBias.
func LayerNorm(normalizedShape []int, opts ...Option) *LayerNormModule {
	c := newConfig("LayerNorm", []string{"Eps", "NoAffine", "NoBias"}, opts)
	if len(normalizedShape) == 0 {
		panic("nn.LayerNorm: empty normalized shape")
	}
	for _, s := range normalizedShape {
		if s < 1 {
			panic(fmt.Sprintf("nn.LayerNorm: normalized shape %v has a non-positive size", normalizedShape))
		}
	}
	l := &LayerNormModule{Shape: append([]int{}, normalizedShape...), Eps: c.eps}
	if !c.noAffine {
		l.Weight = ag.Param(tensor.Ones(normalizedShape...))
		if !c.noBias {
			l.Bias = ag.Param(tensor.Zeros(normalizedShape...))
		}
	}
	return l
}

// Forward normalises x over its last len(Shape) dimensions.
func (l *LayerNormModule) Forward(x *ag.Value) *ag.Value {
	return ag.LayerNorm(x, l.Shape, l.Weight, l.Bias, l.Eps)
}

// LocalParameters returns weight and bias (when present).
func (l *LayerNormModule) LocalParameters() []NamedValue {
	return params("weight", l.Weight, "bias", l.Bias)
}

// OutputShape checks that the input ends in Shape and returns it.
func (l *LayerNormModule) OutputShape(in []int) ([]int, error) {
	k := len(l.Shape)
	if k > len(in) || !tensor.EqualShapes(in[len(in)-k:], l.Shape) {
		return nil, fmt.Errorf("layer norm over %v cannot take input of shape %v", l.Shape, in)
	}
	return append([]int{}, in...), nil
}

// Spec returns "layernorm" (all of the sample's dimensions) or
// "layernorm(dims=K)" (the last K), with options that differ from the
// defaults; "" for a LayerNorm with weight but no bias.
func (l *LayerNormModule) Spec() string {
	if l.Weight != nil && l.Bias == nil {
		return ""
	}
	var a []string
	if !l.allDims {
		a = append(a, fmt.Sprintf("dims=%d", len(l.Shape)))
	}
	return withArgs("layernorm", append(a, normArgs(-1, l.Eps, l.Weight == nil)...)...)
}

// String describes the layer as PyTorch prints it.
func (l *LayerNormModule) String() string {
	return fmt.Sprintf("LayerNorm(%v, eps=%s, elementwise_affine=%t)", l.Shape, formatFloat(l.Eps), l.Weight != nil)
}
