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
	var m *SequentialModule
	withRNG(c.rng, func(r *rand.Rand) {
		b := &LayerBuilder{rng: r, maxSize: c.maxSize}
		m, _, err = b.buildSeq(parsed, inputShape)
	})
	if err != nil {
		return nil, err
	}
	m.InputShape = append([]int{}, inputShape...)
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
