package gemm

import (
	"fmt"
	"os"
	"regexp"
	"testing"
)

// TestMain lets GEMM_BLOCKS="mc,kc,nc" override the active kernel's cache
// blocking, for tuning sweeps with the benchmarks.
func TestMain(m *testing.M) {
	if s := os.Getenv("GEMM_BLOCKS"); s != "" {
		for _, k := range kernelList {
			if _, err := fmt.Sscanf(s, "%d,%d,%d", &k.mc, &k.kc, &k.nc); err != nil {
				panic(err)
			}
		}
	}
	os.Exit(m.Run())
}

// TestTune prints GFLOP/s measured by process CPU time rather than wall
// time, which keeps single-thread figures usable on a machine shared with
// other jobs. GEMM_TUNE is a regular expression selecting shapes by name,
// e.g. GEMM_TUNE='nn 1024' go test -count=1 -run Tune -v .
func TestTune(t *testing.T) {
	if os.Getenv("GEMM_TUNE") == "" {
		t.Skip("set GEMM_TUNE=1")
	}
	SetThreads(1)
	defer SetThreads(0)
	for _, tr := range []string{"nn", "tn", "nt"} {
		for _, sh := range benchShapes {
			transA, transB := tr[0] == 't', tr[1] == 't'
			m, n, k := sh.m, sh.n, sh.k
			name := fmt.Sprintf("%s %dx%dx%d", tr, m, k, n)
			if ok, _ := regexp.MatchString(os.Getenv("GEMM_TUNE"), name); !ok {
				continue
			}
			a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			lda, ldb := k, n
			if transA {
				lda = m
			}
			if transB {
				ldb = k
			}
			reps := max(3, int(3e9/(2*float64(m*n*k))))
			best := 0.0
			for range 5 {
				t0 := cpuTime()
				for range reps {
					Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n)
				}
				g := 2 * float64(m*n*k) * float64(reps) / (cpuTime() - t0) / 1e9
				best = max(best, g)
			}
			fmt.Printf("%s: %.1f GFLOP/s (best of 5, CPU time)\n", name, best)
		}
	}
}
