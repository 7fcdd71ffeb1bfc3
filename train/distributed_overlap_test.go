package train

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
)

// TestOverlapAllReduceIsBitIdentical: averaging the gradients during the
// backward pass, in buckets of every size from one parameter each to all
// in one, with and without accumulated micro-batches, gives the very
// weights of averaging them after it, on every replica.
func TestOverlapAllReduceIsBitIdentical(t *testing.T) {
	config := func(overlap bool, bucket, accum int) func(int, nn.Module) Config {
		return func(_ int, m nn.Module) Config {
			return Config{Epochs: 2, BatchSize: 4, Seed: 3, AccumulateSteps: accum, ClipNorm: 1,
				OverlapAllReduce: overlap, BucketBytes: bucket,
				Optimizer: optim.Adam(nn.Parameters(m), optim.LR(0.01))}
		}
	}
	build := func(rank int) nn.Module { return buildModel(t, uint64(1+rank)) }
	for _, accum := range []int{1, 2} {
		plain := fitReplicas(t, 3, 100, build, config(false, 0, accum))
		for _, bucket := range []int{4, 40, 0} { // a bucket per parameter, a few, one
			t.Run(fmt.Sprintf("accumulate %d, buckets of %d bytes", accum, bucket), func(t *testing.T) {
				runs := fitReplicas(t, 3, 100, build, config(true, bucket, accum))
				for r, run := range runs {
					if run.err != nil || plain[r].err != nil {
						t.Fatalf("rank %d: %v, %v", r, run.err, plain[r].err)
					}
					if !slices.Equal(run.weights, plain[r].weights) {
						t.Fatalf("rank %d: the weights differ from those averaged after the backward pass", r)
					}
				}
			})
		}
	}
}

// TestOverlapLayout: the buckets follow the parameters in reverse order
// and their sizes only, the last one carries the stop flag.
func TestOverlapLayout(t *testing.T) {
	m := buildModel(t, 1) // linear(8): 2×8 + 8, linear(2): 8×2 + 2
	for _, tc := range []struct {
		floats int
		want   [][]int
	}{
		{1, [][]int{{3}, {2}, {1}, {0}}},
		{18, [][]int{{3, 2}, {1}, {0}}},
		{24, [][]int{{3, 2}, {1, 0}}},
		{26, [][]int{{3, 2, 1}, {0}}},
		{1000, [][]int{{3, 2, 1, 0}}},
	} {
		o := &overlap{comm: newGroup(1)[0], bucketFloats: tc.floats}
		o.layout(nn.Parameters(m))
		var got [][]int
		for _, b := range o.buckets {
			got = append(got, b.params)
		}
		if !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("buckets of %d floats: %v, want %v", tc.floats, got, tc.want)
		}
		last := o.buckets[len(o.buckets)-1]
		n := len(last.params) + 1
		for _, i := range last.params {
			n += o.params[i].Data.Size()
		}
		if len(last.buf) != n {
			t.Errorf("buckets of %d floats: the last bucket holds %d floats, want %d (gradients, flags, stop flag)", tc.floats, len(last.buf), n)
		}
		close(o.jobs)
	}
}

// TestOverlapInterruptStopsEveryReplica: with the overlap the stop flag
// still travels with the gradients of the same update on every replica.
func TestOverlapInterruptStopsEveryReplica(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps := make([]int, 2)
	runs := fitReplicas(t, 2, 96, func(int) nn.Module { return detModel(t) }, func(rank int, m nn.Module) Config {
		return Config{Epochs: 2, BatchSize: 4, Seed: 2, OverlapAllReduce: true, BucketBytes: 4,
			Optimizer: optim.SGD(nn.Parameters(m), optim.LR(0.1)),
			Callbacks: []Callback{CallbackFuncs{Step: func(s StepInfo) {
				steps[rank] = s.Step
				if rank == 1 && s.Step == 3 {
					cancel()
				}
			}}}}
	}, context.Background(), ctx)
	for r, run := range runs {
		if !errors.Is(run.err, ErrInterrupted) {
			t.Fatalf("rank %d: %v, want ErrInterrupted", r, run.err)
		}
	}
	if steps[0] != steps[1] || steps[0] != 4 {
		t.Fatalf("the replicas stopped after steps %v, want both after 4", steps)
	}
}
