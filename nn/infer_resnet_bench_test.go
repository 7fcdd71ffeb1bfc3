package nn_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// BenchmarkResNet18CPUInferPrepared times ResNet-18's inference at
// 224×224 by nn.Infer and by a model prepared once by nn.NewInference (as
// serve and bench --workload resnet18 run it), side by side, in wall and
// CPU time.
func BenchmarkResNet18CPUInferPrepared(b *testing.B) {
	m := nn.ResNet18(1000, nn.Seed(1))
	nn.Eval(m)
	p := nn.NewInference(m)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 32} {
		x := randImages(r, n, 224)
		for _, path := range []string{"infer", "prepared"} {
			b.Run(fmt.Sprintf("batch%d/%s", n, path), func(b *testing.B) {
				c0 := cpuTime()
				for b.Loop() {
					if path == "infer" {
						tensor.Recycle(nn.Infer(m, x))
					} else {
						tensor.Recycle(p.Infer(x))
					}
				}
				b.ReportMetric((cpuTime()-c0)*1e3/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
