package nn

import (
	"fmt"
	"math"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// The layers of modern vision networks: group and RMS normalisation,
// adaptive average pooling, the hard activations and mish, transposed
// convolution and upsampling, with their spec tokens.

func init() {
	for _, d := range visionLayers() {
		Register(d)
	}
}

// HardtanhModule limits its input to [Min, Max], as torch.nn.Hardtanh
// (defaults -1 and 1). Make one with [Hardtanh].
type HardtanhModule struct {
	Min, Max float32
	sameShape
}

// Hardtanh returns a layer limiting its input to [min, max].
func Hardtanh(min, max float32) *HardtanhModule {
	if min > max {
		panic(fmt.Sprintf("nn.Hardtanh: min %v above max %v", min, max))
	}
	return &HardtanhModule{Min: min, Max: max}
}

// Forward returns x limited to [Min, Max].
func (l *HardtanhModule) Forward(x *ag.Value) *ag.Value { return ag.Hardtanh(x, l.Min, l.Max) }

// Spec returns "hardtanh" with the bounds that differ from -1 and 1.
func (l *HardtanhModule) Spec() string {
	var a []string
	if l.Min != -1 {
		a = append(a, "min="+formatFloat(l.Min))
	}
	if l.Max != 1 {
		a = append(a, "max="+formatFloat(l.Max))
	}
	return withArgs("hardtanh", a...)
}

// String describes the layer as PyTorch prints it.
func (l *HardtanhModule) String() string {
	return fmt.Sprintf("Hardtanh(min_val=%s, max_val=%s)", formatFloat(l.Min), formatFloat(l.Max))
}

// ReLU6Module is min(max(x, 0), 6), as torch.nn.ReLU6 (MobileNet's
// activation). Make one with [ReLU6].
type ReLU6Module struct{ sameShape }

// ReLU6 returns a ReLU6 layer.
func ReLU6() *ReLU6Module { return &ReLU6Module{} }

// Forward returns min(max(x, 0), 6).
func (*ReLU6Module) Forward(x *ag.Value) *ag.Value { return ag.ReLU6(x) }

// Spec returns "relu6".
func (*ReLU6Module) Spec() string { return "relu6" }

// String returns "ReLU6()".
func (*ReLU6Module) String() string { return "ReLU6()" }

// HardswishModule is x·relu6(x+3)/6, as torch.nn.Hardswish. Make one with
// [Hardswish].
type HardswishModule struct{ sameShape }

// Hardswish returns a hardswish layer.
func Hardswish() *HardswishModule { return &HardswishModule{} }

// Forward applies hardswish.
func (*HardswishModule) Forward(x *ag.Value) *ag.Value { return ag.Hardswish(x) }

// Spec returns "hardswish".
func (*HardswishModule) Spec() string { return "hardswish" }

// String returns "Hardswish()".
func (*HardswishModule) String() string { return "Hardswish()" }

// HardsigmoidModule is relu6(x+3)/6, as torch.nn.Hardsigmoid. Make one
// with [Hardsigmoid].
type HardsigmoidModule struct{ sameShape }

// Hardsigmoid returns a hardsigmoid layer.
func Hardsigmoid() *HardsigmoidModule { return &HardsigmoidModule{} }

// Forward applies hardsigmoid.
func (*HardsigmoidModule) Forward(x *ag.Value) *ag.Value { return ag.Hardsigmoid(x) }

// Spec returns "hardsigmoid".
func (*HardsigmoidModule) Spec() string { return "hardsigmoid" }

// String returns "Hardsigmoid()".
func (*HardsigmoidModule) String() string { return "Hardsigmoid()" }

// MishModule is x·tanh(softplus(x)), as torch.nn.Mish. Make one with
// [Mish].
type MishModule struct{ sameShape }

// Mish returns a mish layer.
func Mish() *MishModule { return &MishModule{} }

// Forward applies mish.
func (*MishModule) Forward(x *ag.Value) *ag.Value { return ag.Mish(x) }

// Spec returns "mish".
func (*MishModule) Spec() string { return "mish" }

// String returns "Mish()".
func (*MishModule) String() string { return "Mish()" }

// GroupNormModule normalises [N, C, *] inputs over groups of channels, as
// torch.nn.GroupNorm. Make one with [GroupNorm].
type GroupNormModule struct {
	NumGroups, NumChannels int
	Eps                    float32
	// Weight and Bias have shape [NumChannels]; both nil without affine
	// parameters.
	Weight, Bias *ag.Value
}

// GroupNorm returns group normalisation of numChannels channels in
// numGroups groups, with weight 1 and bias 0. Options: Eps (default
// 1e-5), NoAffine. It panics unless numGroups divides numChannels.
func GroupNorm(numGroups, numChannels int, opts ...Option) *GroupNormModule {
	c := newConfig("GroupNorm", []string{"Eps", "NoAffine"}, opts)
	if numGroups < 1 || numChannels < 1 || numChannels%numGroups != 0 {
		panic(fmt.Sprintf("nn.GroupNorm: %d groups must divide %d channels", numGroups, numChannels))
	}
	l := &GroupNormModule{NumGroups: numGroups, NumChannels: numChannels, Eps: c.eps}
	if !c.noAffine {
		l.Weight = ag.Param(tensor.Ones(numChannels))
		l.Bias = ag.Param(tensor.Zeros(numChannels))
	}
	return l
}

// Forward normalises x [N, NumChannels, *].
func (l *GroupNormModule) Forward(x *ag.Value) *ag.Value {
	return ag.GroupNorm(x, l.NumGroups, l.Weight, l.Bias, l.Eps)
}

// LocalParameters returns weight and bias (when present).
func (l *GroupNormModule) LocalParameters() []NamedValue {
	return params("weight", l.Weight, "bias", l.Bias)
}

// OutputShape checks that the input is [NumChannels, *].
func (l *GroupNormModule) OutputShape(in []int) ([]int, error) {
	if len(in) < 1 || in[0] != l.NumChannels {
		return nil, fmt.Errorf("group norm of %d channels needs input [%d, *], got %v", l.NumChannels, l.NumChannels, in)
	}
	return append([]int{}, in...), nil
}

// Spec returns "groupnorm(G)" with the options that differ from the
// defaults.
func (l *GroupNormModule) Spec() string {
	return withArgs("groupnorm", append([]string{fmt.Sprint(l.NumGroups)}, normArgs(-1, l.Eps, l.Weight == nil)...)...)
}

// String describes the layer as PyTorch prints it.
func (l *GroupNormModule) String() string {
	return fmt.Sprintf("GroupNorm(%d, %d, eps=%s, affine=%t)", l.NumGroups, l.NumChannels, formatFloat(l.Eps), l.Weight != nil)
}

// DefaultRMSNormEps is torch.nn.RMSNorm's eps when none is given: the
// machine epsilon of float32.
const DefaultRMSNormEps = 1.1920928955078125e-07

// RMSNormModule normalises over its trailing dimensions by their root
// mean square, as torch.nn.RMSNorm. Make one with [RMSNorm].
type RMSNormModule struct {
	// Shape is the normalized shape: the input's last len(Shape)
	// dimensions, which must equal it.
	Shape []int
	Eps   float32
	// Weight has shape Shape; nil without affine parameters.
	Weight *ag.Value
	// allDims records that Build sized Shape to the whole sample.
	allDims bool
}

// RMSNorm returns RMS normalisation over the trailing dimensions
// normalizedShape, with weight 1. Options: Eps (default
// DefaultRMSNormEps), NoAffine.
func RMSNorm(normalizedShape []int, opts ...Option) *RMSNormModule {
	c := newConfig("RMSNorm", []string{"Eps", "NoAffine"}, opts)
	if len(normalizedShape) == 0 {
		panic("nn.RMSNorm: empty normalized shape")
	}
	for _, s := range normalizedShape {
		if s < 1 {
			panic(fmt.Sprintf("nn.RMSNorm: normalized shape %v has a non-positive size", normalizedShape))
		}
	}
	eps := float32(DefaultRMSNormEps)
	if c.has("Eps") {
		eps = c.eps
	}
	l := &RMSNormModule{Shape: append([]int{}, normalizedShape...), Eps: eps}
	if !c.noAffine {
		l.Weight = ag.Param(tensor.Ones(normalizedShape...))
	}
	return l
}

// Forward normalises x over its last len(Shape) dimensions.
func (l *RMSNormModule) Forward(x *ag.Value) *ag.Value {
	return ag.RMSNorm(x, l.Shape, l.Weight, l.Eps)
}

// LocalParameters returns the weight (when present).
func (l *RMSNormModule) LocalParameters() []NamedValue { return params("weight", l.Weight) }

// OutputShape checks that the input ends in Shape and returns it.
func (l *RMSNormModule) OutputShape(in []int) ([]int, error) {
	k := len(l.Shape)
	if k > len(in) || !tensor.EqualShapes(in[len(in)-k:], l.Shape) {
		return nil, fmt.Errorf("RMS norm over %v cannot take input of shape %v", l.Shape, in)
	}
	return append([]int{}, in...), nil
}

// Spec returns "rmsnorm" (all of the sample's dimensions) or
// "rmsnorm(dims=K)", with the options that differ from the defaults.
func (l *RMSNormModule) Spec() string {
	var a []string
	if !l.allDims {
		a = append(a, fmt.Sprintf("dims=%d", len(l.Shape)))
	}
	if l.Eps != float32(DefaultRMSNormEps) {
		a = append(a, "eps="+formatFloat(l.Eps))
	}
	if l.Weight == nil {
		a = append(a, "affine=0")
	}
	return withArgs("rmsnorm", a...)
}

// String describes the layer as PyTorch prints it.
func (l *RMSNormModule) String() string {
	return fmt.Sprintf("RMSNorm(%v, eps=%s, elementwise_affine=%t)", l.Shape, formatFloat(l.Eps), l.Weight != nil)
}

// AdaptiveAvgPool2dModule averages [N, C, H, W] inputs into an H×W output
// whatever the input's size, as torch.nn.AdaptiveAvgPool2d. Make one with
// [AdaptiveAvgPool2d].
type AdaptiveAvgPool2dModule struct {
	H, W int
}

// AdaptiveAvgPool2d returns adaptive average pooling to h×w
// (AdaptiveAvgPool2d(1, 1) is global average pooling keeping the 1×1
// dimensions, as torchvision's ResNet uses it).
func AdaptiveAvgPool2d(h, w int) *AdaptiveAvgPool2dModule {
	if h < 1 || w < 1 {
		panic(fmt.Sprintf("nn.AdaptiveAvgPool2d: output size %dx%d must be positive", h, w))
	}
	return &AdaptiveAvgPool2dModule{H: h, W: w}
}

// Forward pools x.
func (l *AdaptiveAvgPool2dModule) Forward(x *ag.Value) *ag.Value {
	return ag.AdaptiveAvgPool2d(x, l.H, l.W)
}

// OutputShape maps [C, H', W'] to [C, H, W].
func (l *AdaptiveAvgPool2dModule) OutputShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("adaptive average pooling needs input [C, H, W], got %v", in)
	}
	return []int{in[0], l.H, l.W}, nil
}

