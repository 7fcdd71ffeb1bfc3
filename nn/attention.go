package nn

import (
	"fmt"
	"math/rand/v2"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// AttentionOptions are the constructor arguments of [MultiheadAttention]
// beyond the sizes. The zero value has biases, no dropout and no mask.
type AttentionOptions struct {
	// Causal hides later positions from each query in Forward.
	Causal bool
	// NoBias drops in_proj_bias and out_proj.bias (bias=False).
	NoBias bool
	// Dropout is the probability of dropping an attention weight in
	// training mode.
	Dropout float32
}

// MultiheadAttentionModule is the self-attention of
// torch.nn.MultiheadAttention with batch_first=True, under its state_dict
// names: in_proj_weight [3E, E], in_proj_bias [3E], out_proj.weight
// [E, E], out_proj.bias [E]. Make one with [MultiheadAttention].
type MultiheadAttentionModule struct {
	EmbedDim, NumHeads int
	AttentionOptions
	InProjWeight, InProjBias *ag.Value
	OutProj                  *LinearModule
	rng                      *rand.Rand // draws the attention dropout masks
	modeFlag
}

// MultiheadAttention returns self-attention over embed features split into
// heads heads, initialised as PyTorch does: in_proj_weight Xavier-uniform,
// out_proj.weight U(-1/√E, 1/√E), the biases 0. Options: WithRNG, Seed.
func MultiheadAttention(embed, heads int, o AttentionOptions, opts ...Option) *MultiheadAttentionModule {
	c := newConfig("MultiheadAttention", nil, opts)
	if embed < 1 || heads < 1 || embed%heads != 0 {
		panic(fmt.Sprintf("nn.MultiheadAttention: %d features do not split into %d heads", embed, heads))
	}
	if !(o.Dropout >= 0 && o.Dropout <= 1) {
		panic(fmt.Sprintf("nn.MultiheadAttention: dropout %v outside [0, 1]", o.Dropout))
	}
	m := &MultiheadAttentionModule{EmbedDim: embed, NumHeads: heads, AttentionOptions: o}
	withRNG(c.rng, func(r *rand.Rand) {
		lin := []Option{WithRNG(r)}
		if o.NoBias {
			lin = append(lin, NoBias())
		}
		m.OutProj = Linear(embed, embed, lin...)
		if m.OutProj.Bias != nil {
			clear(m.OutProj.Bias.Data.Data())
		}
		w := tensor.Zeros(3*embed, embed)
		XavierUniform(w, 1, r)
		m.InProjWeight = ag.Param(w)
		if !o.NoBias {
			m.InProjBias = ag.Param(tensor.Zeros(3 * embed))
		}
		m.rng = rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
	})
	return m
}

// LocalParameters returns in_proj_weight and in_proj_bias.
func (m *MultiheadAttentionModule) LocalParameters() []NamedValue {
	return params("in_proj_weight", m.InProjWeight, "in_proj_bias", m.InProjBias)
}

// Children returns out_proj.
func (m *MultiheadAttentionModule) Children() []NamedModule {
	return []NamedModule{{"out_proj", m.OutProj}}
}

// Forward attends over the positions of x [N, T, E], causally when the
// layer is Causal.
func (m *MultiheadAttentionModule) Forward(x *ag.Value) *ag.Value { return m.ForwardMask(x, nil, nil) }

// ForwardMask is Forward under masks, as PyTorch's forward(x, x, x,
// attn_mask, key_padding_mask): attnMask (broadcast to [N, heads, T, T],
// a [T, T] mask serving all) and keyPadding [N, T] are true (non-zero)
// where attention is not allowed; either may be nil. The layer's Causal
// applies as well.
func (m *MultiheadAttentionModule) ForwardMask(x *ag.Value, attnMask, keyPadding *tensor.Tensor) *ag.Value {
	o := ag.MHAOptions{Causal: m.Causal, AttnMask: attnMask, KeyPadding: keyPadding}
	if m.Training() && m.Dropout > 0 {
		o.Dropout, o.RNG = m.Dropout, m.rng
	}
	return ag.MultiHeadAttention(x, m.InProjWeight, m.InProjBias, m.OutProj.Weight, m.OutProj.Bias, m.NumHeads, o)
}

// OutputShape keeps a sequence [T, E].
func (m *MultiheadAttentionModule) OutputShape(in []int) ([]int, error) {
	if len(in) != 2 || in[1] != m.EmbedDim {
		return nil, fmt.Errorf("attention over %d features takes a sequence [T, %d], got %v", m.EmbedDim, m.EmbedDim, in)
	}
	return append([]int{}, in...), nil
}

// Spec returns "attention(HEADS)" with causal=1, bias=0, dropout=P when
// they differ from the defaults.
func (m *MultiheadAttentionModule) Spec() string {
	return fmt.Sprintf("attention(%d%s)", m.NumHeads, attentionArgs(m.AttentionOptions))
}

func attentionArgs(o AttentionOptions) string {
	s := ""
	if o.Causal {
		s += ",causal=1"
	}
	if o.NoBias {
		s += ",bias=0"
	}
	if o.Dropout > 0 {
		s += fmt.Sprintf(",dropout=%v", o.Dropout)
	}
	return s
}

// String describes the layer as PyTorch prints it.
func (m *MultiheadAttentionModule) String() string {
	return fmt.Sprintf("MultiheadAttention(\n  (out_proj): %v\n)", m.OutProj)
}

// mhaState lists a MultiheadAttention's state_dict entries for e features.
func mhaState(e int, bias bool) []StateShape {
	s := []StateShape{{Name: "in_proj_weight", Shape: []int{3 * e, e}}}
	if bias {
		s = append(s, StateShape{Name: "in_proj_bias", Shape: []int{3 * e}})
	}
	for _, w := range weightBias(bias, []int{e, e}, []int{e}) {
		w.Name = join("out_proj", w.Name)
		s = append(s, w)
	}
	return s
}

func checkSeq(b *LayerBuilder, name string, in []int, heads int) error {
	if len(in) != 2 {
		return fmt.Errorf("%s takes a sequence [T, E], got %v: put an embedding before it", name, in)
	}
	if in[1]%heads != 0 {
		return fmt.Errorf("%s: %d features do not split into %d heads", name, in[1], heads)
	}
	return b.CheckWeight(3*in[1], in[1])
}

// attentionDef declares attention(HEADS, causal=1, bias=0, dropout=P):
// nn.MultiheadAttention's self-attention over a sequence [T, E].
func attentionDef() LayerDef {
	opts := func(l LayerSpec) AttentionOptions {
		return AttentionOptions{Causal: l.Flag("causal"), NoBias: !l.Flag("bias"), Dropout: float32(l.Float("dropout"))}
	}
	return LayerDef{
		Name: "attention", Positional: 1,
		Args: []Arg{sizeArg("heads"), flagArg("causal", 0), flagArg("bias", 1), floatArg("dropout", 0, 0, 1)},
		Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
			if err := checkSeq(b, "attention", in, l.Int("heads")); err != nil {
				return nil, err
			}
			return MultiheadAttention(in[1], l.Int("heads"), opts(l), b.RNG()), nil
		},
		Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
			if err := checkSeq(b, "attention", in, l.Int("heads")); err != nil {
				return nil, nil, err
			}
			return mhaState(in[1], l.Flag("bias")), append([]int{}, in...), nil
		},
	}
}

func init() { Register(attentionDef()) }
