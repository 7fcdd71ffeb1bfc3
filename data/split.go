package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultTestFraction is the fraction of a data set held out as its test
// set when it has no test part of its own.
const DefaultTestFraction = 0.2

// SplitConfig says how a data set without its own test part is split.
type SplitConfig struct {
	// TestFraction is the fraction held out as the test set, never trained
	// on, when the data has no test part of its own. 0 means
	// DefaultTestFraction; a negative value holds out nothing (Test is
	// then nil).
	TestFraction float64 `json:"test_fraction,omitempty"`
	// ValFraction is the fraction of what remains for training that is
	// held out as a validation set. 0 means none (Val is nil).
	ValFraction float64 `json:"val_fraction,omitempty"`
	// Seed chooses which samples go where.
	Seed uint64 `json:"seed,omitempty"`
}

func (c SplitConfig) testFraction() float64 {
	switch {
	case c.TestFraction == 0:
		return DefaultTestFraction
	case c.TestFraction < 0:
		return 0
	}
	return c.TestFraction
}

func (c SplitConfig) validate() error {
	if c.TestFraction >= 1 || c.ValFraction < 0 || c.ValFraction >= 1 || math.IsNaN(c.TestFraction) || math.IsNaN(c.ValFraction) {
		return fmt.Errorf("data: split fractions test %g, validation %g: want each below 1 (and validation not negative)", c.TestFraction, c.ValFraction)
	}
	return nil
}

// Splits are the parts of a data set. Val is nil unless a validation
// fraction or folder was given; Test is nil only when asked for no test
// part.
type Splits struct {
	Train, Val, Test Dataset
}

// SplitIndices partitions 0…n-1 at random (seeded): held gets
// round(frac·n) indices, rest the others, each in increasing order. The
// same n, frac and seed always give the same partition.
func SplitIndices(n int, frac float64, seed uint64) (rest, held []int) {
	k := int(math.Round(frac * float64(n)))
	k = min(max(k, 0), n)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	shuffleInts(rand.New(rand.NewPCG(mix(seed^0x53504c4954), 0x73706c6974)), perm)
	held = slices.Clone(perm[:k])
	rest = slices.Clone(perm[k:])
	slices.Sort(held)
	slices.Sort(rest)
	return rest, held
}

// splitIndices applies a SplitConfig to indices: it returns the train,
// validation and test parts (validation nil when not asked for; test nil
// when hasTest, the data bringing its own).
func (c SplitConfig) split(idx []int, hasTest bool) (train, val, test []int) {
	train = idx
	if !hasTest {
		if f := c.testFraction(); f > 0 {
			r, h := SplitIndices(len(idx), f, c.Seed)
			train, test = pick(idx, r), pick(idx, h)
		}
	}
	if c.ValFraction > 0 {
		r, h := SplitIndices(len(train), c.ValFraction, c.Seed+1)
		train, val = pick(train, r), pick(train, h)
	}
	return train, val, test
}

func pick(idx, at []int) []int {
	out := make([]int, len(at))
	for i, a := range at {
		out[i] = idx[a]
	}
	return out
}

// Split divides ds according to cfg into training, validation and test
// views (see SplitConfig). The views share ds; no sample is copied.
func Split(ds Dataset, cfg SplitConfig) (Splits, error) {
	if err := cfg.validate(); err != nil {
		return Splits{}, err
	}
	all := make([]int, ds.Len())
	for i := range all {
		all[i] = i
	}
	tr, va, te := cfg.split(all, false)
	s := Splits{Train: Subset(ds, tr)}
	if va != nil {
		s.Val = Subset(ds, va)
	}
	if te != nil {
		s.Test = Subset(ds, te)
	}
	return s, nil
}

// Subset returns the view of ds made of the samples at the given indices,
// in that order. It panics on an index out of range.
func Subset(ds Dataset, indices []int) Dataset {
	for _, i := range indices {
		if i < 0 || i >= ds.Len() {
			panic(fmt.Sprintf("data: Subset: index %d out of range [0, %d)", i, ds.Len()))
		}
	}
	return &subset{Dataset: ds, idx: slices.Clone(indices)}
}

type subset struct {
	Dataset
	idx []int
}

func (s *subset) Len() int { return len(s.idx) }

// Sample returns sample i of the subset. The random generator is passed
// through unchanged.
func (s *subset) Sample(i int, rng *rand.Rand, x, target []float32) (int, error) {
	return s.Dataset.Sample(s.idx[i], rng, x, target)
}