// Spec returns "adaptiveavgpool(H)" or "adaptiveavgpool(H,W)".
func (l *AdaptiveAvgPool2dModule) Spec() string {
	if l.H == l.W {
		return fmt.Sprintf("adaptiveavgpool(%d)", l.H)
	}
	return fmt.Sprintf("adaptiveavgpool(%d,%d)", l.H, l.W)
}

// String describes the layer as PyTorch prints it.
func (l *AdaptiveAvgPool2dModule) String() string {
	return fmt.Sprintf("AdaptiveAvgPool2d(output_size=(%d, %d))", l.H, l.W)
}

// OutputPadding sets a transposed convolution's output padding: extra
// rows and columns at the bottom and right of its output (default 0),
// which must be smaller than the stride or the dilation.
func OutputPadding(p int) Option {
	return Option{"OutputPadding", func(c *config) { c.outputPadding = p }}
}

// ConvTranspose2dModule is a 2-D transposed convolution over [N, C, H, W]
// inputs, as torch.nn.ConvTranspose2d. Make one with [ConvTranspose2d].
type ConvTranspose2dModule struct {
	In, Out, Kernel int
	Params          ag.ConvTransposeParams
	// Weight has shape [In, Out/Groups, Kernel, Kernel] (PyTorch's layout
	// for a transposed convolution); Bias [Out], or nil.
	Weight, Bias *ag.Value
}

