package nn_test

import (
	"math"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// TestFusedForwardMatchesLayerByLayer runs models whose layer runs fuse
// (Conv2d-ReLU-MaxPool2d, Conv2d-ReLU, Linear-ReLU) through Sequential and
// layer by layer, and compares outputs and gradients bit for bit.
func TestFusedForwardMatchesLayerByLayer(t *testing.T) {
	specs := []string{
		"conv(4,3,pad=1) relu maxpool(2) conv(6,3,pad=1) relu flatten linear(8) relu linear(3)",
		"conv(4,3,stride=2) relu maxpool(3,stride=1) flatten linear(5)",
		"flatten linear(7) relu relu linear(2)",
	}
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			run := func(fused bool) (out []float32, grads [][]float32) {
				m, err := nn.Build(spec, []int{2, 9, 9}, nn.Seed(4))
				if err != nil {
					t.Fatal(err)
				}
				x := ag.Const(tensor.FromFunc(func(i int) float32 { return float32(math.Sin(float64(i))) }, 3, 2, 9, 9))
				var y *ag.Value
				if fused {
					y = m.Forward(x)
				} else {
					y = x
					for _, l := range m.Layers {
						y = l.Forward(y)
					}
				}
				out = append([]float32(nil), y.Data.Data()...)
				ag.Sum(ag.Mul(y, y)).Backward()
				for _, p := range nn.Parameters(m) {
					grads = append(grads, p.Grad.Data())
				}
				return out, grads
			}
			fo, fg := run(true)
			uo, ug := run(false)
			for i := range fo {
				if math.Float32bits(fo[i]) != math.Float32bits(uo[i]) {
					t.Fatalf("output %d: fused %v, layer by layer %v", i, fo[i], uo[i])
				}
			}
			for k := range fg {
				for i := range fg[k] {
					if math.Float32bits(fg[k][i]) != math.Float32bits(ug[k][i]) {
						t.Fatalf("parameter %d gradient %d: fused %v, layer by layer %v", k, i, fg[k][i], ug[k][i])
					}
				}
			}
		})
	}
}
