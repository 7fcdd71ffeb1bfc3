package gemm

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Measure times C = op(A)·op(B) for an m×k by k×n product on the given
// number of threads and returns its speed in GFLOP/s (2·m·n·k flops per
// product), the median of reps timed repetitions of about 0.1 s each
// after a warm-up, as the peers' script measures them. It
// restores the thread setting before returning. It exists for benchmark
// commands; matrices are filled with random values.
func Measure(transA, transB bool, m, n, k, threads, reps int) (gflops float64) {
	prev := int(threadsSetting.Load())
	defer threadsSetting.Store(int64(prev))
	SetThreads(threads)
	reps = max(reps, 1)
	r := rand.New(rand.NewPCG(1, 1))
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = r.Float32()
	}
	for i := range b {
		b[i] = r.Float32()
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	// Time the way shared/bench/gemm_py.py times the peers: calibrate an
	// inner count so one timed repetition lasts about 0.1 s, warm up with
	// up to 50 products, then time reps repetitions.
	call := func() { Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n) }
	call()
	t0 := time.Now()
	call()
	inner := max(1, int(0.1/max(time.Since(t0).Seconds(), 1e-7)))
	for range min(inner, 50) {
		call()
	}
	times := make([]float64, reps)
	for i := range times {
		t0 := time.Now()
		for range inner {
			call()
		}
		times[i] = time.Since(t0).Seconds() / float64(inner)
	}
	slices.Sort(times)
	return 2 * float64(m) * float64(n) * float64(k) / times[reps/2] / 1e9
}