// ConvTranspose2d returns a transposed convolution from in to out channels
// with a k×k kernel and PyTorch's default initialisation (U(-1/√fan_in,
// 1/√fan_in) with fan_in = out/groups·k·k, as torch computes it from the
// weight's shape). Options: Stride, Padding, OutputPadding, Dilation,
// Groups, NoBias, WithRNG, Seed. It panics on sizes PyTorch refuses.
func ConvTranspose2d(in, out, k int, opts ...Option) *ConvTranspose2dModule {
	c := newConfig("ConvTranspose2d", []string{"Stride", "Padding", "OutputPadding", "Dilation", "Groups", "NoBias"}, opts)
	stride := c.stride
	if !c.has("Stride") {
		stride = 1
	}
	if err := checkConvTranspose(in, out, k, stride, c.padding, c.outputPadding, c.dilation, c.groups); err != nil {
		panic("nn.ConvTranspose2d: " + err.Error())
	}
	pair := func(v int) [2]int { return [2]int{v, v} }
	l := &ConvTranspose2dModule{In: in, Out: out, Kernel: k,
		Params: ag.ConvTransposeParams{Stride: pair(stride), Padding: pair(c.padding), OutputPadding: pair(c.outputPadding),
			Dilation: pair(c.dilation), Groups: c.groups},
		Weight: ag.Param(tensor.Zeros(in, out/c.groups, k, k))}
	var b *tensor.Tensor
	if !c.noBias {
		b = tensor.Zeros(out)
		l.Bias = ag.Param(b)
	}
	defaultLinearInit(l.Weight.Data, b, c.rng)
	return l
}

