package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/dist"
	"github.com/backprop-go/backprop/dist/mpitest"
)

// TestMPIOverlapAndSyncBatchNorm runs 2 replicas of a model with a batch
// norm under mpirun: --overlap-allreduce (in buckets of a few hundred
// bytes, so several) gives the weights of the plain all-reduce bit for
// bit, with and without --sync-batchnorm; and with --sync-batchnorm the
// weights and running statistics are those of one process with the
// global batch to within 1e-5 relative (float32 rounding of the
// statistics, summed in float64 across replicas).
func TestMPIOverlapAndSyncBatchNorm(t *testing.T) {
	mpitest.Skip(t)
	const bound = 1e-5
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 480)
	common := []string{"--data", csvPath, "--model", "flatten linear(16) batchnorm tanh linear(2)", "--seed", "4", "--test-split", "0", "--threads", "1", "--epochs", "2"}
	train := func(n int, name string, args ...string) map[string][]float32 {
		out := filepath.Join(dir, name)
		mpiTrain(t, n, append(append([]string{"--out", out}, common...), args...)...)
		return modelTensors(t, out)
	}
	overlap := []string{"--overlap-allreduce", "--bucket-mb", "0.0002"}
	sameBits(t, train(2, "plain", "--batch-size", "8"), train(2, "overlap", append(overlap, "--batch-size", "8")...))
	synced := train(2, "sync", "--batch-size", "8", "--sync-batchnorm")
	sameBits(t, synced, train(2, "sync-overlap", append(overlap, "--batch-size", "8", "--sync-batchnorm")...))
	one := train(0, "one", "--batch-size", "16")
	worst := 0.0
	for k, va := range one {
		for i, w := range va {
			d := math.Abs(float64(w-synced[k][i])) / max(1, math.Abs(float64(w)))
			if worst = max(worst, d); d > bound {
				t.Fatalf("%s[%d] is %v with 2 replicas and --sync-batchnorm, %v in one process", k, i, synced[k][i], w)
			}
		}
	}
	t.Logf("2 replicas with --sync-batchnorm vs one process: largest relative difference %.3g (bound %g)", worst, bound)
}

// sized is a Comm of size n for the messages' tests.
type sized struct {
	dist.Comm
	n int
}

func (s sized) Size() int { return s.n }

// TestResumeCommandNamesMPIRun: the interrupt message's command resumes a
// distributed run under mpirun with as many replicas.
func TestResumeCommandNamesMPIRun(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{1, "backprop train --resume runs/x"}, {3, "mpirun -np 3 backprop train --resume runs/x"}} {
		j := &job{comm: sized{dist.Local(), tc.n}}
		if got := j.resumeCommand("runs/x"); got != tc.want {
			t.Errorf("%d replicas: %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestBucketFlag: --bucket-mb takes a size in MB above 0.
func TestBucketFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{{"0.25", 256 << 10, true}, {"4", 4 << 20, true}, {"0", 0, false}, {"-1", 0, false}, {"x", 0, false}, {"NaN", 0, false}, {"5000", 0, false}} {
		var b bucketFlag
		err := b.Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && int(b) != tc.want) {
			t.Errorf("--bucket-mb %s: %d bytes, error %v; want %d, ok %v", tc.in, int(b), err, tc.want, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "MB") {
			t.Errorf("--bucket-mb %s: error %q does not say what it wants", tc.in, err)
		}
	}
}
