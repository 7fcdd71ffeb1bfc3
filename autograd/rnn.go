package autograd

import (
	"fmt"
	"math/rand/v2"

	"github.com/backprop-go/backprop/tensor"
)

// The recurrent ops, with PyTorch's semantics and weight layouts
// (torch.nn.RNN, LSTM, GRU). They are compositions of the elementwise,
// matmul and shape ops, so backpropagation through time is exactly those
// ops' backward rules, step by step.

// Cell names a recurrent cell.
type Cell int

const (
	// CellTanh is the Elman cell h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
	// (torch.nn.RNN with nonlinearity='tanh').
	CellTanh Cell = iota
	// CellReLU is CellTanh with ReLU (nonlinearity='relu').
	CellReLU
	// CellLSTM is the LSTM cell, gates in PyTorch's order i, f, g, o.
	CellLSTM
	// CellGRU is the GRU cell, gates in PyTorch's order r, z, n, with
	// n = tanh(W_in x + b_in + r·(W_hn h + b_hn)).
	CellGRU
)

// Gates returns how many blocks of HiddenSize rows the cell's weights
// have: 1 for the Elman cells, 4 for LSTM, 3 for GRU.
func (c Cell) Gates() int {
	switch c {
	case CellLSTM:
		return 4
	case CellGRU:
		return 3
	}
	return 1
}

// String returns PyTorch's mode name: "RNN_TANH", "RNN_RELU", "LSTM", "GRU".
func (c Cell) String() string {
	switch c {
	case CellTanh:
		return "RNN_TANH"
	case CellReLU:
		return "RNN_RELU"
	case CellLSTM:
		return "LSTM"
	case CellGRU:
		return "GRU"
	}
	return fmt.Sprintf("Cell(%d)", int(c))
}

// RNNWeights are one layer and direction's weights, as PyTorch names them:
// IH is weight_ih_lK [G·H, in], HH is weight_hh_lK [G·H, H], BiasIH and
// BiasHH are bias_ih_lK and bias_hh_lK [G·H] (both nil without biases),
// where G is Cell.Gates().
type RNNWeights struct {
	IH, HH, BiasIH, BiasHH *Value
}

// RNNConfig describes a recurrent network as torch.nn.RNN/LSTM/GRU's
// constructor arguments do.
type RNNConfig struct {
	Cell Cell
	// Layers is num_layers (0 means 1).
	Layers int
	// Bidirectional runs a second, reversed pass per layer whose outputs
	// are concatenated to the forward pass's on the feature dimension.
	Bidirectional bool
	// BatchFirst says that the input and output are [N, T, F]; otherwise
	// they are [T, N, F]. The states are [Layers·dirs, N, H] either way.
	BatchFirst bool
	// Dropout is the probability of dropping each output of every layer
	// but the last, drawn from RNG; 0, or a nil RNG (evaluation), drops
	// nothing.
	Dropout float32
	RNG     *rand.Rand
}

func (c RNNConfig) layers() int { return max(c.Layers, 1) }

func (c RNNConfig) dirs() int {
	if c.Bidirectional {
		return 2
	}
	return 1
}

