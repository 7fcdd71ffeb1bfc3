package nn

import (
	"fmt"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// MaxPool2dModule takes the maximum over each window of a [N, C, H, W]
// input, as torch.nn.MaxPool2d. Make one with [MaxPool2d].
type MaxPool2dModule struct {
	Params ag.PoolParams
}

// AvgPool2dModule averages each window of a [N, C, H, W] input, as
// torch.nn.AvgPool2d. Make one with [AvgPool2d].
type AvgPool2dModule struct {
	Params ag.PoolParams
}

// MaxPool2d returns a k×k max-pooling layer. The stride defaults to k.
// Options: Stride, Padding, Dilation, CeilMode. It panics on parameters
// PyTorch refuses (padding over half the kernel, for one).
func MaxPool2d(k int, opts ...Option) *MaxPool2dModule {
	c := newConfig("MaxPool2d", []string{"Stride", "Padding", "Dilation", "CeilMode"}, opts)
	p := poolParams(k, c)
	if err := checkPool(p); err != nil {
		panic("nn.MaxPool2d: " + err.Error())
	}
	return &MaxPool2dModule{Params: p}
}

// AvgPool2d returns a k×k average-pooling layer. The stride defaults to k
// and, as in PyTorch, padding counts in the divisor unless
// CountIncludePad(false) is given. Options: Stride, Padding, CeilMode,
// CountIncludePad.
func AvgPool2d(k int, opts ...Option) *AvgPool2dModule {
	c := newConfig("AvgPool2d", []string{"Stride", "Padding", "CeilMode", "CountIncludePad"}, opts)
	p := poolParams(k, c)
	p.CountIncludePad = c.countIncPad
	if err := checkPool(p); err != nil {
		panic("nn.AvgPool2d: " + err.Error())
	}
	return &AvgPool2dModule{Params: p}
}

func poolParams(k int, c *config) ag.PoolParams {
	s := k
	if c.has("Stride") {
		s = c.stride
	}
	return ag.PoolParams{Kernel: [2]int{k, k}, Stride: [2]int{s, s}, Padding: [2]int{c.padding, c.padding},
		Dilation: [2]int{c.dilation, c.dilation}, CeilMode: c.ceilMode}
}

func checkPool(p ag.PoolParams) error {
	for i := range 2 {
		switch {
		case p.Kernel[i] < 1:
			return fmt.Errorf("kernel size %d must be positive", p.Kernel[i])
		case p.Stride[i] < 1:
			return fmt.Errorf("stride %d must be positive", p.Stride[i])
		case p.Padding[i] < 0 || 2*p.Padding[i] > p.Kernel[i]:
			return fmt.Errorf("padding %d must be between 0 and half the kernel size %d", p.Padding[i], p.Kernel[i])
		case p.Dilation[i] < 1:
			return fmt.Errorf("dilation %d must be positive", p.Dilation[i])
		}
	}
	return nil
}

// poolOutputShape maps [C, H, W] (or [H, W]) to the pooled shape.
func poolOutputShape(what string, p ag.PoolParams, in []int) ([]int, error) {
	if len(in) != 3 && len(in) != 2 {
		return nil, fmt.Errorf("%s needs input [C, H, W], got %v", what, in)
	}
	if err := checkPool(p); err != nil {
		return nil, err
	}
	out := append([]int{}, in...)
	r := len(in)
	for i := range 2 {
		d := max(p.Dilation[i], 1)
		out[r-2+i] = tensor.PoolOutSize(in[r-2+i], p.Kernel[i], p.Stride[i], p.Padding[i], d, p.CeilMode)
		if out[r-2+i] < 1 {
			return nil, fmt.Errorf("input %v is too small for a %dx%d %s window: output would be empty", in, p.Kernel[0], p.Kernel[1], what)
		}
	}
	return out, nil
}

func poolSpec(name string, p ag.PoolParams, avg bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s(%d", name, p.Kernel[0])
	if p.Stride[0] != p.Kernel[0] {
		fmt.Fprintf(&b, ",stride=%d", p.Stride[0])
	}
	if p.Padding[0] != 0 {
		fmt.Fprintf(&b, ",pad=%d", p.Padding[0])
	}
	if !avg && max(p.Dilation[0], 1) != 1 {
		fmt.Fprintf(&b, ",dilation=%d", p.Dilation[0])
	}
	if p.CeilMode {
		b.WriteString(",ceil=1")
	}
	if avg && !p.CountIncludePad {
		b.WriteString(",include_pad=0")
	}
	b.WriteString(")")
	return b.String()
}

// Forward pools x [N, C, H, W].
func (l *MaxPool2dModule) Forward(x *ag.Value) *ag.Value { return ag.MaxPool2d(x, l.Params) }

// OutputShape maps [C, H, W] to [C, H', W'].
func (l *MaxPool2dModule) OutputShape(in []int) ([]int, error) {
	return poolOutputShape("max pooling", l.Params, in)
}

// Spec returns "maxpool(K,...)" with the options that differ from the
// defaults.
func (l *MaxPool2dModule) Spec() string { return poolSpec("maxpool", l.Params, false) }

// String describes the layer as PyTorch prints it.
func (l *MaxPool2dModule) String() string {
	p := l.Params
	return fmt.Sprintf("MaxPool2d(kernel_size=%d, stride=%d, padding=%d, dilation=%d, ceil_mode=%t)",
		p.Kernel[0], p.Stride[0], p.Padding[0], max(p.Dilation[0], 1), p.CeilMode)
}

// Forward pools x [N, C, H, W].
func (l *AvgPool2dModule) Forward(x *ag.Value) *ag.Value { return ag.AvgPool2d(x, l.Params) }

// OutputShape maps [C, H, W] to [C, H', W'].
func (l *AvgPool2dModule) OutputShape(in []int) ([]int, error) {
	return poolOutputShape("average pooling", l.Params, in)
}

// Spec returns "avgpool(K,...)" with the options that differ from the
// defaults.
func (l *AvgPool2dModule) Spec() string { return poolSpec("avgpool", l.Params, true) }

// String describes the layer as PyTorch prints it.
func (l *AvgPool2dModule) String() string {
	p := l.Params
	return fmt.Sprintf("AvgPool2d(kernel_size=%d, stride=%d, padding=%d, ceil_mode=%t, count_include_pad=%t)",
		p.Kernel[0], p.Stride[0], p.Padding[0], p.CeilMode, p.CountIncludePad)
}

// GlobalAvgPool2dModule averages each channel over its whole plane,
// mapping [N, C, H, W] to [N, C], like Keras's GlobalAveragePooling2D (and
// PyTorch's AdaptiveAvgPool2d(1) followed by Flatten). Make one with
// [GlobalAvgPool2d].
type GlobalAvgPool2dModule struct{}

// GlobalAvgPool2d returns a global average-pooling layer.
func GlobalAvgPool2d() *GlobalAvgPool2dModule { return &GlobalAvgPool2dModule{} }

// Forward averages x [N, C, H, W] over H and W.
func (*GlobalAvgPool2dModule) Forward(x *ag.Value) *ag.Value {
	if x.Data.Dims() != 4 {
		panic(fmt.Sprintf("nn.GlobalAvgPool2d: input %v must be [N, C, H, W]", x.Shape()))
	}
	return ag.MeanDims(x, []int{2, 3}, false)
}

// OutputShape maps [C, H, W] to [C].
func (*GlobalAvgPool2dModule) OutputShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("global average pooling needs input [C, H, W], got %v", in)
	}
	return []int{in[0]}, nil
}

// Spec returns "globalavgpool".
func (*GlobalAvgPool2dModule) Spec() string { return "globalavgpool" }

// String describes the layer.
func (*GlobalAvgPool2dModule) String() string { return "GlobalAvgPool2d()" }
