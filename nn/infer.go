package nn

import (
	"fmt"
	"math/rand/v2"
)

// StateShape is one state_dict entry that Build would make for a spec: its
// name, its shape, and whether it is a buffer rather than a parameter.
type StateShape struct {
	Name  string
	Shape []int
	// Buffer marks running statistics (not trained).
	Buffer bool
	// Optional marks an entry a file may leave out when loading strictly:
	// BatchNorm's num_batches_tracked, as PyTorch allows.
	Optional bool
}

// ModelShapes is what InferShapes works out from a spec and a sample shape,
// without allocating the model: its state_dict entries in order and each
// layer's output shape.
type ModelShapes struct {
	// State lists the entries in state_dict order, as NamedState would.
	State []StateShape
	// Outputs holds each layer's output shape, without the batch dimension.
	Outputs [][]int
}

// Output returns the model's output shape for one sample.
func (s *ModelShapes) Output() []int { return s.Outputs[len(s.Outputs)-1] }

// NumElements returns the number of elements of all state entries.
func (s *ModelShapes) NumElements() int {
	n := 0
	for _, e := range s.State {
		n += satNumel(e.Shape)
	}
	return n
}

// MaxActivation returns the number of elements of the largest layer output
// for one sample: a bound on what a forward pass holds per sample and layer.
func (s *ModelShapes) MaxActivation() int {
	m := 0
	for _, o := range s.Outputs {
		m = max(m, satNumel(o))
	}
	return m
}

// Check compares the inferred state with the shapes of a state dict (by
// name), as a strict load would, before anything of the model's size is
// allocated. It returns a *StateDictError naming every missing, unexpected
// or mis-shaped entry, or nil; an Optional entry may be missing.
func (s *ModelShapes) Check(have map[string][]int) error {
	if e := compareState(s.State, have, true); e != nil {
		return e
	}
	return nil
}

// InferShapes parses spec (see [ParseSpec]) and works out, without
// allocating any weight, the state_dict entries and layer output shapes
// that Build would make for samples of inputShape. It makes every check
// Build makes, with the same errors, so a spec it accepts builds; callers
// that load a file use it to compare the file's tensors with the spec
// before building. Of the options, only MaxSize applies.
func InferShapes(spec string, inputShape []int, opts ...Option) (*ModelShapes, error) {
	var c *config
	if err := catchOptions(func() { c = newConfig("InferShapes", []string{"MaxSize", "WithRNG", "Seed"}, opts) }); err != nil {
		return nil, err
	}
	parsed, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	if err := checkInputShape("nn.InferShapes", inputShape, c.maxSize); err != nil {
		return nil, err
	}
	return inferParsed(parsed, inputShape, c.maxSize)
}

// inferParsed is InferShapes on a parsed spec and a checked input shape.
func inferParsed(parsed Spec, inputShape []int, maxSize int) (*ModelShapes, error) {
	out := &ModelShapes{}
	shape := append([]int{}, inputShape...)
	for i, l := range parsed {
		var state []StateShape
		var err error
		state, shape, err = layerShapes(l, shape, maxSize)
		if err == nil && satNumel(shape) > maxSize {
			err = fmt.Errorf("output shape %v has more than %d elements", shape, maxSize)
		}
		if err != nil {
			return nil, &SpecError{Column: l.Column, Token: l.String(), Msg: err.Error()}
		}
		prefix := fmt.Sprint(i)
		for _, e := range state {
			e.Name = join(prefix, e.Name)
			out.State = append(out.State, e)
		}
		out.Outputs = append(out.Outputs, shape)
	}
	return out, nil
}

// checkInputShape makes Build's checks of a sample shape.
func checkInputShape(op string, inputShape []int, maxSize int) error {
	if len(inputShape) == 0 {
		return fmt.Errorf("%s: empty input shape: give one sample's shape, such as [1 28 28]", op)
	}
	for _, d := range inputShape {
		if d < 1 {
			return fmt.Errorf("%s: input shape %v has a non-positive dimension", op, inputShape)
		}
	}
	if n := satNumel(inputShape); n > maxSize {
		return fmt.Errorf("%s: input shape %v has %d elements, more than the limit %d", op, inputShape, n, maxSize)
	}
	return nil
}

// layerShapes is buildLayer without the allocation: the local state
// entries and the output shape of layer l on input in. Layers with weights
// are worked out here; the others are built (they hold nothing of any
// size) and asked for their output shape.
func layerShapes(l LayerSpec, in []int, maxSize int) ([]StateShape, []int, error) {
	tooBig := func(shape ...int) error {
		if n := satNumel(shape); n > maxSize {
			return fmt.Errorf("a weight of shape %v has more than %d elements", shape, maxSize)
		}
		return nil
	}
	weightBias := func(bias bool, w []int, b []int) []StateShape {
		s := []StateShape{{Name: "weight", Shape: w}}
		if bias {
			s = append(s, StateShape{Name: "bias", Shape: b})
		}
		return s
	}
	switch l.Name {
	case "linear":
		if len(in) != 1 {
			return nil, nil, fmt.Errorf("linear takes a vector, but its input has shape %v: put flatten before it", in)
		}
		out := l.getInt("out")
		if err := tooBig(out, in[0]); err != nil {
			return nil, nil, err
		}
		return weightBias(l.get("bias") == 1, []int{out, in[0]}, []int{out}), []int{out}, nil
	case "conv":
		if len(in) != 3 {
			return nil, nil, fmt.Errorf("conv needs input [C, H, W], got %v", in)
		}
		out, k, g := l.getInt("out"), l.getInt("k"), l.getInt("groups")
		stride, pad, dil := l.getInt("stride"), l.getInt("pad"), l.getInt("dilation")
		if err := checkConv(in[0], out, k, stride, pad, dil, g); err != nil {
			return nil, nil, err
		}
		if err := tooBig(out, in[0]/g, k, k); err != nil {
			return nil, nil, err
		}
		p := convParams(stride, pad, dil, g)
		shape, err := convOutputShape(in, in[0], out, k, k, p)
		if err != nil {
			return nil, nil, err
		}
		return weightBias(l.get("bias") == 1, []int{out, in[0] / g, k, k}, []int{out}), shape, nil
	case "batchnorm":
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
		if l.get("affine") == 1 {
			s = weightBias(true, c, c)
		}
		s = append(s, StateShape{Name: "running_mean", Shape: c, Buffer: true},
			StateShape{Name: "running_var", Shape: c, Buffer: true},
			StateShape{Name: "num_batches_tracked", Shape: []int{}, Buffer: true, Optional: true})
		return s, shape, nil
	case "layernorm":
		dims := l.getInt("dims")
		if dims == 0 {
			dims = len(in)
		}
		if dims > len(in) {
			return nil, nil, fmt.Errorf("layernorm over the last %d dimensions of an input of shape %v", dims, in)
		}
		norm := append([]int{}, in[len(in)-dims:]...)
		var s []StateShape
		if l.get("affine") == 1 {
			s = weightBias(true, norm, norm)
		}
		return s, append([]int{}, in...), nil
	}
	// The remaining layers have no state; building one costs a few words.
	m, err := buildLayer(l, in, rand.New(rand.NewPCG(0, 0)), maxSize)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := m.(ParameterOwner); ok {
		return nil, nil, fmt.Errorf("nn: internal error: layerShapes does not know the weights of %s", l.Name)
	}
	shape, err := m.(ShapeInferrer).OutputShape(in)
	return nil, shape, err
}