// RNN runs a multi-layer recurrent network over the sequence x ([N, T, in]
// with BatchFirst, [T, N, in] without) from the initial states h0 (and c0
// for LSTM), each [Layers·dirs, N, H] or nil for zeros. w holds the
// weights in PyTorch's order: layer 0 forward, layer 0 reverse (when
// bidirectional), layer 1 forward... An unbatched x [T, in] takes and
// gives states [Layers·dirs, H], as in PyTorch. It returns the last layer's output
// sequence [N, T, dirs·H] (or [T, N, dirs·H]), the final hidden states
// h_n and, for LSTM, the final cell states c_n (nil otherwise), as
// torch.nn.LSTM returns output, (h_n, c_n).
func RNN(x, h0, c0 *Value, w []RNNWeights, cfg RNNConfig) (out, hn, cn *Value) {
	L, D := cfg.layers(), cfg.dirs()
	if len(w) != L*D {
		panic(fmt.Sprintf("autograd.RNN: %d weight sets for %d layers × %d directions", len(w), L, D))
	}
	if x.Data.Dims() == 2 {
		// Unbatched, as PyTorch allows: x [T, in], states [Layers·dirs, H].
		one := func(s *Value) *Value {
			if s == nil {
				return nil
			}
			return Reshape(s, s.Shape()[0], 1, -1)
		}
		cfg.BatchFirst = false
		out, hn, cn = RNN(Reshape(x, x.Shape()[0], 1, x.Shape()[1]), one(h0), one(c0), w, cfg)
		hn = Reshape(hn, hn.Shape()[0], -1)
		if cn != nil {
			cn = Reshape(cn, cn.Shape()[0], -1)
		}
		return Reshape(out, out.Shape()[0], -1), hn, cn
	}
	if x.Data.Dims() != 3 {
		panic(fmt.Sprintf("autograd.RNN: input of shape %v, want [N, T, in], [T, N, in] or [T, in]", x.Shape()))
	}
	if cfg.Cell != CellLSTM && c0 != nil {
		panic("autograd.RNN: c0 is given for a cell without a cell state")
	}
	G := cfg.Cell.Gates()
	H := w[0].HH.Shape()[1]
	for i, wi := range w {
		in := x.Shape()[2]
		if i >= D {
			in = D * H
		}
		if s := wi.IH.Shape(); len(s) != 2 || s[0] != G*H || s[1] != in {
			panic(fmt.Sprintf("autograd.RNN: %v weight_ih %d has shape %v, want [%d %d]", cfg.Cell, i, s, G*H, in))
		}
		if s := wi.HH.Shape(); len(s) != 2 || s[0] != G*H || s[1] != H {
			panic(fmt.Sprintf("autograd.RNN: %v weight_hh %d has shape %v, want [%d %d]", cfg.Cell, i, s, G*H, H))
		}
	}
	// Time-major inside: step t is slice t of dimension 0.
	seq := x
	if cfg.BatchFirst {
		seq = Transpose(x, 0, 1)
	}
	T, N := seq.Shape()[0], seq.Shape()[1]
	state := func(s *Value, k int) *Value {
		if s == nil {
			return Const(tensor.ZerosOf(x.Data.DType(), N, H))
		}
		if sh := s.Shape(); len(sh) != 3 || sh[0] != L*D || sh[1] != N || sh[2] != H {
			panic(fmt.Sprintf("autograd.RNN: initial state of shape %v, want [%d %d %d]", sh, L*D, N, H))
		}
		return Reshape(Narrow(s, 0, k, 1), N, H)
	}
	var hs, cs []*Value
	for l := range L {
		outs := make([]*Value, D)
		for d := range D {
			k := l*D + d
			wk := w[k]
			// The input projection of every step at once: one matmul.
			proj := Linear(seq, wk.IH, wk.BiasIH) // [T, N, G·H]
			h := state(h0, k)
			var c *Value
			if cfg.Cell == CellLSTM {
				c = state(c0, k)
			}
			if cfg.Cell == CellLSTM && proj.Data.DType() == tensor.Float32 {
				// fused: one pass per step, the gates' buffers reused
				var out *Value
				out, h, c = lstmLayer(proj, h, c, wk.HH, wk.BiasHH, d == 1)
				hs, cs = append(hs, h), append(cs, c)
				outs[d] = out
				continue
			}
			xs := Split(proj, 0, repeat(1, T)...)
			steps := make([]*Value, T)
			for s := range T {
				t := s
				if d == 1 {
					t = T - 1 - s
				}
				xt := Reshape(xs[t], N, G*H)
				h, c = cellStep(cfg.Cell, xt, h, c, wk.HH, wk.BiasHH, H)
				steps[t] = h
			}
			hs = append(hs, h)
			if c != nil {
				cs = append(cs, c)
			}
			outs[d] = Stack(0, steps...) // [T, N, H]
		}
		seq = outs[0]
		if D == 2 {
			seq = Concat(2, outs[0], outs[1])
		}
		if l < L-1 && cfg.Dropout > 0 && cfg.RNG != nil {
			seq = Dropout(seq, cfg.Dropout, true, cfg.RNG)
		}
	}
	out = seq
	if cfg.BatchFirst {
		out = Transpose(seq, 0, 1)
	}
	hn = Stack(0, hs...)
	if cs != nil {
		cn = Stack(0, cs...)
	}
	return out, hn, cn
}

// cellStep advances one step from the input projection xp = W_ih x + b_ih
// [N, G·H]: the new hidden state, and for LSTM the new cell state.
func cellStep(cell Cell, xp, h, c, whh, bhh *Value, H int) (*Value, *Value) {
	hp := Linear(h, whh, bhh) // W_hh h + b_hh
	switch cell {
	case CellTanh:
		return Tanh(Add(xp, hp)), nil
	case CellReLU:
		return ReLU(Add(xp, hp)), nil
	case CellLSTM:
		g := Split(Add(xp, hp), 1, H, H, H, H)
		i, f, gg, o := Sigmoid(g[0]), Sigmoid(g[1]), Tanh(g[2]), Sigmoid(g[3])
		c2 := Add(Mul(f, c), Mul(i, gg)) // c' = f·c + i·g
		return Mul(o, Tanh(c2)), c2      // h' = o·tanh(c')
	case CellGRU:
		xg, hg := Split(xp, 1, H, H, H), Split(hp, 1, H, H, H)
		r := Sigmoid(Add(xg[0], hg[0]))
		z := Sigmoid(Add(xg[1], hg[1]))
		n := Tanh(Add(xg[2], Mul(r, hg[2])))
		return Add(n, Mul(z, Sub(h, n))), nil // h' = (1-z)·n + z·h
	}
	panic(fmt.Sprintf("autograd.RNN: unknown cell %v", cell))
}

