package data

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// toy is a data set whose sample i is [i, i+1, random] (the random value
// drawn from rng when given), labelled i%3, or with target [2i] when
// regression.
type toy struct {
	n          int
	regression bool
	failAt     int // Sample fails for this index (when > 0)
}

func (d *toy) Len() int     { return d.n }
func (d *toy) Shape() []int { return []int{3} }
func (d *toy) TargetSize() int {
	if d.regression {
		return 1
	}
	return 0
}
func (d *toy) Classes() []string {
	if d.regression {
		return nil
	}
	return []string{"a", "b", "c"}
}
func (d *toy) Sample(i int, rng *rand.Rand, x, t []float32) (int, error) {
	if d.failAt > 0 && i == d.failAt {
		return 0, fmt.Errorf("toy: bad sample %d", i)
	}
	x[0], x[1], x[2] = float32(i), float32(i+1), 0
	if rng != nil {
		x[2] = float32(unit(rng))
	}
	if d.regression {
		t[0] = float32(2 * i)
		return -1, nil
	}
	return i % 3, nil
}

// collect runs an epoch and returns deep copies of its batches.
func collect(t *testing.T, l *Loader, epoch, from int) []*Batch {
	t.Helper()
	var out []*Batch
	for b, err := range l.EpochFrom(epoch, from) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Clone())
	}
	return out
}

func TestLoaderDeterministic(t *testing.T) {
	ds := &toy{n: 103}
	var ref [][]*Batch
	for _, workers := range []int{1, 2, 7} {
		l, err := NewLoader(ds, LoaderConfig{BatchSize: 10, Shuffle: true, Seed: 42, Workers: workers, Prefetch: 3})
		if err != nil {
			t.Fatal(err)
		}
		var epochs [][]*Batch
		for e := range 3 {
			epochs = append(epochs, collect(t, l, e, 0))
		}
		if ref == nil {
			ref = epochs
			continue
		}
		for e := range epochs {
			for b := range epochs[e] {
				if !slices.Equal(epochs[e][b].X.Data(), ref[e][b].X.Data()) {
					t.Fatalf("workers %d: epoch %d batch %d differs from 1 worker", workers, e, b)
				}
			}
		}
	}
	// Each epoch is a permutation, epochs differ, batch sizes 10…10, 3.
	for e, batches := range ref {
		var seen []int
		for i, b := range batches {
			want := 10
			if i == len(batches)-1 {
				want = 3
			}
			if b.Len() != want || b.X.Shape()[0] != want || len(b.Labels) != want || b.Number != i || b.Epoch != e {
				t.Fatalf("epoch %d batch %d: len %d shape %v number %d", e, i, b.Len(), b.X.Shape(), b.Number)
			}
			for k, idx := range b.Indices {
				if b.X.At(k, 0) != float32(idx) || b.Labels[k] != idx%3 {
					t.Fatalf("sample %d misplaced", idx)
				}
			}
			seen = append(seen, b.Indices...)
		}
		if slices.Sort(seen); len(seen) != 103 || seen[0] != 0 || seen[102] != 102 || len(slices.Compact(seen)) != 103 {
			t.Fatalf("epoch %d is not a permutation", e)
		}
	}
	if slices.Equal(ref[0][0].Indices, ref[1][0].Indices) {
		t.Error("epochs 0 and 1 start alike")
	}
	// A different seed gives another order; the augmentation value of a
	// sample depends on (seed, epoch, index) only.
	l2, _ := NewLoader(ds, LoaderConfig{BatchSize: 10, Shuffle: true, Seed: 43})
	if slices.Equal(collect(t, l2, 0, 0)[0].Indices, ref[0][0].Indices) {
		t.Error("seeds 42 and 43 give the same order")
	}
	b := ref[1][2]
	x := make([]float32, 3)
	ds.Sample(b.Indices[4], SampleRNG(42, 1, b.Indices[4]), x, nil)
	if x[2] != b.X.At(4, 2) {
		t.Errorf("SampleRNG does not reproduce the loader's augmentation")
	}
}

func TestLoaderResume(t *testing.T) {
	ds := &toy{n: 50}
	l, _ := NewLoader(ds, LoaderConfig{BatchSize: 8, Shuffle: true, Seed: 7})
	full := collect(t, l, 5, 0)
	// A new loader (a resumed process) from batch 3 of epoch 5.
	l2, _ := NewLoader(ds, LoaderConfig{BatchSize: 8, Shuffle: true, Seed: 7, Workers: 3})
	part := collect(t, l2, 5, 3)
	if len(part) != len(full)-3 {
		t.Fatalf("%d batches from 3, want %d", len(part), len(full)-3)
	}
	for i, b := range part {
		if b.Number != i+3 || !slices.Equal(b.X.Data(), full[i+3].X.Data()) {
			t.Fatalf("resumed batch %d differs", b.Number)
		}
	}
}

