package nn

import (
	"fmt"
	"math"
	"slices"

	ag "github.com/backprop-go/backprop/autograd"
)

// The built-in layers of the spec grammar, declared as any user layer is
// (see [Register]).

func sizeArg(name string) Arg {
	return Arg{Name: name, Kind: IntArg, Required: true, Min: 1, Max: maxSpecInt}
}
func intArg(name string, def, lo float64) Arg {
	return Arg{Name: name, Kind: IntArg, Default: def, Min: lo, Max: maxSpecInt}
}
func flagArg(name string, def float64) Arg {
	return Arg{Name: name, Kind: FlagArg, Default: def, Min: 0, Max: 1}
}
func floatArg(name string, def, lo, hi float64) Arg {
	return Arg{Name: name, Kind: FloatArg, Default: def, Min: lo, Max: hi}
}
func dimArg() Arg { return Arg{Name: "dim", Kind: IntArg, Default: 1, Min: -8, Max: 8} }

// weightBias is the state of a layer with a weight and an optional bias.
func weightBias(bias bool, w []int, b []int) []StateShape {
	s := []StateShape{{Name: "weight", Shape: w}}
	if bias {
		s = append(s, StateShape{Name: "bias", Shape: b})
	}
	return s
}

// noArgs declares a layer without arguments that make builds.
func noArgs(name string, make func() Module) LayerDef {
	return LayerDef{Name: name, Build: func(*LayerBuilder, LayerSpec, []int) (Module, error) { return make(), nil }}
}

