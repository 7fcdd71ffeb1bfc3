package nn

import (
	"fmt"
	"strconv"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
)

// SequentialModule runs its layers one after another, as
// torch.nn.Sequential. Its children are named by position, parameterless
// layers included, so a Flatten at 0 makes the first Linear's weight
// "1.weight", as in PyTorch. Make one with [Sequential] or [Build].
type SequentialModule struct {
	Layers []Module
	// InputShape is the sample shape (without the batch dimension) the
	// model was built for by Build, or nil.
	InputShape []int
	// FreezeFlag records Freeze, so that every layer below a frozen
	// Sequential stays in evaluation mode, custom ones included.
	FreezeFlag
}

// Sequential returns a model that applies layers in order.
func Sequential(layers ...Module) *SequentialModule {
	for i, l := range layers {
		if l == nil {
			panic(fmt.Sprintf("nn.Sequential: layer %d is nil", i))
		}
	}
	return &SequentialModule{Layers: layers}
}

// Forward applies each layer to the previous one's output. Runs of layers
// that autograd has a fused op for (Conv2d-ReLU-MaxPool2d, Conv2d-ReLU,
// Linear-ReLU) run as that op, with identical results.
func (s *SequentialModule) Forward(x *ag.Value) *ag.Value {
	for i := 0; i < len(s.Layers); {
		var n int
		x, n = forwardFused(s.Layers, i, x)
		i += n
	}
	return x
}

// Parameters returns the model's parameters in state_dict order, as
// nn.Parameters(s): the list to give an optimiser.
func (s *SequentialModule) Parameters() []*ag.Value { return Parameters(s) }

// Append adds layers at the end.
func (s *SequentialModule) Append(layers ...Module) *SequentialModule {
	s.Layers = append(s.Layers, layers...)
	return s
}

// Children returns the layers named "0", "1", ….
func (s *SequentialModule) Children() []NamedModule {
	out := make([]NamedModule, len(s.Layers))
	for i, l := range s.Layers {
		out[i] = NamedModule{strconv.Itoa(i), l}
	}
	return out
}

// OutputShape passes the shape through every layer; each must implement
// ShapeInferrer.
func (s *SequentialModule) OutputShape(in []int) ([]int, error) {
	shape := in
	for i, l := range s.Layers {
		si, ok := l.(ShapeInferrer)
		if !ok {
			return nil, fmt.Errorf("layer %d (%T) cannot infer its output shape", i, l)
		}
		var err error
		if shape, err = si.OutputShape(shape); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return shape, nil
}

// Spec returns the architecture in the spec grammar (the canonical form
// of what Build was given), or "" when a layer has no spec form; SpecOf
// says which.
func (s *SequentialModule) Spec() string {
	spec, err := SpecOf(s)
	if err != nil {
		return ""
	}
	return spec
}

// String lists the layers as PyTorch prints a Sequential.
func (s *SequentialModule) String() string {
	var b strings.Builder
	b.WriteString("Sequential(\n")
	for i, l := range s.Layers {
		d := fmt.Sprint(l)
		if st, ok := l.(fmt.Stringer); ok {
			d = st.String()
		}
		fmt.Fprintf(&b, "  (%d): %s\n", i, strings.ReplaceAll(d, "\n", "\n  "))
	}
	b.WriteString(")")
	return b.String()
}

// SpecOf returns m's architecture in the spec grammar: m's own token when
// it is a layer with one, or its layers' tokens joined by spaces when it is
// a Sequential. It fails, naming the layer, when a layer has no spec form
// (a custom module, an Embedding) or is itself a Sequential (flattening it
// would change the state_dict names).
func SpecOf(m Module) (string, error) {
	if s, ok := m.(*SequentialModule); ok {
		toks := make([]string, 0, len(s.Layers))
		for i, l := range s.Layers {
			if _, nested := l.(*SequentialModule); nested {
				return "", fmt.Errorf("nn.SpecOf: layer %d is a nested Sequential, which the spec grammar cannot express", i)
			}
			t, err := SpecOf(l)
			if err != nil {
				return "", fmt.Errorf("nn.SpecOf: layer %d: %w", i, err)
			}
			toks = append(toks, t)
		}
		return strings.Join(toks, " "), nil
	}
	if sp, ok := m.(Specer); ok {
		if t := sp.Spec(); t != "" {
			return t, nil
		}
	}
	return "", fmt.Errorf("%T has no form in the spec grammar", m)
}
