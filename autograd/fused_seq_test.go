package autograd_test

import (
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// TestFusedSequenceOpsMatchComposite runs the float32 paths of RNN (LSTM)
// and MultiHeadAttention, which take the fused kernels, against the same
// ops in float64, which take the composite of plain ops: outputs and every
// input's gradient must agree on awkward sizes (odd hidden sizes, T not a
// multiple of the kernels' blocks, reverse directions, several layers).
func TestFusedSequenceOpsMatchComposite(t *testing.T) {
	lstm := func(cfg ag.RNNConfig, bias bool) func(v []*ag.Value) *ag.Value { return runRNN(cfg, bias) }
	cases := []struct {
		name   string
		inputs func(r *rand.Rand) []*tensor.Tensor
		f      func(v []*ag.Value) *ag.Value
	}{
		{"LSTM T=7 N=5 H=3", rnnInputs(ag.CellLSTM, false, 5, 7, 4, 3, 1, 1, true), lstm(ag.RNNConfig{Cell: ag.CellLSTM}, true)},
		{"LSTM 2 layers bidirectional batch_first, no bias", rnnInputs(ag.CellLSTM, true, 3, 9, 2, 5, 2, 2, false),
			lstm(ag.RNNConfig{Cell: ag.CellLSTM, Layers: 2, Bidirectional: true, BatchFirst: true}, false)},
		{"LSTM T=1", rnnInputs(ag.CellLSTM, true, 2, 1, 3, 4, 1, 2, true), lstm(ag.RNNConfig{Cell: ag.CellLSTM, Bidirectional: true, BatchFirst: true}, true)},
		{"attention causal T=70 (two blocks)", shapes(rn(2, 70, 6), rn(18, 6), rn(18), rn(6, 6), rn(6)), func(v []*ag.Value) *ag.Value {
			return ag.MultiHeadAttention(v[0], v[1], v[2], v[3], v[4], 3, ag.MHAOptions{Causal: true})
		}},
		{"attention T=5, no bias", shapes(rn(3, 5, 4), rn(12, 4), rn(4, 4)), func(v []*ag.Value) *ag.Value {
			return ag.MultiHeadAttention(v[0], v[1], nil, v[2], nil, 2, ag.MHAOptions{})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(rand.New(rand.NewPCG(3, 4)))
			run := func(dt tensor.DType) (out []float64, grads [][]float64) {
				vals := make([]*ag.Value, len(in))
				for i, x := range in {
					vals[i] = ag.Param(x.To(dt))
				}
				y := c.f(vals)
				w := make([]float32, y.Data.Size())
				for i := range w {
					w[i] = float32(math.Sin(float64(i)))
				}
				ag.Sum(ag.Mul(y, ag.Const(tensor.New(w, y.Shape()...).To(dt)))).Backward()
				for i := range y.Data.Size() {
					out = append(out, y.Data.Float(i))
				}
				for _, v := range vals {
					g := make([]float64, v.Grad.Size())
					for i := range g {
						g[i] = v.Grad.Float(i)
					}
					grads = append(grads, g)
				}
				return out, grads
			}
			fo, fg := run(tensor.Float32)
			co, cg := run(tensor.Float64)
			// float32 against float64: the unit-variance weights make peaked
			// attention scores (tens), whose softmax gradients lose a few
			// float32 digits, fused or not
			near := func(what string, got, want []float64) {
				for i := range want {
					if d := math.Abs(got[i] - want[i]); !(d <= 2e-4*(1+math.Abs(want[i]))) {
						t.Fatalf("%s[%d] = %v (float32, fused), %v (float64, composite)", what, i, got[i], want[i])
					}
				}
			}
			near("output", fo, co)
			for i := range cg {
				near("gradient of input "+string(rune('0'+i)), fg[i], cg[i])
			}
		})
	}
}
