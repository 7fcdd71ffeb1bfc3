package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// RNNOptions are the constructor arguments of [LSTM], [GRU] and [RNN]
// beyond the sizes, named after PyTorch's. The zero value is one layer,
// one direction, with biases, batch first.
type RNNOptions struct {
	// NumLayers is num_layers, the number of stacked layers (0 means 1).
	NumLayers int
	// Bidirectional adds a reversed pass to every layer (the _reverse
	// weights); the outputs of both directions are concatenated.
	Bidirectional bool
	// TimeMajor makes Forward take and return [T, N, F], PyTorch's default
	// batch_first=False. The zero value is batch first, [N, T, F]: the
	// layout of a Sequential, whose shapes leave out the batch dimension.
	TimeMajor bool
	// NoBias drops the bias_ih and bias_hh vectors (bias=False).
	NoBias bool
	// Dropout is the probability of dropping each output of every layer
	// but the last, in training mode.
	Dropout float32
	// ReLU makes an [RNN] use ReLU instead of tanh (nonlinearity='relu').
	ReLU bool
}

// RNNModule is a recurrent network, as torch.nn.RNN, LSTM and GRU: the
// same weights under the same state_dict names (weight_ih_l0,
// weight_hh_l0, bias_ih_l0, bias_hh_l0, then _reverse and _l1 …), gate
// orders i, f, g, o (LSTM) and r, z, n (GRU). Make one with [LSTM],
// [GRU] or [RNN].
//
// As a [Module] (in a Sequential) it maps a sequence to its output
// sequence [N, T, dirs·H], from zero states; [RNNModule.ForwardState]
// also takes initial states and returns the final ones.
type RNNModule struct {
	Cell                  ag.Cell
	InputSize, HiddenSize int
	RNNOptions
	// Weights holds each layer and direction's weights in PyTorch's
	// order: layer 0, layer 0 reverse, layer 1, ...
	Weights []ag.RNNWeights
	rng     *rand.Rand // draws the dropout masks between layers
	modeFlag
}

// LSTM returns a long short-term memory network from in to hidden
// features, as torch.nn.LSTM, with PyTorch's initialisation: every weight
// and bias from U(-1/√hidden, 1/√hidden), drawn in state_dict order.
// Options: WithRNG, Seed.
func LSTM(in, hidden int, o RNNOptions, opts ...Option) *RNNModule {
	return newRNN("LSTM", ag.CellLSTM, in, hidden, o, opts)
}

// GRU returns a gated recurrent unit network, as torch.nn.GRU; see [LSTM].
func GRU(in, hidden int, o RNNOptions, opts ...Option) *RNNModule {
	return newRNN("GRU", ag.CellGRU, in, hidden, o, opts)
}

// RNN returns an Elman network (tanh, or ReLU with o.ReLU), as
// torch.nn.RNN; see [LSTM].
func RNN(in, hidden int, o RNNOptions, opts ...Option) *RNNModule {
	cell := ag.CellTanh
	if o.ReLU {
		cell = ag.CellReLU
	}
	return newRNN("RNN", cell, in, hidden, o, opts)
}

func newRNN(op string, cell ag.Cell, in, hidden int, o RNNOptions, opts []Option) *RNNModule {
	c := newConfig(op, nil, opts)
	if in < 1 || hidden < 1 {
		panic(fmt.Sprintf("nn.%s: sizes must be positive (input %d, hidden %d)", op, in, hidden))
	}
	if o.NumLayers < 0 {
		panic(fmt.Sprintf("nn.%s: %d layers", op, o.NumLayers))
	}
	if !(o.Dropout >= 0 && o.Dropout <= 1) {
		panic(fmt.Sprintf("nn.%s: dropout %v outside [0, 1]", op, o.Dropout))
	}
	o.NumLayers = max(o.NumLayers, 1)
	o.ReLU = cell == ag.CellReLU
	m := &RNNModule{Cell: cell, InputSize: in, HiddenSize: hidden, RNNOptions: o}
	k := 1 / math.Sqrt(float64(hidden))
	g := cell.Gates() * hidden
	withRNG(c.rng, func(r *rand.Rand) {
		for l := range o.NumLayers {
			for range m.dirs() {
				w := in
				if l > 0 {
					w = m.dirs() * hidden
				}
				draw := func(shape ...int) *ag.Value {
					t := tensor.Zeros(shape...)
					Uniform(t, -k, k, r)
					return ag.Param(t)
				}
				wk := ag.RNNWeights{IH: draw(g, w), HH: draw(g, hidden)}
				if !o.NoBias {
					wk.BiasIH, wk.BiasHH = draw(g), draw(g)
				}
				m.Weights = append(m.Weights, wk)
			}
		}
		m.rng = rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
	})
	return m
}

