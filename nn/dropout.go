package nn

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	ag "github.com/backprop-go/backprop/autograd"
)

// RNGOwner is implemented by layers that draw random numbers while running
// (Dropout). Their generator state is part of a checkpoint: restoring it
// makes a resumed run draw the same masks as an uninterrupted one.
type RNGOwner interface {
	RNGState() ([]byte, error)
	SetRNGState(state []byte) error
}

// DropoutModule zeroes each element of its input with probability P in
// training mode and scales the others by 1/(1-P) (inverted dropout), so
// that evaluation mode, which passes the input through, needs no scaling.
// Make one with [Dropout].
type DropoutModule struct {
	P   float32
	pcg *rand.PCG
	rng *rand.Rand
	modeFlag
}

// Dropout returns a dropout layer with probability p in [0, 1]. Its own
// generator is seeded from the construction generator (WithRNG, Seed, or
// the default one), so the same seed gives the same masks. Options:
// WithRNG, Seed.
func Dropout(p float32, opts ...Option) *DropoutModule {
	c := newConfig("Dropout", nil, opts)
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("nn.Dropout: probability %v outside [0, 1]", p))
	}
	var s1, s2 uint64
	withRNG(c.rng, func(r *rand.Rand) { s1, s2 = r.Uint64(), r.Uint64() })
	pcg := rand.NewPCG(s1, s2)
	return &DropoutModule{P: p, pcg: pcg, rng: rand.New(pcg)}
}

// Forward applies dropout in training mode and returns x itself in
// evaluation mode.
func (l *DropoutModule) Forward(x *ag.Value) *ag.Value {
	return ag.Dropout(x, l.P, l.Training(), l.rng)
}

// RNGState returns the state of the layer's generator (PCG's binary form).
func (l *DropoutModule) RNGState() ([]byte, error) { return l.pcg.MarshalBinary() }

// SetRNGState restores a state from RNGState.
func (l *DropoutModule) SetRNGState(state []byte) error { return l.pcg.UnmarshalBinary(state) }

// OutputShape returns the input shape.
func (l *DropoutModule) OutputShape(in []int) ([]int, error) { return append([]int{}, in...), nil }

// Spec returns "dropout(P)".
func (l *DropoutModule) Spec() string { return "dropout(" + formatFloat(l.P) + ")" }

// String describes the layer as PyTorch prints it.
func (l *DropoutModule) String() string { return "Dropout(p=" + formatFloat(l.P) + ")" }

// RNGState returns the generator states of all of m's RNGOwner modules,
// keyed by module name, as JSON: save it with a checkpoint and give it to
// SetRNGState on resume.
func RNGState(m any) ([]byte, error) {
	states := map[string][]byte{}
	var err error
	Walk(m, func(name string, sub any) bool {
		if o, ok := sub.(RNGOwner); ok {
			var b []byte
			if b, err = o.RNGState(); err != nil {
				err = fmt.Errorf("nn.RNGState: module %q: %w", name, err)
				return false
			}
			states[name] = b
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(states) // map keys are sorted: the same state gives the same bytes
}

// SetRNGState restores generator states from RNGState. The modules with
// generators must be the same, by name, as when the state was taken;
// nothing is changed when they are not.
func SetRNGState(m any, state []byte) error {
	var states map[string][]byte
	if err := json.Unmarshal(state, &states); err != nil {
		return fmt.Errorf("nn.SetRNGState: %w", err)
	}
	owners := map[string]RNGOwner{}
	Walk(m, func(name string, sub any) bool {
		if o, ok := sub.(RNGOwner); ok {
			owners[name] = o
		}
		return true
	})
	// In name order, so that the error names the same module every time.
	for _, name := range slices.Sorted(maps.Keys(owners)) {
		if _, ok := states[name]; !ok {
			return fmt.Errorf("nn.SetRNGState: no state for module %q", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(states)) {
		if _, ok := owners[name]; !ok {
			return fmt.Errorf("nn.SetRNGState: state for module %q, which the model does not have", name)
		}
	}
	// Check every state on a scratch generator first, so that a bad one
	// leaves the model as it was.
	for name, b := range states {
		if err := new(rand.PCG).UnmarshalBinary(b); err != nil {
			return fmt.Errorf("nn.SetRNGState: module %q: %w", name, err)
		}
	}
	for name, o := range owners {
		if err := o.SetRNGState(states[name]); err != nil {
			return fmt.Errorf("nn.SetRNGState: module %q: %w", name, err)
		}
	}
	return nil
}
