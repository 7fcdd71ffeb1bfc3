package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/backprop-go/backprop/dist"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
)

// group is an in-process stand-in for an MPI job: its members are the
// replicas, one goroutine each, and its collectives add in rank order as
// the MPI communicator does. (The MPI communicator itself is tested under
// mpirun: dist's tests and cmd/backprop's distributed tests.)
type group struct {
	n       int
	mu      sync.Mutex
	cond    *sync.Cond
	pending []any
	done    []any
	arrived int
	gen     int
}

func newGroup(n int) []dist.Comm {
	g := &group{n: n}
	g.cond = sync.NewCond(&g.mu)
	out := make([]dist.Comm, n)
	for r := range out {
		out[r] = member{g, r}
	}
	return out
}

// gather returns every member's v, in rank order, once all have given one.
func (g *group) gather(rank int, v any) []any {
	g.mu.Lock()
	defer g.mu.Unlock()
	gen := g.gen
	if g.pending == nil {
		g.pending = make([]any, g.n)
	}
	g.pending[rank] = v
	if g.arrived++; g.arrived == g.n {
		g.done, g.pending, g.arrived = g.pending, nil, 0
		g.gen++
		g.cond.Broadcast()
	}
	for g.gen == gen {
		g.cond.Wait()
	}
	return g.done
}

type member struct {
	g    *group
	rank int
}

func (m member) Rank() int { return m.rank }
func (m member) Size() int { return m.g.n }
func (m member) AllReduce(buf []float32, op dist.Op) error {
	all := m.g.gather(m.rank, slices.Clone(buf))
	for i := range buf {
		s := all[0].([]float32)[i]
		for _, b := range all[1:] {
			s += b.([]float32)[i]
		}
		if op == dist.Mean {
			s /= float32(m.g.n)
		}
		buf[i] = s
	}
	return nil
}
func (m member) AllReduce64(buf []float64, op dist.Op) error {
	all := m.g.gather(m.rank, slices.Clone(buf))
	for i := range buf {
		s := all[0].([]float64)[i]
		for _, b := range all[1:] {
			s += b.([]float64)[i]
		}
		buf[i] = s
	}
	return nil
}
func (m member) Broadcast(buf []float32, root int) error {
	all := m.g.gather(m.rank, slices.Clone(buf))
	copy(buf, all[root].([]float32))
	return nil
}
func (m member) Barrier() error { m.g.gather(m.rank, nil); return nil }
func (m member) Abort(code int) { panic(fmt.Sprintf("rank %d aborted with %d", m.rank, code)) }
func (m member) Close() error   { return nil }

// replicaRun is what one replica's Fit gave.
type replicaRun struct {
	weights []float32
	hist    History
	err     error
	dir     string
}

// fitReplicas runs Fit on n replicas at once, on newBlobs(samples, 4), each with the model build
// makes for its rank and the config cfg makes for its rank.
func fitReplicas(t *testing.T, n, samples int, build func(rank int) nn.Module, cfg func(rank int, m nn.Module) Config, ctxs ...context.Context) []replicaRun {
	t.Helper()
	comms := newGroup(n)
	out := make([]replicaRun, n)
	var wg sync.WaitGroup
	for r := range n {
		wg.Go(func() {
			m := build(r)
			c := cfg(r, m)
			c.Distributed = comms[r]
			ctx := context.Background()
			if r < len(ctxs) {
				ctx = ctxs[r]
			}
			out[r].hist, out[r].err = Fit(ctx, m, newBlobs(samples, 4), c)
			out[r].dir = c.OutDir
			for _, p := range nn.Parameters(m) {
				out[r].weights = append(out[r].weights, p.Data.Data()...)
			}
		})
	}
	wg.Wait()
	return out
}

// TestDistributedEqualsGlobalBatch trains N replicas with batches of 8 and
// one process with batches of 8N on the same data: the global batches hold
// the same samples, so the weights agree to float32 rounding (the sums of
// the gradients are added in another order). The bound, 2e-6 relative
// (about 16 float32 ulps), is stated below; the test logs the largest
// difference it saw.
func TestDistributedEqualsGlobalBatch(t *testing.T) {
	const bound = 2e-6
	for _, tc := range []struct{ n, samples int }{{2, 100}, {3, 96}} { // 100: a partial last batch
		t.Run(fmt.Sprint(tc.n, " replicas"), func(t *testing.T) {
			cosine, err := optim.CosineAnnealingLR(3*((tc.samples+8*tc.n-1)/(8*tc.n)), 0)
			if err != nil {
				t.Fatal(err)
			}
			config := func(bs int, m nn.Module) Config {
				return Config{Epochs: 3, BatchSize: bs, Seed: 5, ClipNorm: 0.5, StepSchedule: cosine, Val: newBlobs(40, 7),
					Optimizer: optim.SGD(nn.Parameters(m), optim.LR(0.3), optim.Momentum(0.9))}
			}
			single := fitReplicas(t, 1, tc.samples, func(int) nn.Module { return detModel(t) }, func(_ int, m nn.Module) Config { return config(8*tc.n, m) })[0]
			if single.err != nil {
				t.Fatal(single.err)
			}
			runs := fitReplicas(t, tc.n, tc.samples, func(int) nn.Module { return detModel(t) }, func(_ int, m nn.Module) Config { return config(8, m) })
			worst := 0.0
			for r, run := range runs {
				if run.err != nil {
					t.Fatalf("rank %d: %v", r, run.err)
				}
				if !slices.Equal(run.weights, runs[0].weights) {
					t.Fatalf("rank %d's weights differ from rank 0's", r)
				}
				for i, w := range single.weights {
					d := math.Abs(float64(w-run.weights[i])) / max(1, math.Abs(float64(w)))
					worst = max(worst, d)
					if d > bound {
						t.Fatalf("weight %d: %v in one process with batches of %d, %v in %d replicas with batches of 8", i, w, 8*tc.n, run.weights[i], tc.n)
					}
				}
				for e := range single.hist {
					s, d := single.hist[e], run.hist[e]
					if s.Step != d.Step || math.Abs(s.TrainLoss-d.TrainLoss) > 1e-5 || math.Abs(s.ValLoss-d.ValLoss) > 1e-5 {
						t.Errorf("rank %d epoch %d: step %d loss %v val %v; one process: step %d loss %v val %v", r, e+1, d.Step, d.TrainLoss, d.ValLoss, s.Step, s.TrainLoss, s.ValLoss)
					}
				}
			}
			if slices.Equal(single.weights, nn.Parameters(detModel(t))[0].Data.Data()) {
				t.Fatal("the weights did not move: the comparison proves nothing")
			}
			t.Logf("%d replicas vs one process: largest relative weight difference %.3g (bound %g)", tc.n, worst, bound)
		})
	}
}