func TestLoaderBatchSizes(t *testing.T) {
	tests := []struct {
		n, bs    int
		dropLast bool
		want     []int
	}{
		{10, 4, false, []int{4, 4, 2}},
		{10, 4, true, []int{4, 4}},
		{8, 4, false, []int{4, 4}},
		{3, 10, false, []int{3}},
		{3, 10, true, nil},
		{1, 1, false, []int{1}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt), func(t *testing.T) {
			l, err := NewLoader(&toy{n: tt.n, regression: true}, LoaderConfig{BatchSize: tt.bs, DropLast: tt.dropLast})
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, b := range collect(t, l, 0, 0) {
				sizes = append(sizes, b.Len())
				if b.Labels != nil || b.Targets.Shape()[0] != b.Len() || b.Targets.Shape()[1] != 1 {
					t.Fatalf("regression batch: labels %v targets %v", b.Labels, b.Targets.Shape())
				}
				for k, idx := range b.Indices {
					if b.Targets.At(k, 0) != float32(2*idx) {
						t.Fatal("target misplaced")
					}
				}
			}
			if !slices.Equal(sizes, tt.want) || l.NumBatches() != len(tt.want) {
				t.Fatalf("sizes %v (NumBatches %d), want %v", sizes, l.NumBatches(), tt.want)
			}
		})
	}
}

func TestLoaderErrors(t *testing.T) {
	l, _ := NewLoader(&toy{n: 40, failAt: 17}, LoaderConfig{BatchSize: 8})
	var got error
	n := 0
	for _, err := range l.Epoch(0) {
		if err != nil {
			got = err
			break
		}
		n++
	}
	if got == nil || n != 2 || !strings.Contains(got.Error(), "epoch 0, batch 2: sample 17: toy: bad sample 17") {
		t.Fatalf("after %d batches: %v", n, got)
	}
	// Breaking out early releases the loader for the next epoch.
	ok, _ := NewLoader(&toy{n: 40}, LoaderConfig{BatchSize: 8})
	for range ok.Epoch(0) {
		break
	}
	if len(collect(t, ok, 1, 0)) != 5 {
		t.Fatal("epoch after a break is incomplete")
	}
	// Nested iteration of the same loader is refused.
	for range ok.Epoch(0) {
		for _, err := range ok.Epoch(1) {
			if err == nil || !errors.Is(err, err) || !strings.Contains(err.Error(), "already") {
				t.Fatalf("nested epoch: %v", err)
			}
		}
		break
	}
	if _, err := NewLoader(&toy{n: 0}, LoaderConfig{}); err == nil {
		t.Fatal("empty data set accepted")
	}
}

// Memory stays flat: an epoch allocates only a few small values, not
// sample buffers.
func TestLoaderAllocations(t *testing.T) {
	l, _ := NewLoader(&toy{n: 1000}, LoaderConfig{BatchSize: 32, Shuffle: true, Workers: 2})
	allocs := testing.AllocsPerRun(5, func() {
		for _, err := range l.Epoch(1) {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs > 40 {
		t.Errorf("%.0f allocations per epoch of 32 batches", allocs)
	}
}

func TestSplitIndices(t *testing.T) {
	rest, held := SplitIndices(100, 0.2, 1)
	if len(held) != 20 || len(rest) != 80 {
		t.Fatalf("sizes %d/%d", len(rest), len(held))
	}
	r2, h2 := SplitIndices(100, 0.2, 1)
	if !slices.Equal(held, h2) || !slices.Equal(rest, r2) {
		t.Fatal("same seed, different split")
	}
	_, h3 := SplitIndices(100, 0.2, 2)
	if slices.Equal(held, h3) {
		t.Fatal("seeds 1 and 2 hold out the same samples")
	}
	all := append(slices.Clone(rest), held...)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatal("not a partition")
		}
	}
	s, err := Split(&toy{n: 50}, SplitConfig{ValFraction: 0.25, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if s.Test.Len() != 10 || s.Val.Len() != 10 || s.Train.Len() != 30 {
		t.Fatalf("train %d val %d test %d", s.Train.Len(), s.Val.Len(), s.Test.Len())
	}
	if _, err := Split(&toy{n: 5}, SplitConfig{TestFraction: 1.5}); err == nil {
		t.Fatal("fraction 1.5 accepted")
	}
}