func checkConvTranspose(in, out, k, stride, pad, outPad, dil, groups int) error {
	if err := checkConv(in, out, k, stride, pad, dil, groups); err != nil {
		return err
	}
	if outPad < 0 || (outPad >= stride && outPad >= dil) {
		return fmt.Errorf("output padding %d must be smaller than the stride %d or the dilation %d", outPad, stride, dil)
	}
	return nil
}

// Forward applies the transposed convolution to x [N, In, H, W].
func (l *ConvTranspose2dModule) Forward(x *ag.Value) *ag.Value {
	return ag.ConvTranspose2d(x, l.Weight, l.Bias, l.Params)
}

// LocalParameters returns weight and bias (when there is one).
func (l *ConvTranspose2dModule) LocalParameters() []NamedValue {
	return params("weight", l.Weight, "bias", l.Bias)
}

// OutputShape maps [In, H, W] to [Out, H', W'], H' = (H-1)·stride -
// 2·pad + dilation·(k-1) + output_padding + 1.
func (l *ConvTranspose2dModule) OutputShape(in []int) ([]int, error) {
	return convTransposeShape(in, l.In, l.Out, l.Kernel, l.Params)
}

func convTransposeShape(in []int, inCh, outCh, k int, p ag.ConvTransposeParams) ([]int, error) {
	if len(in) != 3 || in[0] != inCh {
		return nil, fmt.Errorf("transposed convolution with %d input channels needs input [%d, H, W], got %v", inCh, inCh, in)
	}
	out := []int{outCh, 0, 0}
	for i := range 2 {
		out[1+i] = ag.ConvTransposeOutSize(in[1+i], k, p.Stride[i], p.Padding[i], p.OutputPadding[i], p.Dilation[i])
		if out[1+i] < 1 {
			return nil, fmt.Errorf("input %v with a %dx%d kernel and padding %v gives an empty output", in, k, k, p.Padding)
		}
	}
	return out, nil
}

