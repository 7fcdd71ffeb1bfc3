package train

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
)

// bnModel is detModel with a batch norm, whose statistics differ between
// a replica's batch and the global batch.
func bnModel(t *testing.T) nn.Module {
	t.Helper()
	m, err := nn.Build("linear(8) batchnorm tanh linear(2)", []int{2}, nn.Seed(3))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSyncBatchNormEqualsGlobalBatch: N replicas with batches of 8 and
// SyncBatchNorm (with and without the overlapped all-reduce, which changes no bit) end with the
// weights and running statistics of one process with batches of 8N, to
// within 2e-5 relative (the bound: float32 rounding of the statistics,
// summed in float64 across the replicas and in float32 in one process,
// over 3 epochs); without SyncBatchNorm they do not, which shows that the
// comparison can fail.
func TestSyncBatchNormEqualsGlobalBatch(t *testing.T) {
	const bound = 1e-5
	state := func(m nn.Module) []float32 {
		var out []float32
		for _, e := range nn.NamedState(m) {
			out = append(out, e.Tensor.Data()...)
		}
		return out
	}
	for _, tc := range []struct{ n, samples int }{{2, 100}, {3, 96}} {
		config := func(bs int, m nn.Module) Config {
			return Config{Epochs: 3, BatchSize: bs, Seed: 5, Val: newBlobs(40, 7),
				Optimizer: optim.SGD(nn.Parameters(m), optim.LR(0.2), optim.Momentum(0.9))}
		}
		run := func(t *testing.T, n, bs int, sync, overlap bool) [][]float32 {
			comms := newGroup(n)
			out := make([][]float32, n)
			errs := make([]error, n)
			done := make(chan struct{})
			for r := range n {
				go func() {
					defer func() { done <- struct{}{} }()
					m := bnModel(t)
					c := config(bs, m)
					c.Distributed, c.SyncBatchNorm, c.OverlapAllReduce, c.BucketBytes = comms[r], sync, overlap, 40
					_, errs[r] = Fit(t.Context(), m, newBlobs(tc.samples, 4), c)
					out[r] = state(m)
				}()
			}
			for range n {
				<-done
			}
			for r, err := range errs {
				if err != nil {
					t.Fatalf("rank %d: %v", r, err)
				}
			}
			return out
		}
		single := run(t, 1, 8*tc.n, false, false)[0]
		worstDiff := func(got []float32) float64 {
			worst := 0.0
			for i, w := range single {
				worst = max(worst, math.Abs(float64(w-got[i]))/max(1, math.Abs(float64(w))))
			}
			return worst
		}
		var plain []float32
		for _, overlap := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d replicas, overlap %v", tc.n, overlap), func(t *testing.T) {
				runs := run(t, tc.n, 8, true, overlap)
				if plain == nil {
					plain = runs[0]
				} else if !slices.Equal(runs[0], plain) {
					t.Fatal("the overlapped all-reduce changed the weights")
				}
				for r := range runs {
					if !slices.Equal(runs[r], runs[0]) {
						t.Fatalf("rank %d's weights and statistics differ from rank 0's", r)
					}
				}
				if d := worstDiff(runs[0]); d > bound {
					t.Fatalf("largest relative difference from one process with batches of %d: %.3g, bound %g", 8*tc.n, d, bound)
				} else {
					t.Logf("%d replicas with SyncBatchNorm vs one process: largest relative difference %.3g (bound %g)", tc.n, d, bound)
				}
			})
		}
		if d := worstDiff(run(t, tc.n, 8, false, false)[0]); d <= bound {
			t.Errorf("%d replicas without SyncBatchNorm differ from one process by only %.3g: the test cannot tell", tc.n, d)
		}
	}
}

// TestSyncBatchNormResumeWarns: the checkpoint records SyncBatchNorm, and
// resuming it without (or a run without it with it) warns, on every
// replica, that its batch norms now learn otherwise; resuming it the same
// way does not.
func TestSyncBatchNormResumeWarns(t *testing.T) {
	cfg := func(sync bool, resume *Checkpoint, out string, warn []*strings.Builder) func(int, nn.Module) Config {
		return func(rank int, m nn.Module) Config {
			c := Config{Epochs: 1 + btoi(resume != nil), BatchSize: 8, Seed: 1, SyncBatchNorm: sync, Resume: resume,
				Optimizer: optim.SGD(nn.Parameters(m), optim.LR(0.1))}
			if rank == 0 {
				c.OutDir = out
			}
			if warn != nil {
				c.Warn = warn[rank]
			}
			return c
		}
	}
	for _, sync := range []bool{true, false} {
		dir := t.TempDir()
		first := fitReplicas(t, 2, 64, func(int) nn.Module { return bnModel(t) }, cfg(sync, nil, dir, nil))
		if first[0].err != nil || first[1].err != nil {
			t.Fatal(first[0].err, first[1].err)
		}
		ck, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile))
		if err != nil {
			t.Fatal(err)
		}
		if got := ck.Meta[MetaSyncBatchNorm] == "1"; got != sync {
			t.Fatalf("SyncBatchNorm %v: the checkpoint records %q", sync, ck.Meta[MetaSyncBatchNorm])
		}
		for _, again := range []bool{sync, !sync} {
			warn := []*strings.Builder{{}, {}}
			runs := fitReplicas(t, 2, 64, func(int) nn.Module { return bnModel(t) }, cfg(again, ck, t.TempDir(), warn))
			for r, run := range runs {
				if run.err != nil {
					t.Fatalf("rank %d: %v", r, run.err)
				}
				if warned := strings.Contains(warn[r].String(), "synchronised batch norm"); warned != (again != sync) {
					t.Errorf("trained with SyncBatchNorm %v, resumed with %v: rank %d warned %q", sync, again, r, warn[r].String())
				}
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
