package tensor

import (
	"runtime"

	"github.com/backprop-go/backprop/internal/gemm"
)

// ParallelFor splits [0, n) into contiguous ranges of at least minPer
// indices and calls f on each, in up to GOMAXPROCS goroutines, returning
// when all are done. It is for loops whose every output element depends on
// one index only (element-wise maps), which then give the same results
// whatever the split.
func ParallelFor(n, minPer int, f func(lo, hi int)) { parallelFor(n, minPer, f) }

// parallelFor splits [0, n) into contiguous ranges and calls f on each, in
// up to GOMAXPROCS goroutines, returning when all are done. Callers make
// every output element depend on one index only, so the results are the
// same whatever the split (bit-identical for any thread count). minPer is
// the fewest indices worth a goroutine of their own.
func parallelFor(n, minPer int, f func(lo, hi int)) {
	t := min(runtime.GOMAXPROCS(0), n/max(minPer, 1))
	if t <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	// gemm's fork/join keeps its workers polling for a while after each
	// call, so the many short loops of a training step do not each pay for
	// waking an idle thread.
	gemm.Parallel(t, func(i int) { f(i*n/t, (i+1)*n/t) })
}