// Spec returns "convtranspose(OUT,K,...)" with the options that differ
// from the defaults.
func (l *ConvTranspose2dModule) Spec() string {
	var b strings.Builder
	fmt.Fprintf(&b, "convtranspose(%d,%d", l.Out, l.Kernel)
	p := l.Params
	for _, o := range []struct {
		name    string
		v, dflt int
	}{{"stride", max(p.Stride[0], 1), 1}, {"pad", p.Padding[0], 0}, {"outpad", p.OutputPadding[0], 0},
		{"dilation", max(p.Dilation[0], 1), 1}, {"groups", max(p.Groups, 1), 1}} {
		if o.v != o.dflt {
			fmt.Fprintf(&b, ",%s=%d", o.name, o.v)
		}
	}
	if l.Bias == nil {
		b.WriteString(",bias=0")
	}
	b.WriteString(")")
	return b.String()
}

// String describes the layer as PyTorch prints it.
func (l *ConvTranspose2dModule) String() string {
	p := l.Params
	return fmt.Sprintf("ConvTranspose2d(%d, %d, kernel_size=(%d, %d), stride=(%d, %d), padding=(%d, %d), output_padding=(%d, %d), dilation=(%d, %d), groups=%d, bias=%t)",
		l.In, l.Out, l.Kernel, l.Kernel, max(p.Stride[0], 1), max(p.Stride[1], 1), p.Padding[0], p.Padding[1],
		p.OutputPadding[0], p.OutputPadding[1], max(p.Dilation[0], 1), max(p.Dilation[1], 1), max(p.Groups, 1), l.Bias != nil)
}

// UpsampleModule resizes [N, C, H, W] inputs by nearest or bilinear
// interpolation, as torch.nn.Upsample. Make one with [Upsample].
type UpsampleModule struct {
	Params ag.InterpParams
}

// Upsample returns a layer resizing its input as
// torch.nn.functional.interpolate with p (a Size or a Scale, a Mode and,
// for Bilinear, AlignCorners).
func Upsample(p ag.InterpParams) *UpsampleModule {
	if p.Size == [2]int{} {
		if !(p.Scale[0] > 0 && p.Scale[1] > 0) || math.IsInf(p.Scale[0], 0) || math.IsInf(p.Scale[1], 0) {
			panic(fmt.Sprintf("nn.Upsample: needs a positive size or scale factor, got scale %v", p.Scale))
		}
	} else if p.Size[0] < 1 || p.Size[1] < 1 {
		panic(fmt.Sprintf("nn.Upsample: size %v must be positive", p.Size))
	}
	if p.Mode != tensor.Bilinear && p.AlignCorners {
		panic("nn.Upsample: align_corners applies to bilinear interpolation only")
	}
	return &UpsampleModule{Params: p}
}

// Forward resizes x.
func (l *UpsampleModule) Forward(x *ag.Value) *ag.Value { return ag.Interpolate(x, l.Params) }

// OutputShape maps [C, H, W] to [C, H', W'].
func (l *UpsampleModule) OutputShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("upsampling needs input [C, H, W], got %v", in)
	}
	s, err := l.Params.OutputSize(in[1], in[2])
	if err != nil {
		return nil, err
	}
	return []int{in[0], s[0], s[1]}, nil
}

