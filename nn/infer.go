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
	b := &LayerBuilder{rng: rand.New(rand.NewPCG(0, 0)), maxSize: maxSize}
	return b.inferSeq(parsed, inputShape)
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
