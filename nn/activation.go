package nn

import (
	"fmt"
	"strconv"

	ag "github.com/backprop-go/backprop/autograd"
)

// Activation layers: each wraps the autograd function of the same name so
// that it can sit in a Sequential. None has parameters; all keep their
// input's shape.

// sameShape gives a layer the OutputShape of an element-wise function.
type sameShape struct{}

// OutputShape returns the input shape: the function is element-wise.
func (sameShape) OutputShape(in []int) ([]int, error) { return append([]int{}, in...), nil }

// ReLUModule is max(x, 0). Make one with [ReLU].
type ReLUModule struct{ sameShape }

// ReLU returns a ReLU layer.
func ReLU() *ReLUModule { return &ReLUModule{} }

// Forward returns max(x, 0).
func (*ReLUModule) Forward(x *ag.Value) *ag.Value { return ag.ReLU(x) }

// Spec returns "relu".
func (*ReLUModule) Spec() string { return "relu" }

// String returns "ReLU()".
func (*ReLUModule) String() string { return "ReLU()" }

// LeakyReLUModule is x for x > 0 and Slope·x otherwise. Make one with
// [LeakyReLU].
type LeakyReLUModule struct {
	Slope float32
	sameShape
}

// LeakyReLU returns a leaky ReLU with the given negative slope (PyTorch's
// default is 0.01).
func LeakyReLU(slope float32) *LeakyReLUModule { return &LeakyReLUModule{Slope: slope} }

// Forward applies the leaky ReLU.
func (l *LeakyReLUModule) Forward(x *ag.Value) *ag.Value { return ag.LeakyReLU(x, l.Slope) }

// Spec returns "leakyrelu(SLOPE)", or "leakyrelu" for the default 0.01.
func (l *LeakyReLUModule) Spec() string {
	if l.Slope == 0.01 {
		return "leakyrelu"
	}
	return "leakyrelu(" + formatFloat(l.Slope) + ")"
}

// String describes the layer as PyTorch prints it.
func (l *LeakyReLUModule) String() string {
	return "LeakyReLU(negative_slope=" + formatFloat(l.Slope) + ")"
}

// TanhModule is tanh(x). Make one with [Tanh].
type TanhModule struct{ sameShape }

// Tanh returns a tanh layer.
func Tanh() *TanhModule { return &TanhModule{} }

// Forward returns tanh(x).
func (*TanhModule) Forward(x *ag.Value) *ag.Value { return ag.Tanh(x) }

// Spec returns "tanh".
func (*TanhModule) Spec() string { return "tanh" }

// String returns "Tanh()".
func (*TanhModule) String() string { return "Tanh()" }

// SigmoidModule is 1/(1+e^-x). Make one with [Sigmoid].
type SigmoidModule struct{ sameShape }

// Sigmoid returns a sigmoid layer.
func Sigmoid() *SigmoidModule { return &SigmoidModule{} }

// Forward returns σ(x).
func (*SigmoidModule) Forward(x *ag.Value) *ag.Value { return ag.Sigmoid(x) }

// Spec returns "sigmoid".
func (*SigmoidModule) Spec() string { return "sigmoid" }

// String returns "Sigmoid()".
func (*SigmoidModule) String() string { return "Sigmoid()" }

// GELUModule is x·Φ(x), or its tanh approximation when Approximate is
// set. Make one with [GELU].
type GELUModule struct {
	Approximate bool
	sameShape
}

// GELU returns a GELU layer with the exact (erf) form, PyTorch's default.
func GELU() *GELUModule { return &GELUModule{} }

// Forward applies GELU.
func (l *GELUModule) Forward(x *ag.Value) *ag.Value { return ag.GELU(x, l.Approximate) }

// Spec returns "gelu", or "gelu(tanh=1)" for the approximation.
func (l *GELUModule) Spec() string {
	if l.Approximate {
		return "gelu(tanh=1)"
	}
	return "gelu"
}

// String describes the layer as PyTorch prints it.
func (l *GELUModule) String() string {
	if l.Approximate {
		return "GELU(approximate='tanh')"
	}
	return "GELU(approximate='none')"
}

// SiLUModule is x·σ(x). Make one with [SiLU].
type SiLUModule struct{ sameShape }

// SiLU returns a SiLU (swish) layer.
func SiLU() *SiLUModule { return &SiLUModule{} }

// Forward returns x·σ(x).
func (*SiLUModule) Forward(x *ag.Value) *ag.Value { return ag.SiLU(x) }

// Spec returns "silu".
func (*SiLUModule) Spec() string { return "silu" }

// String returns "SiLU()".
func (*SiLUModule) String() string { return "SiLU()" }

// ELUModule is x for x > 0 and Alpha·(e^x - 1) otherwise. Make one with
// [ELU].
type ELUModule struct {
	Alpha float32
	sameShape
}

// ELU returns an ELU layer (PyTorch's default alpha is 1).
func ELU(alpha float32) *ELUModule { return &ELUModule{Alpha: alpha} }

// Forward applies ELU.
func (l *ELUModule) Forward(x *ag.Value) *ag.Value { return ag.ELU(x, l.Alpha) }

// Spec returns "elu", or "elu(ALPHA)" when alpha is not 1.
func (l *ELUModule) Spec() string {
	if l.Alpha == 1 {
		return "elu"
	}
	return "elu(" + formatFloat(l.Alpha) + ")"
}

// String describes the layer as PyTorch prints it.
func (l *ELUModule) String() string { return "ELU(alpha=" + formatFloat(l.Alpha) + ")" }