// Spec returns "upsample(SCALE)" or "upsample(h=H,w=W)" with the mode and
// align_corners when they differ from nearest and 0; "" for a scale that
// differs between height and width, which the token cannot write.
func (l *UpsampleModule) Spec() string {
	p := l.Params
	var a []string
	switch {
	case p.Size != [2]int{}:
		a = append(a, fmt.Sprintf("h=%d", p.Size[0]), fmt.Sprintf("w=%d", p.Size[1]))
	case p.Scale[0] == p.Scale[1]:
		if p.Scale[0] != 2 {
			a = append(a, formatFloat64(p.Scale[0]))
		}
	default:
		return ""
	}
	if p.Mode != tensor.Nearest {
		a = append(a, "mode="+strings.ReplaceAll(p.Mode.String(), "-", "_"))
	}
	if p.AlignCorners {
		a = append(a, "align_corners=1")
	}
	return withArgs("upsample", a...)
}

func formatFloat64(v float64) string { return fmt.Sprint(v) }

// String describes the layer as PyTorch prints it.
func (l *UpsampleModule) String() string {
	p := l.Params
	var size string
	if p.Size != [2]int{} {
		size = fmt.Sprintf("size=(%d, %d)", p.Size[0], p.Size[1])
	} else {
		size = fmt.Sprintf("scale_factor=(%v, %v)", p.Scale[0], p.Scale[1])
	}
	return fmt.Sprintf("Upsample(%s, mode='%s')", size, p.Mode)
}

