package gemm

import (
	"fmt"
	"testing"
)

// modelShape is one product that a model of the issues runs, in the form
// (transposed flags) in which its layer calls Sgemm, and with its beta
// (1 where the product accumulates into C, as Linear does onto its bias).
type modelShape struct {
	name    string
	tr      string // "nn", "nt", "tn" or "tt"
	m, n, k int
	beta    float32
}

// modelShapes are the products of the W-LM gpt and lstm training steps and
// of the ResNet-18 step, as tensor's Linear (x·wᵀ + b, dx = g·w,
// dw = gᵀ·x), fused attention, fused LSTM and im2col convolutions call
// them.
var modelShapes = []modelShape{
	// gpt: batch 32 × context 128 = 4096 rows, dim 128, ff 512, vocab 256.
	{"gpt-qkv", "nt", 4096, 384, 128, 1},
	{"gpt-out", "nt", 4096, 128, 128, 1},
	{"gpt-ff1", "nt", 4096, 512, 128, 1},
	{"gpt-ff2", "nt", 4096, 128, 512, 1},
	{"gpt-head", "nt", 4096, 256, 128, 1},
	{"gpt-qkv-dx", "nn", 4096, 128, 384, 0},
	{"gpt-ff1-dx", "nn", 4096, 128, 512, 0},
	{"gpt-ff2-dx", "nn", 4096, 512, 128, 0},
	{"gpt-qkv-dw", "tn", 384, 128, 4096, 0},
	{"gpt-ff2-dw", "tn", 128, 512, 4096, 0},
	// attention per (sample, head), head dim 32, causal blocks of 64 rows.
	{"attn-scores", "nt", 64, 128, 32, 0},
	{"attn-scores64", "nt", 64, 64, 32, 0},
	{"attn-pv", "nn", 64, 32, 128, 0},
	{"attn-pv64", "nn", 64, 32, 64, 0},
	{"attn-dk", "tn", 64, 32, 128, 0},
	// lstm: hidden 256, batch 32; the gates of a step in one product.
	{"lstm-step", "nn", 32, 1024, 256, 1},
	{"lstm-dh", "nn", 32, 256, 1024, 0},
	{"lstm-dwhh", "tn", 1024, 256, 4096, 0},
	{"lstm-in", "nt", 4096, 1024, 64, 1},
	{"lstm-in-dx", "nn", 4096, 64, 1024, 0},
	// ResNet-18 (channels-first im2col: W·cols, or colsᵀ·Wᵀ for 256 and
	// more output channels), training at 64², inference at 224².
	{"conv1", "nn", 64, 8192, 147, 0},
	{"conv64", "nn", 64, 8192, 576, 0},
	{"conv128", "nn", 128, 2048, 1152, 0},
	{"conv256", "tt", 512, 256, 2304, 0},
	{"conv512", "tt", 128, 512, 4608, 0},
	{"conv64-224", "nn", 64, 12544, 576, 0},
	{"conv256-224", "tt", 3136, 256, 2304, 0},
	{"conv64-dw", "nt", 64, 576, 8192, 0},
	{"conv64-dx", "tn", 576, 8192, 64, 0},
	{"conv256-dx", "tn", 2304, 512, 256, 0},
	// ResNet-18's step (batch 32 of 64²) as it runs them, a block of
	// images at a time: forward W·cols or colsᵀ·Wᵀ, partial dW = G·colsᵀ,
	// dcols = Wᵀ·G.
	{"r-l1-fwd", "nn", 64, 512, 576, 0},
	{"r-l1-dw", "nt", 64, 576, 512, 0},
	{"r-l1-dcols", "tn", 576, 512, 64, 0},
	{"r-l2-fwd", "nn", 128, 192, 1152, 0},
	{"r-l2-dw", "nt", 128, 1152, 192, 0},
	{"r-l2-dcols", "tn", 1152, 192, 128, 0},
	{"r-l3-fwd", "tt", 64, 256, 2304, 0},
	{"r-l3-dw", "nt", 256, 2304, 64, 0},
	{"r-conv1-fwd", "nn", 64, 2048, 147, 0},
	{"r-conv1-dw", "nt", 64, 147, 2048, 0},
	// ResNet-18's last stage as the step runs it, a block of 8 images of
	// 2×2 positions at a time: dcols = Wᵀ·G, the partial dW = G·colsᵀ,
	// the forward colsᵀ·Wᵀ.
	{"l4-dcols", "tn", 4608, 32, 512, 0},
	{"l4-dw", "nt", 512, 4608, 32, 0},
	{"l4-fwd", "tt", 32, 512, 4608, 0},
	{"l3-dcols", "tn", 2304, 64, 256, 0},
	// Tall convolution-shaped products and a large square, to watch.
	{"tall-12544", "tt", 12544, 64, 288, 0},
	{"tall-50176", "tt", 50176, 64, 288, 0},
	{"sq-1024", "nn", 1024, 1024, 1024, 0},
}

// BenchmarkShapes reports GFLOP/s (wall and CPU time) on the products of
// the models, on 1 and 2 threads, with the kernel in use:
// go test ./internal/gemm -run XXX -bench Shapes/t1.
func BenchmarkShapes(b *testing.B) {
	defer SetThreads(0)
	for _, t := range []int{1, 2} {
		for _, s := range modelShapes {
			name := fmt.Sprintf("t%d/%s/%s-%dx%dx%d", t, s.name, s.tr, s.m, s.k, s.n)
			b.Run(name, func(b *testing.B) { benchModelShape(b, s, t) })
		}
	}
}

func benchModelShape(b *testing.B, s modelShape, t int) {
	SetThreads(t)
	transA, transB := s.tr[0] == 't', s.tr[1] == 't'
	m, n, k := s.m, s.n, s.k
	a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
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
	Sgemm(transA, transB, m, n, k, 1, a, lda, bb, ldb, s.beta, c, n)
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		Sgemm(transA, transB, m, n, k, 1, a, lda, bb, ldb, s.beta, c, n)
	}
	flop := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
	b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(flop/(cpuTime()-c0)/1e9, "cpu-GFLOP/s")
}