func (m *RNNModule) dirs() int {
	if m.Bidirectional {
		return 2
	}
	return 1
}

// rnnStateShapes returns the state_dict entries in order, as PyTorch
// names them (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
// _reverse...).
func rnnStateShapes(cell ag.Cell, in, hidden int, o RNNOptions) []StateShape {
	var out []StateShape
	g := cell.Gates() * hidden
	dirs := 1
	if o.Bidirectional {
		dirs = 2
	}
	for l := range max(o.NumLayers, 1) {
		w := in
		if l > 0 {
			w = dirs * hidden
		}
		for d := range dirs {
			suffix := rnnSuffix(l, d)
			out = append(out, StateShape{Name: "weight_ih" + suffix, Shape: []int{g, w}},
				StateShape{Name: "weight_hh" + suffix, Shape: []int{g, hidden}})
			if !o.NoBias {
				out = append(out, StateShape{Name: "bias_ih" + suffix, Shape: []int{g}},
					StateShape{Name: "bias_hh" + suffix, Shape: []int{g}})
			}
		}
	}
	return out
}

func rnnSuffix(layer, dir int) string {
	s := fmt.Sprintf("_l%d", layer)
	if dir == 1 {
		s += "_reverse"
	}
	return s
}

// LocalParameters returns the weights under PyTorch's names, in its order.
func (m *RNNModule) LocalParameters() []NamedValue {
	var out []NamedValue
	for i, w := range m.Weights {
		suffix := rnnSuffix(i/m.dirs(), i%m.dirs())
		out = append(out, params("weight_ih"+suffix, w.IH, "weight_hh"+suffix, w.HH,
			"bias_ih"+suffix, w.BiasIH, "bias_hh"+suffix, w.BiasHH)...)
	}
	return out
}

// config returns the autograd configuration for one forward pass.
func (m *RNNModule) config() ag.RNNConfig {
	cfg := ag.RNNConfig{Cell: m.Cell, Layers: m.NumLayers, Bidirectional: m.Bidirectional, BatchFirst: !m.TimeMajor}
	if m.Training() && m.Dropout > 0 {
		cfg.Dropout, cfg.RNG = m.Dropout, m.rng
	}
	return cfg
}

// Forward returns the output sequence for x [N, T, in] ([T, N, in] when
// TimeMajor) from zero initial states: [N, T, dirs·H].
func (m *RNNModule) Forward(x *ag.Value) *ag.Value {
	out, _, _ := m.ForwardState(x, nil, nil)
	return out
}

// ForwardState runs the network from the initial states h0 (and c0 for an
// LSTM), each [layers·dirs, N, H] or nil for zeros, and returns the output
// sequence and the final states h_n and c_n (nil but for an LSTM), as
// PyTorch's output, (h_n, c_n) = lstm(x, (h0, c0)).
func (m *RNNModule) ForwardState(x, h0, c0 *ag.Value) (out, hn, cn *ag.Value) {
	if s := x.Shape(); len(s) < 2 || s[len(s)-1] != m.InputSize {
		panic(fmt.Sprintf("nn.%s: input of shape %v, want [N, T, %d]", m.kind(), s, m.InputSize))
	}
	w := m.Weights
	if x.NoGraph() {
		w = detachedWeights(w)
	}
	return ag.RNN(x, h0, c0, w, m.config())
}

// detachedWeights marks the weights NoGraph, so that an inference pass
// whose input is NoGraph records nothing (the states are computed from
// both the input and the weights, so the mark must reach both).
func detachedWeights(w []ag.RNNWeights) []ag.RNNWeights {
	out := make([]ag.RNNWeights, len(w))
	d := func(v *ag.Value) *ag.Value {
		if v == nil {
			return nil
		}
		return ag.Detached(v)
	}
	for i, wk := range w {
		out[i] = ag.RNNWeights{IH: d(wk.IH), HH: d(wk.HH), BiasIH: d(wk.BiasIH), BiasHH: d(wk.BiasHH)}
	}
	return out
}

// OutputShape maps a sequence [T, in] to [T, dirs·H].
func (m *RNNModule) OutputShape(in []int) ([]int, error) {
	if len(in) != 2 || in[1] != m.InputSize {
		return nil, fmt.Errorf("%s with %d input features takes a sequence [T, %d], got %v", strings.ToLower(m.kind()), m.InputSize, m.InputSize, in)
	}
	return []int{in[0], m.dirs() * m.HiddenSize}, nil
}