// TestDistributedIsDeterministic: two runs of three replicas give the same
// weights bit for bit, rank 1 starts from other weights and still ends
// with rank 0's (the initial broadcast), and only rank 0 writes files.
func TestDistributedIsDeterministic(t *testing.T) {
	build := func(rank int) nn.Module { return buildModel(t, uint64(1+rank)) } // dropout too
	var first []replicaRun
	for try := range 2 {
		runs := fitReplicas(t, 3, 96, build, func(rank int, m nn.Module) Config {
			return Config{Epochs: 2, BatchSize: 4, Seed: 2, OutDir: t.TempDir(),
				Optimizer: optim.Adam(nn.Parameters(m), optim.LR(0.01))}
		})
		for r, run := range runs {
			if run.err != nil {
				t.Fatalf("rank %d: %v", r, run.err)
			}
			if !slices.Equal(run.weights, runs[0].weights) {
				t.Fatalf("run %d: rank %d's weights differ from rank 0's", try, r)
			}
			entries, _ := os.ReadDir(run.dir)
			if (r == 0) != (len(entries) > 0) {
				t.Errorf("rank %d wrote %d files; only rank 0 writes", r, len(entries))
			}
		}
		if first != nil && !slices.Equal(first[0].weights, runs[0].weights) {
			t.Fatal("two runs with the same seed and replicas differ")
		}
		first = runs
	}
	ck, err := LoadCheckpoint(filepath.Join(first[0].dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta[MetaWorldSize] != "3" || ck.Step != 2*8 {
		t.Errorf("checkpoint: world size %q at step %d, want 3 at 16 (96 samples, 3 × 4 a step)", ck.Meta[MetaWorldSize], ck.Step)
	}
}

// TestDistributedInterruptStopsEveryReplica cancels one replica's context
// only: every replica stops after the same update, and rank 0 saves it.
func TestDistributedInterruptStopsEveryReplica(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps := make([]int, 2)
	runs := fitReplicas(t, 2, 96, func(int) nn.Module { return detModel(t) }, func(rank int, m nn.Module) Config {
		return Config{Epochs: 2, BatchSize: 4, Seed: 2, OutDir: t.TempDir(),
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
		t.Fatalf("the replicas stopped after steps %v, want both after 4 (the update after the interruption)", steps)
	}
	ck, err := LoadCheckpoint(filepath.Join(runs[0].dir, CheckpointFile))
	if err != nil || ck.Step != 4 {
		t.Fatalf("rank 0's checkpoint: %v, step %v; want step 4", err, ck)
	}
	// Resumed mid-epoch by 2 replicas, it ends as a run not stopped.
	config := func(rank int, m nn.Module, resume *Checkpoint) Config {
		return Config{Epochs: 2, BatchSize: 4, Seed: 2, Resume: resume, Optimizer: optim.SGD(nn.Parameters(m), optim.LR(0.1))}
	}
	full := fitReplicas(t, 2, 96, func(int) nn.Module { return detModel(t) }, func(rank int, m nn.Module) Config { return config(rank, m, nil) })
	resumed := fitReplicas(t, 2, 96, func(int) nn.Module { return detModel(t) }, func(rank int, m nn.Module) Config { return config(rank, m, ck) })
	for r := range resumed {
		if resumed[r].err != nil || full[r].err != nil {
			t.Fatalf("rank %d: %v, %v", r, resumed[r].err, full[r].err)
		}
		if !slices.Equal(resumed[r].weights, full[r].weights) {
			t.Fatalf("rank %d: the run resumed at step 4 ends with other weights than the run not stopped", r)
		}
	}
	// Mid-epoch, it resumes only with as many replicas.
	m := detModel(t)
	_, err = Fit(context.Background(), m, newBlobs(96, 4), Config{Epochs: 2, BatchSize: 4, Seed: 2, Resume: ck,
		Optimizer: optim.SGD(nn.Parameters(m), optim.LR(0.1)), Distributed: newGroup(3)[0]})
	if err == nil {
		t.Fatal("a mid-epoch checkpoint of 2 replicas resumed with 3")
	}
}
