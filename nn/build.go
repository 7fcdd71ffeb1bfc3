package nn

import (
	"fmt"
	"math/rand/v2"
)

// Build parses an architecture spec (see [ParseSpec]; a preset name works
// too) and builds it as a Sequential for samples of inputShape, the shape
// of one sample without the batch dimension ([1, 28, 28] for MNIST, [13]
// for a table of 13 features). Each layer's input size is inferred from the
// previous layer's output, so the spec gives only output sizes.
//
// The weights are drawn layer by layer from one generator: the one given
// with WithRNG or Seed, or else the package's default (see [ManualSeed]).
// The same spec, shape and seed give the same model. MaxSize bounds the
// model's size (see there).
//
// linear applies to vectors: on a multi-dimensional input it fails with a
// message suggesting flatten, rather than acting on the last dimension as
// torch.nn.Linear would, because on images that is nearly always a mistake.
//
// Errors are *SpecError values naming the token, its column and the
// shapes involved; Build does not panic on any spec ParseSpec accepts.
func Build(spec string, inputShape []int, opts ...Option) (*SequentialModule, error) {
	var c *config
	if err := catchOptions(func() { c = newConfig("Build", []string{"MaxSize"}, opts) }); err != nil {
		return nil, err
	}
	parsed, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	if err := checkInputShape("nn.Build", inputShape, c.maxSize); err != nil {
		return nil, err
	}
	// Every check first, without allocating: a spec whose third layer is
	// too big must not have built the first two.
	if _, err := inferParsed(parsed, inputShape, c.maxSize); err != nil {
		return nil, err
	}
	m := &SequentialModule{InputShape: append([]int{}, inputShape...)}
	withRNG(c.rng, func(r *rand.Rand) {
		shape := m.InputShape
		for _, l := range parsed {
			var layer Module
			layer, err = buildLayer(l, shape, r, c.maxSize)
			if err == nil {
				shape, err = layer.(ShapeInferrer).OutputShape(shape)
			}
			if err == nil && satNumel(shape) > c.maxSize {
				err = fmt.Errorf("output shape %v has more than %d elements", shape, c.maxSize)
			}
			if err != nil {
				err = &SpecError{Column: l.Column, Token: l.String(), Msg: err.Error()}
				return
			}
			m.Layers = append(m.Layers, layer)
		}
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// catchOptions turns a constructor's panic over a misplaced option into an
// error, since Build reports errors rather than panicking.
func catchOptions(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// satNumel is the product of dims, saturating instead of overflowing.
func satNumel(dims ...[]int) int {
	const limit = 1 << 62
	n := 1
	for _, ds := range dims {
		for _, d := range ds {
			if d != 0 && n > limit/d {
				return limit
			}
			n *= d
		}
	}
	return n
}

// buildLayer makes one layer for input shape in, checking everything a
// constructor would panic on, and the parameter count, first.
func buildLayer(l LayerSpec, in []int, r *rand.Rand, maxSize int) (Module, error) {
	rng := WithRNG(r)
	tooBig := func(shape ...int) error {
		if n := satNumel(shape); n > maxSize {
			return fmt.Errorf("a weight of shape %v has more than %d elements", shape, maxSize)
		}
		return nil
	}
	switch l.Name {
	case "linear":
		if len(in) != 1 {
			return nil, fmt.Errorf("linear takes a vector, but its input has shape %v: put flatten before it", in)
		}
		out := l.getInt("out")
		if err := tooBig(out, in[0]); err != nil {
			return nil, err
		}
		opts := []Option{rng}
		if l.get("bias") == 0 {
			opts = append(opts, NoBias())
		}
		return Linear(in[0], out, opts...), nil
	case "conv":
		if len(in) != 3 {
			return nil, fmt.Errorf("conv needs input [C, H, W], got %v", in)
		}
		out, k, g := l.getInt("out"), l.getInt("k"), l.getInt("groups")
		stride, pad, dil := l.getInt("stride"), l.getInt("pad"), l.getInt("dilation")
		if err := checkConv(in[0], out, k, stride, pad, dil, g); err != nil {
			return nil, err
		}
		if err := tooBig(out, in[0]/g, k, k); err != nil {
			return nil, err
		}
		opts := []Option{rng, Stride(stride), Padding(pad), Dilation(dil), Groups(g)}
		if l.get("bias") == 0 {
			opts = append(opts, NoBias())
		}
		m := Conv2d(in[0], out, k, opts...)
		if _, err := m.OutputShape(in); err != nil {
			return nil, err
		}
		return m, nil
	case "maxpool", "avgpool":
		k := l.getInt("k")
		stride := l.getInt("stride")
		if stride < 0 {
			stride = k
		}
		opts := []Option{Stride(stride), Padding(l.getInt("pad"))}
		if l.get("ceil") == 1 {
			opts = append(opts, CeilMode())
		}
		p := poolParams(k, &config{stride: stride, padding: l.getInt("pad"), dilation: 1, given: []string{"Stride"}})
		if err := checkPool(p); err != nil {
			return nil, err
		}
		if l.Name == "avgpool" {
			return AvgPool2d(k, append(opts, CountIncludePad(l.get("include_pad") == 1))...), nil
		}
		if d := l.getInt("dilation"); d != 1 {
			opts = append(opts, Dilation(d))
		}
		return MaxPool2d(k, opts...), nil
	case "globalavgpool":
		return GlobalAvgPool2d(), nil
	case "batchnorm":
		opts := []Option{Momentum(float32(l.get("momentum"))), Eps(float32(l.get("eps")))}
		if l.get("affine") == 0 {
			opts = append(opts, NoAffine())
		}
		switch len(in) {
		case 1, 2:
			return BatchNorm1d(in[0], opts...), nil
		case 3:
			return BatchNorm2d(in[0], opts...), nil
		}
		return nil, fmt.Errorf("batchnorm needs input [C], [C, L] or [C, H, W], got %v", in)
	case "layernorm":
		dims, all := l.getInt("dims"), false
		if dims == 0 {
			dims, all = len(in), true
		}
		if dims > len(in) {
			return nil, fmt.Errorf("layernorm over the last %d dimensions of an input of shape %v", dims, in)
		}
		opts := []Option{Eps(float32(l.get("eps")))}
		if l.get("affine") == 0 {
			opts = append(opts, NoAffine())
		}
		m := LayerNorm(in[len(in)-dims:], opts...)
		m.allDims = all
		return m, nil
	case "dropout":
		return Dropout(float32(l.get("p")), rng), nil
	case "flatten":
		return Flatten(), nil
	case "relu":
		return ReLU(), nil
	case "tanh":
		return Tanh(), nil
	case "sigmoid":
		return Sigmoid(), nil
	case "silu":
		return SiLU(), nil
	case "gelu":
		return &GELUModule{Approximate: l.get("tanh") == 1}, nil
	case "elu":
		return ELU(float32(l.get("alpha"))), nil
	case "softplus":
		return &SoftplusModule{Beta: float32(l.get("beta")), Threshold: float32(l.get("threshold"))}, nil
	case "leakyrelu":
		return LeakyReLU(float32(l.get("slope"))), nil
	case "softmax":
		return Softmax(l.getInt("dim")), nil
	case "logsoftmax":
		return LogSoftmax(l.getInt("dim")), nil
	}
	return nil, fmt.Errorf("unknown layer %q", l.Name)
}