func (m *RNNModule) kind() string {
	switch m.Cell {
	case ag.CellLSTM:
		return "LSTM"
	case ag.CellGRU:
		return "GRU"
	}
	return "RNN"
}

// Spec returns the layer's token, "lstm(256)", with its non-default
// arguments (layers=2, bidirectional=1, bias=0, dropout=0.1, and
// nonlinearity=relu for an RNN), or "" for a time-major layer, which a
// Sequential cannot hold.
func (m *RNNModule) Spec() string {
	if m.TimeMajor {
		return ""
	}
	s := fmt.Sprintf("%s(%d", strings.ToLower(m.kind()), m.HiddenSize)
	if m.NumLayers > 1 {
		s += fmt.Sprintf(",layers=%d", m.NumLayers)
	}
	if m.Bidirectional {
		s += ",bidirectional=1"
	}
	if m.NoBias {
		s += ",bias=0"
	}
	if m.Dropout > 0 {
		s += fmt.Sprintf(",dropout=%v", m.Dropout)
	}
	if m.Cell == ag.CellReLU {
		s += ",nonlinearity=relu"
	}
	return s + ")"
}

// String describes the layer as PyTorch prints it.
func (m *RNNModule) String() string {
	s := fmt.Sprintf("%s(%d, %d", m.kind(), m.InputSize, m.HiddenSize)
	if m.NumLayers > 1 {
		s += fmt.Sprintf(", num_layers=%d", m.NumLayers)
	}
	if m.Cell == ag.CellReLU {
		s += ", nonlinearity=relu"
	}
	if m.NoBias {
		s += ", bias=False"
	}
	if !m.TimeMajor {
		s += ", batch_first=True"
	}
	if m.Dropout > 0 {
		s += fmt.Sprintf(", dropout=%v", m.Dropout)
	}
	if m.Bidirectional {
		s += ", bidirectional=True"
	}
	return s + ")"
}

// rnnDef declares the spec tokens rnn(H), lstm(H) and gru(H), with
// layers=L, bidirectional=1, bias=0, dropout=P (and nonlinearity=relu for
// rnn): a layer over a sequence [T, F] giving [T, dirs·H].
func rnnDef(name string) LayerDef {
	args := []Arg{sizeArg("hidden"), intArg("layers", 1, 1), flagArg("bidirectional", 0), flagArg("bias", 1),
		floatArg("dropout", 0, 0, 1)}
	if name == "rnn" {
		args = append(args, Arg{Name: "nonlinearity", Kind: StringArg, DefaultText: "tanh", Choices: []string{"tanh", "relu"}})
	}
	opts := func(l LayerSpec) RNNOptions {
		o := RNNOptions{NumLayers: l.Int("layers"), Bidirectional: l.Flag("bidirectional"), NoBias: !l.Flag("bias"),
			Dropout: float32(l.Float("dropout"))}
		if name == "rnn" {
			o.ReLU = l.TextArg("nonlinearity") == "relu"
		}
		return o
	}
	cell := func(o RNNOptions) ag.Cell {
		switch name {
		case "lstm":
			return ag.CellLSTM
		case "gru":
			return ag.CellGRU
		}
		if o.ReLU {
			return ag.CellReLU
		}
		return ag.CellTanh
	}
	check := func(b *LayerBuilder, l LayerSpec, in []int) error {
		if len(in) != 2 {
			return fmt.Errorf("%s takes a sequence [T, F], got %v: put an embedding before it", name, in)
		}
		o := opts(l)
		for _, s := range rnnStateShapes(cell(o), in[1], l.Int("hidden"), o) {
			if err := b.CheckWeight(s.Shape...); err != nil {
				return err
			}
		}
		return nil
	}
	return LayerDef{
		Name: name, Args: args, Positional: 1,
		Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
			if err := check(b, l, in); err != nil {
				return nil, err
			}
			o := opts(l)
			return newRNN(strings.ToUpper(name), cell(o), in[1], l.Int("hidden"), o, []Option{b.RNG()}), nil
		},
		Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
			if err := check(b, l, in); err != nil {
				return nil, nil, err
			}
			o := opts(l)
			dirs := 1
			if o.Bidirectional {
				dirs = 2
			}
			return rnnStateShapes(cell(o), in[1], l.Int("hidden"), o), []int{in[0], dirs * l.Int("hidden")}, nil
		},
	}
}

func init() {
	for _, name := range []string{"rnn", "lstm", "gru"} {
		Register(rnnDef(name))
	}
}
