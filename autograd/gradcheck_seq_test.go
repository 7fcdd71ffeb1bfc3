package autograd_test

import (
	"math/rand/v2"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// The recurrent and attention ops' finite-difference cases, appended to
// gradCases (after the list literal's, so that its cases keep their
// seeds), run by TestGradCheck in float32 and float64.
func init() {
	gradCases = append(gradCases, seqGradCases()...)
}

// rnnInputs draws x, h0, c0 and the weights of a network of the given
// shape, in RNN's order (layer-major, forward before reverse).
// x is [n, t, in] (batch first) when batchFirst, else [t, n, in].
func rnnInputs(cell ag.Cell, batchFirst bool, n, t, in, h, layers, dirs int, bias bool) func(r *rand.Rand) []*tensor.Tensor {
	return func(r *rand.Rand) []*tensor.Tensor {
		x := randn(r, t, n, in)
		if batchFirst {
			x = randn(r, n, t, in)
		}
		out := []*tensor.Tensor{x, randn(r, layers*dirs, n, h)}
		if cell == ag.CellLSTM {
			out = append(out, randn(r, layers*dirs, n, h))
		}
		g := cell.Gates() * h
		for l := range layers {
			for range dirs {
				w := in
				if l > 0 {
					w = dirs * h
				}
				out = append(out, randn(r, g, w), randn(r, g, h))
				if bias {
					out = append(out, randn(r, g), randn(r, g))
				}
			}
		}
		return out
	}
}

// runRNN applies RNN to rnnInputs' values and joins the output sequence
// and the final states into one vector, so that all are checked.
func runRNN(cfg ag.RNNConfig, bias bool) func(v []*ag.Value) *ag.Value {
	return func(v []*ag.Value) *ag.Value {
		x, h0 := v[0], v[1]
		rest := v[2:]
		var c0 *ag.Value
		if cfg.Cell == ag.CellLSTM {
			c0, rest = v[2], v[3:]
		}
		per := 2
		if bias {
			per = 4
		}
		var w []ag.RNNWeights
		for i := 0; i < len(rest); i += per {
			wk := ag.RNNWeights{IH: rest[i], HH: rest[i+1]}
			if bias {
				wk.BiasIH, wk.BiasHH = rest[i+2], rest[i+3]
			}
			w = append(w, wk)
		}
		out, hn, cn := ag.RNN(x, h0, c0, w, cfg)
		parts := []*ag.Value{ag.Reshape(out, -1), ag.Reshape(hn, -1)}
		if cn != nil {
			parts = append(parts, ag.Reshape(cn, -1))
		}
		return ag.Concat(0, parts...)
	}
}

func cellWeights(v []*ag.Value) ag.RNNWeights {
	return ag.RNNWeights{IH: v[0], HH: v[1], BiasIH: v[2], BiasHH: v[3]}
}

func seqGradCases() []gradCase {
	lstm2bi := ag.RNNConfig{Cell: ag.CellLSTM, Layers: 2, Bidirectional: true, BatchFirst: true}
	gru2 := ag.RNNConfig{Cell: ag.CellGRU, Layers: 2}
	tanhBi := ag.RNNConfig{Cell: ag.CellTanh, Bidirectional: true, BatchFirst: true}
	return []gradCase{
		// The middle part is not used: its slice of the gradient stays 0.
		{op: "Split", name: "dim 1, a part unused, a part used twice", inputs: shapes(rn(2, 6, 3)),
			f: func(v []*ag.Value) *ag.Value {
				p := ag.Split(v[0], 1, 2, 1, 3)
				return ag.Concat(1, ag.Mul(p[0], p[0]), p[2], p[0])
			}},
		{op: "RNN", name: "LSTM 2 layers bidirectional batch_first", inputs: rnnInputs(ag.CellLSTM, true, 2, 3, 2, 2, 2, 2, true), f: runRNN(lstm2bi, true)},
		{op: "RNN", name: "GRU 2 layers time-major", inputs: rnnInputs(ag.CellGRU, false, 2, 3, 2, 3, 2, 1, true), f: runRNN(gru2, true)},
		{op: "RNN", name: "tanh bidirectional no bias", inputs: rnnInputs(ag.CellTanh, true, 2, 4, 3, 2, 1, 2, false), f: runRNN(tanhBi, false)},
		{op: "LSTMCell", inputs: shapes(rn(2, 3), rn(2, 2), rn(2, 2), rn(8, 3), rn(8, 2), rn(8), rn(8)),
			f: func(v []*ag.Value) *ag.Value {
				h, c := ag.LSTMCell(v[0], v[1], v[2], cellWeights(v[3:]))
				return ag.Concat(1, h, c)
			}},
		{op: "GRUCell", inputs: shapes(rn(2, 3), rn(2, 2), rn(6, 3), rn(6, 2), rn(6), rn(6)),
			f: func(v []*ag.Value) *ag.Value { return ag.GRUCell(v[0], v[1], cellWeights(v[2:])) }},
		{op: "RNNCell", name: "tanh", inputs: shapes(rn(2, 3), rn(2, 2), rn(2, 3), rn(2, 2), rn(2), rn(2)),
			f: func(v []*ag.Value) *ag.Value { return ag.RNNCell(v[0], v[1], cellWeights(v[2:]), false) }},
		{op: "ScaledDotProductAttention", name: "causal T≠S, mask, bias, scale", inputs: shapes(rn(2, 2, 3, 4), rn(2, 2, 5, 4), rn(2, 2, 5, 3), rn(3, 5)),
			f: func(v []*ag.Value) *ag.Value {
				keep := tensor.FromInts([]int{1, 1, 0, 1, 1}, 5)
				return ag.ScaledDotProductAttention(v[0], v[1], v[2], ag.AttentionOptions{Causal: true, Mask: keep, Bias: v[3], Scale: 0.7})
			}},
		// The key bias gets a gradient of exactly 0 (it shifts a row of scores
		// by a constant); a small case keeps the finite difference of the loss
		// within the float64 check's absolute tolerance of that 0.
		{op: "MultiHeadAttention", name: "causal, key padding", inputs: shapes(rn(2, 3, 4), rn(12, 4), rn(12), rn(4, 4), rn(4)),
			f: func(v []*ag.Value) *ag.Value {
				pad := tensor.FromInts([]int{0, 0, 1, 0, 0, 0}, 2, 3)
				return ag.MultiHeadAttention(v[0], v[1], v[2], v[3], v[4], 2, ag.MHAOptions{Causal: true, KeyPadding: pad})
			}},
		// Without masks or dropout, float32 attention takes the fused kernel.
		{op: "MultiHeadAttention", name: "causal, fused in float32", inputs: shapes(rn(2, 3, 4), rn(12, 4), rn(12), rn(4, 4), rn(4)),
			f: func(v []*ag.Value) *ag.Value {
				return ag.MultiHeadAttention(v[0], v[1], v[2], v[3], v[4], 2, ag.MHAOptions{Causal: true})
			}},
		{op: "MultiHeadAttention", name: "fused in float32", inputs: shapes(rn(2, 3, 4), rn(12, 4), rn(12), rn(4, 4), rn(4)),
			f: func(v []*ag.Value) *ag.Value {
				return ag.MultiHeadAttention(v[0], v[1], v[2], v[3], v[4], 2, ag.MHAOptions{})
			}},
		{op: "GELU32", inputs: shapes(rn(6)), f: func(v []*ag.Value) *ag.Value { return ag.GELU32(v[0]) }},
	}
}