func builtinLayers() []LayerDef {
	return []LayerDef{
		{
			Name: "linear", Args: []Arg{sizeArg("out"), flagArg("bias", 1)}, Positional: 1,
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				if err := checkLinear(b, l, in); err != nil {
					return nil, err
				}
				opts := []Option{b.RNG()}
				if !l.Flag("bias") {
					opts = append(opts, NoBias())
				}
				return Linear(in[len(in)-1], l.Int("out"), opts...), nil
			},
			Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
				if err := checkLinear(b, l, in); err != nil {
					return nil, nil, err
				}
				out := l.Int("out")
				shape := append([]int{}, in...)
				shape[len(shape)-1] = out
				return weightBias(l.Flag("bias"), []int{out, in[len(in)-1]}, []int{out}), shape, nil
			},
		},
		{
			Name: "conv", Positional: 2,
			Args: []Arg{sizeArg("out"), sizeArg("k"), intArg("stride", 1, 1), intArg("pad", 0, 0),
				intArg("dilation", 1, 1), intArg("groups", 1, 1), flagArg("bias", 1)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				if err := checkConvSpec(b, l, in); err != nil {
					return nil, err
				}
				opts := []Option{b.RNG(), Stride(l.Int("stride")), Padding(l.Int("pad")), Dilation(l.Int("dilation")), Groups(l.Int("groups"))}
				if !l.Flag("bias") {
					opts = append(opts, NoBias())
				}
				m := Conv2d(in[0], l.Int("out"), l.Int("k"), opts...)
				if _, err := m.OutputShape(in); err != nil {
					return nil, err
				}
				return m, nil
			},
			Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
				if err := checkConvSpec(b, l, in); err != nil {
					return nil, nil, err
				}
				out, k, g := l.Int("out"), l.Int("k"), l.Int("groups")
				p := convParams(l.Int("stride"), l.Int("pad"), l.Int("dilation"), g)
				shape, err := convOutputShape(in, in[0], out, k, k, p)
				if err != nil {
					return nil, nil, err
				}
				return weightBias(l.Flag("bias"), []int{out, in[0] / g, k, k}, []int{out}), shape, nil
			},
		},
		{
			Name: "maxpool", Positional: 1,
			Args: []Arg{sizeArg("k"), {Name: "stride", Kind: IntArg, DefaultFrom: "k", Min: 1, Max: maxSpecInt},
				intArg("pad", 0, 0), intArg("dilation", 1, 1), flagArg("ceil", 0)},
			Build: buildPool,
		},
		{
			Name: "avgpool", Positional: 1,
			Args: []Arg{sizeArg("k"), {Name: "stride", Kind: IntArg, DefaultFrom: "k", Min: 1, Max: maxSpecInt},
				intArg("pad", 0, 0), flagArg("ceil", 0), flagArg("include_pad", 1)},
			Build: buildPool,
		},
		noArgs("globalavgpool", func() Module { return GlobalAvgPool2d() }),
		{
			Name: "batchnorm",
			Args: []Arg{floatArg("momentum", 0.1, 0, 1), floatArg("eps", 1e-5, math.SmallestNonzeroFloat32, 1), flagArg("affine", 1)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				opts := []Option{Momentum(float32(l.Float("momentum"))), Eps(float32(l.Float("eps")))}
				if !l.Flag("affine") {
					opts = append(opts, NoAffine())
				}
				switch len(in) {
				case 1, 2:
					return BatchNorm1d(in[0], opts...), nil
				case 3:
					return BatchNorm2d(in[0], opts...), nil
				}
				return nil, fmt.Errorf("batchnorm needs input [C], [C, L] or [C, H, W], got %v", in)
			},
			Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
				dims := 1
				switch len(in) {
				case 1, 2:
				case 3:
					dims = 2
				default:
					return nil, nil, fmt.Errorf("batchnorm needs input [C], [C, L] or [C, H, W], got %v", in)
				}
				probe := &BatchNormModule{NumFeatures: in[0], Dims: dims}
				shape, err := probe.OutputShape(in)
				if err != nil {
					return nil, nil, err
				}
				c := []int{in[0]}
				var s []StateShape
				if l.Flag("affine") {
					s = weightBias(true, c, c)
				}
				s = append(s, StateShape{Name: "running_mean", Shape: c, Buffer: true},
					StateShape{Name: "running_var", Shape: c, Buffer: true},
					StateShape{Name: "num_batches_tracked", Shape: []int{}, Buffer: true, Optional: true})
				return s, shape, nil
			},
		},
		{
			Name: "layernorm",
			Args: []Arg{intArg("dims", 0, 1), floatArg("eps", 1e-5, math.SmallestNonzeroFloat32, 1), flagArg("affine", 1)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				dims, all := layerNormDims(l, in)
				if dims > len(in) {
					return nil, fmt.Errorf("layernorm over the last %d dimensions of an input of shape %v", dims, in)
				}
				opts := []Option{Eps(float32(l.Float("eps")))}
				if !l.Flag("affine") {
					opts = append(opts, NoAffine())
				}
				m := LayerNorm(in[len(in)-dims:], opts...)
				m.allDims = all
				return m, nil
			},
			Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
				dims, _ := layerNormDims(l, in)
				if dims > len(in) {
					return nil, nil, fmt.Errorf("layernorm over the last %d dimensions of an input of shape %v", dims, in)
				}
				norm := append([]int{}, in[len(in)-dims:]...)
				var s []StateShape
				if l.Flag("affine") {
					s = weightBias(true, norm, norm)
				}
				return s, append([]int{}, in...), nil
			},
		},
		{
			Name: "dropout", Positional: 1,
			Args: []Arg{{Name: "p", Kind: FloatArg, Default: 0.5, Min: 0, Max: 1, Always: true}},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				return Dropout(float32(l.Float("p")), b.RNG()), nil
			},
		},
		noArgs("flatten", func() Module { return Flatten() }),
		noArgs("relu", func() Module { return ReLU() }),
		noArgs("tanh", func() Module { return Tanh() }),
		noArgs("sigmoid", func() Module { return Sigmoid() }),
		noArgs("silu", func() Module { return SiLU() }),
		{
			Name: "gelu", Args: []Arg{flagArg("tanh", 0)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				return &GELUModule{Approximate: l.Flag("tanh")}, nil
			},
		},
		{
			Name: "elu", Args: []Arg{floatArg("alpha", 1, -1e6, 1e6)}, Positional: 1,
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				return ELU(float32(l.Float("alpha"))), nil
			},
		},
		{
			Name: "softplus", Args: []Arg{floatArg("beta", 1, 1e-6, 1e6), floatArg("threshold", 20, -1e6, 1e6)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				return &SoftplusModule{Beta: float32(l.Float("beta")), Threshold: float32(l.Float("threshold"))}, nil
			},
		},
		{
			Name: "leakyrelu", Args: []Arg{floatArg("slope", 0.01, -1e6, 1e6)}, Positional: 1,
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				return LeakyReLU(float32(l.Float("slope"))), nil
			},
		},
		{
			Name: "softmax", Args: []Arg{dimArg()},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) { return Softmax(l.Int("dim")), nil },
		},
		{
			Name: "logsoftmax", Args: []Arg{dimArg()},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) { return LogSoftmax(l.Int("dim")), nil },
		},
		residualDef(),
	}
}