// LSTMCell is one step of an LSTM, as torch.nn.LSTMCell: from x [N, in]
// and the states h, c [N, H] it returns h' and c'. The biases may be nil.
func LSTMCell(x, h, c *Value, w RNNWeights) (*Value, *Value) {
	return cellStep(CellLSTM, Linear(x, w.IH, w.BiasIH), h, c, w.HH, w.BiasHH, h.Shape()[1])
}

// GRUCell is one step of a GRU, as torch.nn.GRUCell: from x [N, in] and
// h [N, H] it returns h'.
func GRUCell(x, h *Value, w RNNWeights) *Value {
	h2, _ := cellStep(CellGRU, Linear(x, w.IH, w.BiasIH), h, nil, w.HH, w.BiasHH, h.Shape()[1])
	return h2
}

// RNNCell is one step of an Elman network, as torch.nn.RNNCell: h' =
// tanh (or relu, with relu) of W_ih x + b_ih + W_hh h + b_hh.
func RNNCell(x, h *Value, w RNNWeights, relu bool) *Value {
	cell := CellTanh
	if relu {
		cell = CellReLU
	}
	h2, _ := cellStep(cell, Linear(x, w.IH, w.BiasIH), h, nil, w.HH, w.BiasHH, h.Shape()[1])
	return h2
}

// Split returns the consecutive slices of x along dim with the given
// sizes, which must add up to x's size there, as torch.split with a list
// of sizes. The slices' gradients are gathered into one buffer of x's
// shape, so that cutting a sequence into its T steps costs one pass
// backward, where T Narrows would each carry a gradient of x's full size.
func Split(x *Value, dim int, sizes ...int) []*Value {
	d := tensor.NormDim("autograd.Split", dim, x.Data.Dims())
	total := 0
	for _, n := range sizes {
		if n < 0 {
			panic(fmt.Sprintf("autograd.Split: negative size in %v", sizes))
		}
		total += n
	}
	if total != x.Shape()[d] {
		panic(fmt.Sprintf("autograd.Split: sizes %v do not add up to dimension %d of shape %v", sizes, d, x.Shape()))
	}
	// joint is x itself (the identity) holding the gathered gradient,
	// which every part writes its slice into; x gets it when joint's rule
	// runs, after all the parts' (they are joint's only consumers).
	joint := result(x.Data, x)
	joint.onBackward(func() { x.addGradView(joint.Grad, joint) }) // d/dx of the identity is 1
	outs := make([]*Value, len(sizes))
	start := 0
	for i, n := range sizes {
		s := start
		out := view(tensor.Narrow(x.Data, d, s, n), joint) // x's storage: never owned, never recycled
		out.onBackward(func() {
			if joint.Grad == nil {
				joint.Grad, joint.gradOwned = tensor.ZerosOf(x.Data.DType(), x.Shape()...), true
			}
			tensor.NarrowInto(joint.Grad, out.Grad, d, s) // the slice's gradient, in its place
		})
		outs[i] = out
		start += n
	}
	return outs
}

// repeat returns n copies of v.
func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// lstmLayer runs one LSTM layer over the projected inputs proj [T, N, 4H]
// (tensor.LSTMForward) from h and c [N, H], backwards in time when
// reverse: it returns the hidden states [T, N, H] and the final h and c,
// views of one value whose gradient LSTMBackward takes through time.
func lstmLayer(proj, h, c, whh, bhh *Value, reverse bool) (out, hn, cn *Value) {
	var bd *tensor.Tensor
	if bhh != nil {
		bd = bhh.Data
	}
	y, tape := tensor.LSTMForward(proj.Data, h.Data, c.Data, whh.Data, bd, reverse)
	all := fresh(y, proj, h, c, whh, bhh) // [T+1, N, H]: the steps' h, then the last c
	all.onBackward(func() {
		dproj, dh0, dc0, dwhh, dbhh := tensor.LSTMBackward(tape, whh.Data, all.Grad, bhh != nil)
		proj.addGradOwned(dproj) // d/dproj = the gates' pre-activation gradients
		h.addGradOwned(dh0)
		c.addGradOwned(dc0)
		whh.addGradOwned(dwhh) // d/dW_hh = Σ_t da_tᵀ·h_{t-1}
		if bhh != nil {
			bhh.addGradOwned(dbhh) // d/db_hh = Σ_t da_t
		}
	})
	T, N, H := tape.T, tape.N, tape.H
	last := T - 1
	if reverse {
		last = 0
	}
	out = Narrow(all, 0, 0, T)
	hn = Reshape(Narrow(all, 0, last, 1), N, H)
	cn = Reshape(Narrow(all, 0, T, 1), N, H)
	return out, hn, cn
}
