package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// TestConvBatchNormFusedMatchesLayers checks that a graph-free forward
// pass, which runs Conv2d-BatchNorm2d[-ReLU[-MaxPool2d]] as one op, gives
// the bits of the layers applied one at a time, and of a forward pass
// that records a graph; and that a batch norm in training mode is not
// fused (its running statistics must still move).
func TestConvBatchNormFusedMatchesLayers(t *testing.T) {
	specs := []string{
		"conv(8,3,pad=1) batchnorm relu maxpool(2) conv(16,3,pad=1) batchnorm relu maxpool(2) flatten linear(10)",
		"conv(6,3) batchnorm relu conv(4,3,stride=2) batchnorm flatten linear(3)",
		"conv(4,3,pad=1) batchnorm relu maxpool(3) flatten linear(2)",
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, spec := range specs {
		m, err := Build(spec, []int{3, 13, 13}, Seed(2))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range m.Layers {
			if bn, ok := l.(*BatchNormModule); ok {
				for i := range bn.RunningMean.Data() {
					bn.RunningMean.Data()[i] = float32(r.NormFloat64())
					bn.RunningVar.Data()[i] = float32(r.Float64() + 0.2)
					bn.Weight.Data.Data()[i] = float32(r.NormFloat64())
					bn.Bias.Data.Data()[i] = float32(r.NormFloat64())
				}
			}
		}
		Eval(m)
		const n = 5
		x := make([]float32, n*3*13*13)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		in := func() *tensor.Tensor { return tensor.New(append([]float32(nil), x...), n, 3, 13, 13) }
		fused := m.Forward(ag.NoGraph(in())).Data.Data()
		v := ag.NoGraph(in())
		for _, l := range m.Layers {
			v = l.Forward(v)
		}
		graph := m.Forward(ag.Const(in())).Data.Data()
		for i, w := range v.Data.Data() {
			if math.Float32bits(fused[i]) != math.Float32bits(w) || math.Float32bits(graph[i]) != math.Float32bits(w) {
				t.Fatalf("%s: [%d] fused %v, with a graph %v, layer by layer %v", spec, i, fused[i], graph[i], w)
			}
		}
		Train(m)
		bn := m.Layers[1].(*BatchNormModule)
		before := bn.RunningMean.Data()[0]
		m.Forward(ag.NoGraph(in()))
		if bn.RunningMean.Data()[0] == before {
			t.Fatalf("%s: training-mode batch norm did not update its running mean", spec)
		}
	}
}