// checkLinear accepts a vector [F] or, as PyTorch's Linear, any input
// [..., F] with the layer applied over the last dimension (a sequence
// [T, F]); images [C, H, W] still need a flatten.
func checkLinear(b *LayerBuilder, l LayerSpec, in []int) error {
	if len(in) == 0 || len(in) > 2 {
		return fmt.Errorf("linear takes a vector, but its input has shape %v: put flatten before it", in)
	}
	return b.CheckWeight(l.Int("out"), in[len(in)-1])
}

func checkConvSpec(b *LayerBuilder, l LayerSpec, in []int) error {
	if len(in) != 3 {
		return fmt.Errorf("conv needs input [C, H, W], got %v", in)
	}
	out, k, g := l.Int("out"), l.Int("k"), l.Int("groups")
	if err := checkConv(in[0], out, k, l.Int("stride"), l.Int("pad"), l.Int("dilation"), g); err != nil {
		return err
	}
	return b.CheckWeight(out, in[0]/g, k, k)
}

func buildPool(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
	k, stride := l.Int("k"), l.Int("stride")
	opts := []Option{Stride(stride), Padding(l.Int("pad"))}
	if l.Flag("ceil") {
		opts = append(opts, CeilMode())
	}
	p := poolParams(k, &config{stride: stride, padding: l.Int("pad"), dilation: 1, given: []string{"Stride"}})
	if err := checkPool(p); err != nil {
		return nil, err
	}
	if l.Name == "avgpool" {
		return AvgPool2d(k, append(opts, CountIncludePad(l.Flag("include_pad")))...), nil
	}
	if d := l.Int("dilation"); d != 1 {
		opts = append(opts, Dilation(d))
	}
	return MaxPool2d(k, opts...), nil
}

func layerNormDims(l LayerSpec, in []int) (dims int, all bool) {
	if dims = l.Int("dims"); dims == 0 {
		return len(in), true
	}
	return dims, false
}

// ResidualModule computes Body(x) + x, the skip connection of a residual
// network, or Body(x) + Shortcut(x) when the body changes the shape: a 1×1
// convolution with the stride that maps x to the body's output, and batch
// norm, as torchvision's downsample. Its state_dict names follow the
// nesting positionally, as PyTorch's Sequential would: the body's layers
// of the residual(BODY) token at position 3 of a model are "3.0.weight",
// "3.1.weight", …, its shortcut's "3.shortcut.0.weight",
// "3.shortcut.1.weight".
type ResidualModule struct {
	Body *SequentialModule
	// Shortcut is nil for the identity.
	Shortcut *SequentialModule
}

// Residual returns body(x) + x for the layers of body (the identity
// shortcut).
func Residual(body ...Module) *ResidualModule { return &ResidualModule{Body: Sequential(body...)} }

// Forward returns Body(x) + x, or Body(x) + Shortcut(x).
func (r *ResidualModule) Forward(x *ag.Value) *ag.Value {
	y := r.Body.Forward(x)
	if r.Shortcut != nil {
		return ag.Add(y, r.Shortcut.Forward(x))
	}
	return ag.Add(x, y)
}

