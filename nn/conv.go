package nn

import (
	"fmt"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// Conv2dModule is a 2-D convolution over [N, C, H, W] inputs, as
// torch.nn.Conv2d. Make one with [Conv2d].
type Conv2dModule struct {
	In, Out, Kernel int
	// Params holds stride, padding, dilation (as [h, w] pairs) and groups.
	Params ag.ConvParams
	// Weight has shape [Out, In/Groups, Kernel, Kernel]; Bias [Out], or nil.
	Weight, Bias *ag.Value
}

// Conv2d returns a convolution from in to out channels with a k×k kernel
// and PyTorch's default initialisation (U(-1/√fan_in, 1/√fan_in), fan_in =
// in/groups·k·k, for weight and bias). Options: Stride, Padding, Dilation,
// Groups, NoBias, WithRNG, Seed. It panics on sizes PyTorch refuses
// (groups not dividing in or out, non-positive kernel or stride).
func Conv2d(in, out, k int, opts ...Option) *Conv2dModule {
	c := newConfig("Conv2d", []string{"Stride", "Padding", "Dilation", "Groups", "NoBias"}, opts)
	stride := c.stride
	if !c.has("Stride") {
		stride = 1
	}
	if err := checkConv(in, out, k, stride, c.padding, c.dilation, c.groups); err != nil {
		panic("nn.Conv2d: " + err.Error())
	}
	l := &Conv2dModule{In: in, Out: out, Kernel: k, Params: convParams(stride, c.padding, c.dilation, c.groups),
		Weight: ag.Param(tensor.Zeros(out, in/c.groups, k, k))}
	var b *tensor.Tensor
	if !c.noBias {
		b = tensor.Zeros(out)
		l.Bias = ag.Param(b)
	}
	defaultLinearInit(l.Weight.Data, b, c.rng)
	return l
}

func checkConv(in, out, k, stride, pad, dil, groups int) error {
	switch {
	case in < 1 || out < 1:
		return fmt.Errorf("channels must be positive (in %d, out %d)", in, out)
	case k < 1:
		return fmt.Errorf("kernel size %d must be positive", k)
	case stride < 1:
		return fmt.Errorf("stride %d must be positive", stride)
	case pad < 0:
		return fmt.Errorf("padding %d must not be negative", pad)
	case dil < 1:
		return fmt.Errorf("dilation %d must be positive", dil)
	case groups < 1 || in%groups != 0 || out%groups != 0:
		return fmt.Errorf("groups %d must divide both in channels %d and out channels %d", groups, in, out)
	}
	return nil
}

// Forward convolves x [N, In, H, W].
func (l *Conv2dModule) Forward(x *ag.Value) *ag.Value {
	return ag.Conv2d(x, l.Weight, l.Bias, l.Params)
}

// LocalParameters returns weight and bias (when there is one).
func (l *Conv2dModule) LocalParameters() []NamedValue {
	return params("weight", l.Weight, "bias", l.Bias)
}

// OutputShape maps [In, H, W] to [Out, H', W'].
func (l *Conv2dModule) OutputShape(in []int) ([]int, error) {
	k := l.Weight.Shape()
	return convOutputShape(in, l.In, l.Out, k[2], k[3], l.Params)
}

// convParams are the parameters of a square convolution.
func convParams(stride, pad, dil, groups int) ag.ConvParams {
	return ag.ConvParams{Stride: [2]int{stride, stride}, Padding: [2]int{pad, pad},
		Dilation: [2]int{dil, dil}, Groups: groups}
}

// convOutputShape maps [inCh, H, W] to [out, H', W'] for a kh×kw kernel;
// Conv2dModule.OutputShape and InferShapes share it.
func convOutputShape(in []int, inCh, outCh, kh, kw int, p ag.ConvParams) ([]int, error) {
	if len(in) != 3 || in[0] != inCh {
		return nil, fmt.Errorf("convolution with %d input channels needs input [%d, H, W], got %v", inCh, inCh, in)
	}
	k := [2]int{kh, kw}
	out := []int{outCh, 0, 0}
	for i := range 2 {
		out[1+i] = tensor.ConvOutSize(in[1+i], k[i], max(p.Stride[i], 1), p.Padding[i], max(p.Dilation[i], 1))
		if out[1+i] < 1 {
			return nil, fmt.Errorf("input %v is too small for a %dx%d kernel (dilation %v, padding %v): output would be empty",
				in, kh, kw, p.Dilation, p.Padding)
		}
	}
	return out, nil
}

// Spec returns "conv(OUT,K,...)" with the options that differ from the
// defaults.
func (l *Conv2dModule) Spec() string {
	var b strings.Builder
	fmt.Fprintf(&b, "conv(%d,%d", l.Out, l.Kernel)
	p := l.Params
	if s := max(p.Stride[0], 1); s != 1 {
		fmt.Fprintf(&b, ",stride=%d", s)
	}
	if p.Padding[0] != 0 {
		fmt.Fprintf(&b, ",pad=%d", p.Padding[0])
	}
	if d := max(p.Dilation[0], 1); d != 1 {
		fmt.Fprintf(&b, ",dilation=%d", d)
	}
	if g := max(p.Groups, 1); g != 1 {
		fmt.Fprintf(&b, ",groups=%d", g)
	}
	if l.Bias == nil {
		b.WriteString(",bias=0")
	}
	b.WriteString(")")
	return b.String()
}

// String describes the layer as PyTorch prints it.
func (l *Conv2dModule) String() string {
	p := l.Params
	return fmt.Sprintf("Conv2d(%d, %d, kernel_size=(%d, %d), stride=(%d, %d), padding=(%d, %d), dilation=(%d, %d), groups=%d, bias=%t)",
		l.In, l.Out, l.Kernel, l.Kernel, max(p.Stride[0], 1), max(p.Stride[1], 1), p.Padding[0], p.Padding[1],
		max(p.Dilation[0], 1), max(p.Dilation[1], 1), max(p.Groups, 1), l.Bias != nil)
}
