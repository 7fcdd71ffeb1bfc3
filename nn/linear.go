package nn

import (
	"fmt"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// LinearModule applies y = x·Wᵀ + b over the last dimension of its input,
// as torch.nn.Linear. Make one with [Linear].
type LinearModule struct {
	In, Out int
	// Weight has shape [Out, In]; Bias [Out], or nil without a bias.
	Weight, Bias *ag.Value
}

// Linear returns a fully connected layer from in to out features, with
// PyTorch's default initialisation (U(-1/√in, 1/√in) for weight and bias).
// Options: NoBias, WithRNG, Seed.
func Linear(in, out int, opts ...Option) *LinearModule {
	c := newConfig("Linear", []string{"NoBias"}, opts)
	if in < 0 || out < 0 {
		panic(fmt.Sprintf("nn.Linear: negative size (in %d, out %d)", in, out))
	}
	l := &LinearModule{In: in, Out: out, Weight: ag.Param(tensor.Zeros(out, in))}
	var b *tensor.Tensor
	if !c.noBias {
		b = tensor.Zeros(out)
		l.Bias = ag.Param(b)
	}
	defaultLinearInit(l.Weight.Data, b, c.rng)
	return l
}

// Forward returns x·Wᵀ + b for x of shape [..., In].
func (l *LinearModule) Forward(x *ag.Value) *ag.Value { return ag.Linear(x, l.Weight, l.Bias) }

// LocalParameters returns weight and bias (when there is one).
func (l *LinearModule) LocalParameters() []NamedValue {
	return params("weight", l.Weight, "bias", l.Bias)
}

// OutputShape replaces the last dimension, which must be In, by Out.
func (l *LinearModule) OutputShape(in []int) ([]int, error) {
	if len(in) == 0 || in[len(in)-1] != l.In {
		return nil, fmt.Errorf("linear layer with %d inputs cannot take input of shape %v", l.In, in)
	}
	out := append([]int{}, in...)
	out[len(out)-1] = l.Out
	return out, nil
}

// Spec returns "linear(OUT)", with ",bias=0" when there is no bias.
func (l *LinearModule) Spec() string {
	if l.Bias == nil {
		return fmt.Sprintf("linear(%d,bias=0)", l.Out)
	}
	return fmt.Sprintf("linear(%d)", l.Out)
}

// String describes the layer as PyTorch prints it.
func (l *LinearModule) String() string {
	return fmt.Sprintf("Linear(in_features=%d, out_features=%d, bias=%t)", l.In, l.Out, l.Bias != nil)
}

// params lists name/value pairs, leaving out nil values (a missing bias).
func params(pairs ...any) []NamedValue {
	var out []NamedValue
	for i := 0; i < len(pairs); i += 2 {
		if v, _ := pairs[i+1].(*ag.Value); v != nil {
			out = append(out, NamedValue{pairs[i].(string), v})
		}
	}
	return out
}