// SoftplusModule is log(1+e^(Beta·x))/Beta, linear above Threshold. Make
// one with [Softplus].
type SoftplusModule struct {
	Beta, Threshold float32
	sameShape
}

// Softplus returns a softplus layer with PyTorch's defaults (beta 1,
// threshold 20).
func Softplus() *SoftplusModule { return &SoftplusModule{Beta: 1, Threshold: 20} }

// Forward applies softplus.
func (l *SoftplusModule) Forward(x *ag.Value) *ag.Value {
	return ag.Softplus(x, l.Beta, l.Threshold)
}

// Spec returns "softplus" with beta and threshold when not the defaults.
func (l *SoftplusModule) Spec() string {
	var a []string
	if l.Beta != 1 {
		a = append(a, "beta="+formatFloat(l.Beta))
	}
	if l.Threshold != 20 {
		a = append(a, "threshold="+formatFloat(l.Threshold))
	}
	return withArgs("softplus", a...)
}

// String describes the layer as PyTorch prints it.
func (l *SoftplusModule) String() string {
	return "Softplus(beta=" + formatFloat(l.Beta) + ", threshold=" + formatFloat(l.Threshold) + ")"
}

// SoftmaxModule is e^x/Σe^x along Dim. Make one with [Softmax].
type SoftmaxModule struct {
	// Dim counts the batch dimension, as in PyTorch: 1 is the class
	// dimension of [N, C] and [N, C, H, W]; negative counts from the end.
	Dim int
}

// Softmax returns a softmax layer over dim (1 for class scores).
func Softmax(dim int) *SoftmaxModule { return &SoftmaxModule{Dim: dim} }

// Forward returns the softmax of x along Dim.
func (l *SoftmaxModule) Forward(x *ag.Value) *ag.Value { return ag.Softmax(x, l.Dim) }

// OutputShape checks Dim against the input's rank and returns its shape.
func (l *SoftmaxModule) OutputShape(in []int) ([]int, error) { return checkDim("softmax", l.Dim, in) }

// Spec returns "softmax", or "softmax(dim=D)" when Dim is not 1.
func (l *SoftmaxModule) Spec() string { return dimSpec("softmax", l.Dim) }

// String describes the layer as PyTorch prints it.
func (l *SoftmaxModule) String() string { return "Softmax(dim=" + strconv.Itoa(l.Dim) + ")" }

// LogSoftmaxModule is x - log Σe^x along Dim, computed stably. Make one
// with [LogSoftmax].
type LogSoftmaxModule struct {
	// Dim is as SoftmaxModule's.
	Dim int
}

// LogSoftmax returns a log-softmax layer over dim (1 for class scores).
func LogSoftmax(dim int) *LogSoftmaxModule { return &LogSoftmaxModule{Dim: dim} }

// Forward returns the log-softmax of x along Dim.
func (l *LogSoftmaxModule) Forward(x *ag.Value) *ag.Value { return ag.LogSoftmax(x, l.Dim) }

// OutputShape checks Dim against the input's rank and returns its shape.
func (l *LogSoftmaxModule) OutputShape(in []int) ([]int, error) {
	return checkDim("logsoftmax", l.Dim, in)
}

// Spec returns "logsoftmax", or "logsoftmax(dim=D)" when Dim is not 1.
func (l *LogSoftmaxModule) Spec() string { return dimSpec("logsoftmax", l.Dim) }

// String describes the layer as PyTorch prints it.
func (l *LogSoftmaxModule) String() string { return "LogSoftmax(dim=" + strconv.Itoa(l.Dim) + ")" }

// checkDim checks a dimension that counts the batch against a sample
// shape.
func checkDim(what string, dim int, in []int) ([]int, error) {
	r := len(in) + 1
	if dim < -r || dim >= r {
		return nil, fmt.Errorf("%s over dimension %d of a [N, %v...] input, which has %d dimensions", what, dim, in, r)
	}
	return append([]int{}, in...), nil
}

func dimSpec(name string, dim int) string {
	if dim == 1 {
		return name
	}
	return name + "(dim=" + strconv.Itoa(dim) + ")"
}

// formatFloat writes v in the shortest form that reads back as the same
// float32.
func formatFloat(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

// FlattenModule joins all dimensions after the batch into one, as
// torch.nn.Flatten() (start_dim 1). Make one with [Flatten].
type FlattenModule struct{}

// Flatten returns a flatten layer.
func Flatten() *FlattenModule { return &FlattenModule{} }

// Forward reshapes x [N, ...] to [N, rest].
func (*FlattenModule) Forward(x *ag.Value) *ag.Value { return ag.Flatten(x) }

// OutputShape returns [product of the input's dimensions].
func (*FlattenModule) OutputShape(in []int) ([]int, error) {
	n := 1
	for _, s := range in {
		n *= s
	}
	return []int{n}, nil
}

// Spec returns "flatten".
func (*FlattenModule) Spec() string { return "flatten" }

// String returns "Flatten()".
func (*FlattenModule) String() string { return "Flatten(start_dim=1, end_dim=-1)" }

// FuncModule wraps a function without parameters as a layer, like Keras's
// Lambda. Make one with [Func].
type FuncModule struct {
	Name string
	F    func(*ag.Value) *ag.Value
}

// Func returns a layer that applies f; name shows in summaries.
func Func(name string, f func(*ag.Value) *ag.Value) *FuncModule { return &FuncModule{name, f} }

// Forward returns F(x).
func (l *FuncModule) Forward(x *ag.Value) *ag.Value { return l.F(x) }

// String returns the name.
func (l *FuncModule) String() string { return l.Name }
