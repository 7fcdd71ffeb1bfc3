package serve

import (
	"fmt"
	"testing"

	"github.com/backprop-go/backprop/nn"
)

// BenchmarkForward measures the in-process inference the workers run, on
// the MLP and CNN presets at batch 1 and 32, in samples per second: the
// figure to set beside ONNX Runtime's (serve/loadtest/ort_bench.js), and
// the CPU time per pass.
func BenchmarkForward(b *testing.B) {
	for _, arch := range []struct{ name, spec string }{
		{"mlp", "flatten linear(256) relu linear(128) relu linear(10)"},
		{"cnn", "conv(32,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten linear(128) relu dropout(0.25) linear(10)"},
	} {
		m, err := nn.Build(arch.spec, []int{1, 28, 28}, nn.Seed(1))
		if err != nil {
			b.Fatal(err)
		}
		nn.Eval(m)
		s, err := New(Model{Module: m, InputShape: []int{1, 28, 28}}, Config{Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/batch%d", arch.name, batch), func(b *testing.B) {
				x := make([]float32, batch*s.size)
				for i := range x {
					x[i] = float32(i%17) / 17
				}
				c0 := cpuTime()
				for b.Loop() {
					if _, err := s.forward(x, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
				// CPU time per pass, all threads: steadier than wall time on
				// a shared machine (run with GOMAXPROCS=1 to keep the GEMM
				// workers' polling out of it).
				b.ReportMetric((cpuTime()-c0)*1e6/float64(b.N), "cpu-µs/op")
			})
		}
		s.Close()
	}
}
