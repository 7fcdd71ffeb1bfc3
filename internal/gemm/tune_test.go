package gemm

import (
	"fmt"
	"os"
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
