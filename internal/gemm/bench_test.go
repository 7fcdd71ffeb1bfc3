package gemm

import (
	"fmt"
	"testing"
	"time"
)

// benchShapes are the products that matter to backprop (M×K·K×N): square
// layers, the MNIST MLP at batch 64, and convolutions lowered to GEMM.
var benchShapes = []shape{
	{128, 128, 128}, {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
	{64, 256, 784}, {64, 128, 256}, {12544, 64, 288}, {50176, 64, 288}, {1, 256, 784}, {1, 128, 256}, {4, 256, 784},
}

// BenchmarkSgemm reports GFLOP/s for each shape, transpose form, thread
// count and kernel. Select with -bench, e.g. -bench 'Sgemm/avx512/nn/1024x1024x1024/t1'.
func BenchmarkSgemm(b *testing.B) {
	defer SetThreads(0)
	for _, kname := range kernelNames() {
		b.Run(kname, func(b *testing.B) {
			defer useKernel(kname)()
			for _, tr := range []string{"nn", "tn", "nt"} {
				for _, sh := range benchShapes {
					for _, t := range []int{1, 2} {
						name := fmt.Sprintf("%s/%dx%dx%d/t%d", tr, sh.m, sh.k, sh.n, t)
						b.Run(name, func(b *testing.B) { benchOne(b, tr, sh, t) })
					}
				}
			}
		})
	}
}

func benchOne(b *testing.B, tr string, sh shape, t int) {
	SetThreads(t)
	transA, transB := tr[0] == 't', tr[1] == 't'
	m, n, k := sh.m, sh.n, sh.k
	a := make([]float32, m*k)
	bb := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range bb {
		bb[i] = float32(i%5) - 2
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	Sgemm(transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		Sgemm(transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	flop := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
	b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	// Per second of CPU time, all threads: on one thread, steadier than
	// wall time on a shared machine.
	b.ReportMetric(flop/(cpuTime()-c0)/1e9, "cpu-GFLOP/s")
}

// BenchmarkForkJoin times a 2-way parallel call that follows 20 µs of
// serial work (as the calls of a training step follow its element-wise
// passes), through the persistent workers and, for comparison, through
// fresh goroutines (the forceSpawn hook), whose idle thread has by then
// gone to sleep.
func BenchmarkForkJoin(b *testing.B) {
	for _, spawn := range []bool{false, true} {
		name := "pool"
		if spawn {
			name = "spawn"
		}
		b.Run(name, func(b *testing.B) {
			defer func(v bool) { forceSpawn = v }(forceSpawn)
			forceSpawn = spawn
			var sink [2]float64
			for range b.N {
				t0 := time.Now()
				for time.Since(t0) < 20*time.Microsecond {
				}
				parallel(2, func(w int) {
					for i := range 1000 {
						sink[w] += float64(i)
					}
				})
			}
		})
	}
}