func visionLayers() []LayerDef {
	eps := func(def float64) Arg { return floatArg("eps", def, math.SmallestNonzeroFloat32, 1) }
	return []LayerDef{
		{
			Name: "hardtanh", Args: []Arg{floatArg("min", -1, -1e6, 1e6), floatArg("max", 1, -1e6, 1e6)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				if l.Float("min") > l.Float("max") {
					return nil, fmt.Errorf("hardtanh: min %v above max %v", l.Float("min"), l.Float("max"))
				}
				return Hardtanh(float32(l.Float("min")), float32(l.Float("max"))), nil
			},
		},
		noArgs("relu6", func() Module { return ReLU6() }),
		noArgs("hardswish", func() Module { return Hardswish() }),
		noArgs("hardsigmoid", func() Module { return Hardsigmoid() }),
		noArgs("mish", func() Module { return Mish() }),
		{
			Name: "groupnorm", Positional: 1,
			Args: []Arg{sizeArg("groups"), eps(1e-5), flagArg("affine", 1)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				if err := checkGroupNorm(l, in); err != nil {
					return nil, err
				}
				opts := []Option{Eps(float32(l.Float("eps")))}
				if !l.Flag("affine") {
					opts = append(opts, NoAffine())
				}
				return GroupNorm(l.Int("groups"), in[0], opts...), nil
			},
			Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
				if err := checkGroupNorm(l, in); err != nil {
					return nil, nil, err
				}
				var s []StateShape
				if l.Flag("affine") {
					s = weightBias(true, []int{in[0]}, []int{in[0]})
				}
				return s, append([]int{}, in...), nil
			},
		},
		{
			Name: "rmsnorm",
			Args: []Arg{intArg("dims", 0, 1), eps(DefaultRMSNormEps), flagArg("affine", 1)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				dims, all := layerNormDims(l, in)
				if dims > len(in) || dims == 0 {
					return nil, fmt.Errorf("rmsnorm over the last %d dimensions of an input of shape %v", dims, in)
				}
				opts := []Option{Eps(float32(l.Float("eps")))}
				if !l.Flag("affine") {
					opts = append(opts, NoAffine())
				}
				m := RMSNorm(in[len(in)-dims:], opts...)
				m.allDims = all
				return m, nil
			},
			Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
				dims, _ := layerNormDims(l, in)
				if dims > len(in) || dims == 0 {
					return nil, nil, fmt.Errorf("rmsnorm over the last %d dimensions of an input of shape %v", dims, in)
				}
				var s []StateShape
				if l.Flag("affine") {
					s = []StateShape{{Name: "weight", Shape: append([]int{}, in[len(in)-dims:]...)}}
				}
				return s, append([]int{}, in...), nil
			},
		},
		{
			Name: "adaptiveavgpool", Positional: 2,
			Args: []Arg{sizeArg("h"), {Name: "w", Kind: IntArg, DefaultFrom: "h", Min: 1, Max: maxSpecInt}},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				return AdaptiveAvgPool2d(l.Int("h"), l.Int("w")), nil
			},
		},
		{
			Name: "convtranspose", Positional: 2,
			Args: []Arg{sizeArg("out"), sizeArg("k"), intArg("stride", 1, 1), intArg("pad", 0, 0), intArg("outpad", 0, 0),
				intArg("dilation", 1, 1), intArg("groups", 1, 1), flagArg("bias", 1)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				if err := checkConvTransposeSpec(b, l, in); err != nil {
					return nil, err
				}
				opts := []Option{b.RNG(), Stride(l.Int("stride")), Padding(l.Int("pad")), OutputPadding(l.Int("outpad")),
					Dilation(l.Int("dilation")), Groups(l.Int("groups"))}
				if !l.Flag("bias") {
					opts = append(opts, NoBias())
				}
				m := ConvTranspose2d(in[0], l.Int("out"), l.Int("k"), opts...)
				if _, err := m.OutputShape(in); err != nil {
					return nil, err
				}
				return m, nil
			},
			Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
				if err := checkConvTransposeSpec(b, l, in); err != nil {
					return nil, nil, err
				}
				out, k, g := l.Int("out"), l.Int("k"), l.Int("groups")
				pair := func(v int) [2]int { return [2]int{v, v} }
				p := ag.ConvTransposeParams{Stride: pair(l.Int("stride")), Padding: pair(l.Int("pad")),
					OutputPadding: pair(l.Int("outpad")), Dilation: pair(l.Int("dilation")), Groups: g}
				shape, err := convTransposeShape(in, in[0], out, k, p)
				if err != nil {
					return nil, nil, err
				}
				return weightBias(l.Flag("bias"), []int{in[0], out / g, k, k}, []int{out}), shape, nil
			},
		},
		{
			Name: "upsample", Positional: 1,
			Args: []Arg{floatArg("scale", 2, 1e-6, 1e6), intArg("h", 0, 0), intArg("w", 0, 0),
				{Name: "mode", Kind: StringArg, DefaultText: "nearest", Choices: []string{"nearest", "nearest_exact", "bilinear"}},
				flagArg("align_corners", 0)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				mode, err := tensor.ParseInterpMode(strings.ReplaceAll(l.TextArg("mode"), "_", "-"))
				if err != nil {
					return nil, err
				}
				p := ag.InterpParams{Mode: mode, AlignCorners: l.Flag("align_corners")}
				if mode != tensor.Bilinear && p.AlignCorners {
					return nil, fmt.Errorf("upsample: align_corners applies to bilinear interpolation only")
				}
				switch h, w := l.Int("h"), l.Int("w"); {
				case h > 0 && w > 0:
					p.Size = [2]int{h, w}
				case h > 0 || w > 0:
					return nil, fmt.Errorf("upsample: give both h and w, or a scale")
				default:
					s := l.Float("scale")
					p.Scale = [2]float64{s, s}
				}
				return Upsample(p), nil
			},
		},
	}
}

func checkGroupNorm(l LayerSpec, in []int) error {
	if len(in) < 1 {
		return fmt.Errorf("groupnorm needs input [C, *], got %v", in)
	}
	if g := l.Int("groups"); in[0]%g != 0 {
		return fmt.Errorf("groupnorm: %d groups do not divide %d channels", g, in[0])
	}
	return nil
}

func checkConvTransposeSpec(b *LayerBuilder, l LayerSpec, in []int) error {
	if len(in) != 3 {
		return fmt.Errorf("convtranspose needs input [C, H, W], got %v", in)
	}
	out, k, g := l.Int("out"), l.Int("k"), l.Int("groups")
	if err := checkConvTranspose(in[0], out, k, l.Int("stride"), l.Int("pad"), l.Int("outpad"), l.Int("dilation"), g); err != nil {
		return err
	}
	return b.CheckWeight(in[0], out/g, k, k)
}
