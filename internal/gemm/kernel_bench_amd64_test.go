//go:build amd64 && !noasm

package gemm

import "testing"

// BenchmarkKernel512 times the AVX-512 micro-kernel alone on L1-resident
// panels: the ceiling the blocked driver can approach.
func BenchmarkKernel512(b *testing.B) {
	if !hasKernel("avx512") {
		b.Skip("no AVX-512")
	}
	const kc = 256
	a := make([]float32, 14*kc)
	bp := make([]float32, 32*kc)
	c := make([]float32, 14*32)
	for b.Loop() {
		kern512[13][1](kc, &a[0], &bp[0], 32, &c[0], 32, 1, 1, ^uint32(0))
	}
	b.ReportMetric(2*14*32*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