// Children returns the body's layers, named by position, then the
// shortcut, named "shortcut", when there is one.
func (r *ResidualModule) Children() []NamedModule {
	out := r.Body.Children()
	if r.Shortcut != nil {
		out = append(out, NamedModule{"shortcut", r.Shortcut})
	}
	return out
}

// OutputShape is the body's output shape; without a shortcut it must be
// the input's.
func (r *ResidualModule) OutputShape(in []int) ([]int, error) {
	out, err := r.Body.OutputShape(in)
	if err != nil {
		return nil, err
	}
	if r.Shortcut == nil && !equalInts(out, in) {
		return nil, fmt.Errorf("residual: the body maps shape %v to %v; they must match to be added", in, out)
	}
	if r.Shortcut != nil {
		s, err := r.Shortcut.OutputShape(in)
		if err != nil {
			return nil, err
		}
		if !equalInts(s, out) {
			return nil, fmt.Errorf("residual: the shortcut maps shape %v to %v, the body to %v", in, s, out)
		}
	}
	return out, nil
}

// Spec returns "residual(BODY)", or "" when a layer of the body has no
// spec form.
func (r *ResidualModule) Spec() string {
	body, err := SpecOf(r.Body)
	if err != nil || body == "" {
		return ""
	}
	return "residual(" + body + ")"
}

// String describes the block with its body, as PyTorch prints modules.
func (r *ResidualModule) String() string {
	return describe("Residual", r.Children())
}

func indent(s string) string {
	out := []byte{}
	for i := range len(s) {
		out = append(out, s[i])
		if s[i] == '\n' {
			out = append(out, ' ', ' ')
		}
	}
	return string(out)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// shortcutStride is the stride of the 1×1 convolution that maps images
// of shape in to the body's output shape out, or an error when none does.
func shortcutStride(in, out []int) (int, error) {
	if len(in) == 3 && len(out) == 3 && out[1] >= 1 && out[2] >= 1 {
		s := (in[1] + out[1] - 1) / out[1]
		if s >= 1 && (in[1]-1)/s+1 == out[1] && (in[2]-1)/s+1 == out[2] {
			return s, nil
		}
	}
	return 0, fmt.Errorf("residual: the body maps shape %v to %v, which no shortcut (a 1×1 convolution with a stride, and batch norm) can match; keep the shape, or change only the channels and divide the height and width by a stride", in, out)
}

func residualDef() LayerDef {
	return LayerDef{
		Name: "residual", Body: true,
		Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
			body, out, err := b.BuildBody(l.Body, in)
			if err != nil {
				return nil, err
			}
			r := &ResidualModule{Body: body}
			if !equalInts(out, in) {
				stride, err := shortcutStride(in, out)
				if err != nil {
					return nil, err
				}
				if err := b.CheckWeight(out[0], in[0]); err != nil {
					return nil, err
				}
				r.Shortcut = Sequential(Conv2d(in[0], out[0], 1, b.RNG(), Stride(stride), NoBias()), BatchNorm2d(out[0]))
			}
			return r, nil
		},
		Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
			body, err := b.InferBody(l.Body, in)
			if err != nil {
				return nil, nil, err
			}
			out := body.Output()
			state := slices.Clone(body.State)
			if !equalInts(out, in) {
				if _, err := shortcutStride(in, out); err != nil {
					return nil, nil, err
				}
				c := []int{out[0]}
				state = append(state, StateShape{Name: "shortcut.0.weight", Shape: []int{out[0], in[0], 1, 1}},
					StateShape{Name: "shortcut.1.weight", Shape: c}, StateShape{Name: "shortcut.1.bias", Shape: c},
					StateShape{Name: "shortcut.1.running_mean", Shape: c, Buffer: true},
					StateShape{Name: "shortcut.1.running_var", Shape: c, Buffer: true},
					StateShape{Name: "shortcut.1.num_batches_tracked", Shape: []int{}, Buffer: true, Optional: true})
			}
			return state, append([]int{}, out...), nil
		},
	}
}
