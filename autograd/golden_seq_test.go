package autograd_test

import (
	"fmt"

	ag "github.com/backprop-go/backprop/autograd"
)

// The runners of the sequence and attention golden cases (seq.json,
// attention.json), added to goldenOps here to keep them beside each other.
func init() {
	goldenOps["lstm"] = func(a *goldenArgs) *ag.Value { return goldenRNN(a, ag.CellLSTM) }
	goldenOps["gru"] = func(a *goldenArgs) *ag.Value { return goldenRNN(a, ag.CellGRU) }
	goldenOps["rnn_tanh"] = func(a *goldenArgs) *ag.Value { return goldenRNN(a, ag.CellTanh) }
	goldenOps["rnn_relu"] = func(a *goldenArgs) *ag.Value { return goldenRNN(a, ag.CellReLU) }
	goldenOps["scaled_dot_product_attention"] = goldenSDPA
	goldenOps["multi_head_attention"] = goldenMHA
}

// goldenRNN runs torch.nn.LSTM/GRU/RNN's forward on the case's weights,
// named as its state_dict, and returns the output sequence.
func goldenRNN(a *goldenArgs, cell ag.Cell) *ag.Value {
	cfg := ag.RNNConfig{Cell: cell, Layers: a.int("num_layers", 1), Bidirectional: a.bool("bidirectional", false),
		BatchFirst: a.bool("batch_first", false)}
	if cell == ag.CellTanh || cell == ag.CellReLU {
		want := map[ag.Cell]string{ag.CellTanh: "tanh", ag.CellReLU: "relu"}[cell]
		if nl := a.str("nonlinearity", want); nl != want {
			panic(fmt.Sprintf("nonlinearity %q for op %v", nl, cell))
		}
	}
	if p := a.float("dropout", 0); p != 0 {
		panic("dropout between layers is random: not a golden case")
	}
	bias := a.bool("bias", true)
	dirs := map[bool]int{false: 1, true: 2}[cfg.Bidirectional]
	var w []ag.RNNWeights
	for l := range max(cfg.Layers, 1) {
		for d := range dirs {
			suffix := fmt.Sprintf("_l%d", l)
			if d == 1 {
				suffix += "_reverse"
			}
			wk := ag.RNNWeights{IH: a.v("weight_ih" + suffix), HH: a.v("weight_hh" + suffix)}
			if bias {
				wk.BiasIH, wk.BiasHH = a.v("bias_ih"+suffix), a.v("bias_hh"+suffix)
			}
			if wk.IH == nil || wk.HH == nil || (bias && (wk.BiasIH == nil || wk.BiasHH == nil)) {
				panic("missing weights for " + suffix)
			}
			w = append(w, wk)
		}
	}
	out, hn, _ := ag.RNN(a.v("x"), a.v("h0"), a.v("c0"), w, cfg)
	if h := a.int("hidden_size", -1); h != -1 && hn.Shape()[hn.Data.Dims()-1] != h {
		panic(fmt.Sprintf("hidden size %d, weights give %d", h, hn.Shape()[2]))
	}
	return out
}

// goldenSDPA runs torch.nn.functional.scaled_dot_product_attention.
func goldenSDPA(a *goldenArgs) *ag.Value {
	o := ag.AttentionOptions{Causal: a.bool("is_causal", false), Scale: a.float("scale", 0)}
	if p := a.float("dropout_p", 0); p != 0 {
		panic("attention dropout is random: not a golden case")
	}
	if m, ok := a.intT["attn_mask"]; ok {
		o.Mask = m
	} else if b := a.v("attn_mask"); b != nil {
		o.Bias = b
	}
	return ag.ScaledDotProductAttention(first(a, "query", "q"), first(a, "key", "k"), first(a, "value", "v"), o)
}

// goldenMHA runs nn.MultiheadAttention's self-attention.
func goldenMHA(a *goldenArgs) *ag.Value {
	if !a.bool("self_attention", true) {
		panic("only self-attention is supported")
	}
	if p := a.float("dropout", 0); p != 0 {
		panic("attention dropout is random: not a golden case")
	}
	bias := a.bool("bias", true)
	x := first(a, "query", "x")
	batchFirst := a.bool("batch_first", false)
	if !batchFirst {
		x = ag.Transpose(x, 0, 1)
	}
	o := ag.MHAOptions{Causal: a.bool("causal", false)}
	if m, ok := a.intT["key_padding_mask"]; ok {
		o.KeyPadding = m
	}
	if m, ok := a.intT["attn_mask"]; ok {
		o.AttnMask = m // true where attention is not allowed, as nn.MultiheadAttention's
	}
	var inB, outB *ag.Value
	if bias {
		inB, outB = a.v("in_proj_bias"), a.v("out_proj.bias")
	}
	y := ag.MultiHeadAttention(x, a.v("in_proj_weight"), inB, a.v("out_proj.weight"), outB, a.int("num_heads", 1), o)
	if !batchFirst {
		y = ag.Transpose(y, 0, 1)
	}
	return y
}

// first returns the first of the named float inputs that the case has.
func first(a *goldenArgs, names ...string) *ag.Value {
	for _, n := range names {
		if v := a.v(n); v != nil {
			return v
		}
	}
	panic(fmt.Sprintf("no input named any of %v", names))
}
