package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// TransformerOptions are the constructor arguments of
// [TransformerEncoderLayer] beyond the sizes, named after PyTorch's. The
// zero value is PyTorch's layer (post-norm, ReLU) without dropout and
// without a mask.
type TransformerOptions struct {
	// NormFirst normalises before attention and the feed-forward block
	// (pre-norm) instead of after the residual additions.
	NormFirst bool
	// Activation is the feed-forward block's: "relu" (or "") or "gelu"
	// (exact, as PyTorch's).
	Activation string
	// Dropout applies to the attention weights, the feed-forward hidden
	// layer and both residual branches in training mode (PyTorch's
	// default is 0.1; here it is off unless set).
	Dropout float32
	// Causal hides later positions from each query in Forward.
	Causal bool
	// Eps is the layer norms' epsilon; 0 means 1e-5.
	Eps float32
}

// TransformerEncoderLayerModule is torch.nn.TransformerEncoderLayer with
// batch_first=True, under its state_dict names: self_attn.in_proj_weight,
// self_attn.in_proj_bias, self_attn.out_proj.*, linear1.*, linear2.*,
// norm1.*, norm2.*. Make one with [TransformerEncoderLayer].
type TransformerEncoderLayerModule struct {
	TransformerOptions
	SelfAttn                      *MultiheadAttentionModule
	Linear1, Linear2              *LinearModule
	Norm1, Norm2                  *LayerNormModule
	Drop, Drop1, Drop2            *DropoutModule
	DModel, NumHeads, FeedForward int
}

// TransformerEncoderLayer returns a transformer block over d features
// with heads attention heads and a feed-forward hidden layer of ff, drawn
// in PyTorch's order (self_attn, linear1, linear2). Options: WithRNG,
// Seed.
func TransformerEncoderLayer(d, heads, ff int, o TransformerOptions, opts ...Option) *TransformerEncoderLayerModule {
	c := newConfig("TransformerEncoderLayer", nil, opts)
	if ff < 1 {
		panic(fmt.Sprintf("nn.TransformerEncoderLayer: feed-forward size %d", ff))
	}
	if o.Activation != "" && o.Activation != "relu" && o.Activation != "gelu" {
		panic(fmt.Sprintf("nn.TransformerEncoderLayer: activation %q (want relu or gelu)", o.Activation))
	}
	if o.Eps == 0 {
		o.Eps = 1e-5
	}
	t := &TransformerEncoderLayerModule{TransformerOptions: o, DModel: d, NumHeads: heads, FeedForward: ff}
	withRNG(c.rng, func(r *rand.Rand) {
		rng := WithRNG(r)
		t.SelfAttn = MultiheadAttention(d, heads, AttentionOptions{Causal: o.Causal, Dropout: o.Dropout}, rng)
		t.Linear1 = Linear(d, ff, rng)
		t.Drop = Dropout(o.Dropout, rng)
		t.Linear2 = Linear(ff, d, rng)
		t.Norm1 = LayerNorm([]int{d}, Eps(o.Eps))
		t.Norm2 = LayerNorm([]int{d}, Eps(o.Eps))
		t.Drop1 = Dropout(o.Dropout, rng)
		t.Drop2 = Dropout(o.Dropout, rng)
	})
	return t
}

// Children returns the parts in PyTorch's registration order.
func (t *TransformerEncoderLayerModule) Children() []NamedModule {
	return []NamedModule{{"self_attn", t.SelfAttn}, {"linear1", t.Linear1}, {"dropout", t.Drop},
		{"linear2", t.Linear2}, {"norm1", t.Norm1}, {"norm2", t.Norm2}, {"dropout1", t.Drop1}, {"dropout2", t.Drop2}}
}

// Forward applies the block to x [N, T, d], causally when the layer is
// Causal.
func (t *TransformerEncoderLayerModule) Forward(x *ag.Value) *ag.Value {
	return t.ForwardMask(x, nil, nil)
}

// ForwardMask is Forward under masks, as PyTorch's forward(src,
// src_mask, src_key_padding_mask) with boolean masks: true (non-zero)
// where attention is not allowed; see [MultiheadAttentionModule.ForwardMask].
func (t *TransformerEncoderLayerModule) ForwardMask(x *ag.Value, attnMask, keyPadding *tensor.Tensor) *ag.Value {
	sa := func(h *ag.Value) *ag.Value { return t.Drop1.Forward(t.SelfAttn.ForwardMask(h, attnMask, keyPadding)) }
	ff := func(h *ag.Value) *ag.Value {
		h = t.Linear1.Forward(h)
		if t.Activation == "gelu" {
			h = ag.GELU32(h) // float32 erf: the float64 one costs more than the products around it
		} else {
			h = ag.ReLU(h)
		}
		return t.Drop2.Forward(t.Linear2.Forward(t.Drop.Forward(h)))
	}
	if t.NormFirst {
		x = ag.Add(x, sa(t.Norm1.Forward(x)))
		return ag.Add(x, ff(t.Norm2.Forward(x)))
	}
	x = t.Norm1.Forward(ag.Add(x, sa(x)))
	return t.Norm2.Forward(ag.Add(x, ff(x)))
}

// OutputShape keeps a sequence [T, d].
func (t *TransformerEncoderLayerModule) OutputShape(in []int) ([]int, error) {
	if len(in) != 2 || in[1] != t.DModel {
		return nil, fmt.Errorf("transformer over %d features takes a sequence [T, %d], got %v", t.DModel, t.DModel, in)
	}
	return append([]int{}, in...), nil
}

// Spec returns "transformer(HEADS,ff=FF)" with causal=1, norm_first=1,
// activation=gelu, dropout=P, eps=E where they differ from the defaults.
func (t *TransformerEncoderLayerModule) Spec() string {
	s := fmt.Sprintf("transformer(%d", t.NumHeads)
	if t.FeedForward != 4*t.DModel {
		s += fmt.Sprintf(",ff=%d", t.FeedForward)
	}
	if t.Causal {
		s += ",causal=1"
	}
	if t.NormFirst {
		s += ",norm_first=1"
	}
	if t.Activation == "gelu" {
		s += ",activation=gelu"
	}
	if t.Dropout > 0 {
		s += fmt.Sprintf(",dropout=%v", t.Dropout)
	}
	if t.Eps != 1e-5 {
		s += fmt.Sprintf(",eps=%v", t.Eps)
	}
	return s + ")"
}

// String describes the layer as PyTorch prints it.
func (t *TransformerEncoderLayerModule) String() string {
	return fmt.Sprintf("TransformerEncoderLayer(d_model=%d, nhead=%d, dim_feedforward=%d, norm_first=%t, activation=%s)",
		t.DModel, t.NumHeads, t.FeedForward, t.NormFirst, t.activation())
}

func (t *TransformerEncoderLayerModule) activation() string {
	if t.Activation == "" {
		return "relu"
	}
	return t.Activation
}

// transformerState lists a TransformerEncoderLayer's state_dict entries.
func transformerState(d, ff int) []StateShape {
	var s []StateShape
	for _, e := range mhaState(d, true) {
		e.Name = join("self_attn", e.Name)
		s = append(s, e)
	}
	add := func(prefix string, w, b []int) {
		for _, e := range weightBias(true, w, b) {
			e.Name = join(prefix, e.Name)
			s = append(s, e)
		}
	}
	add("linear1", []int{ff, d}, []int{ff})
	add("linear2", []int{d, ff}, []int{d})
	add("norm1", []int{d}, []int{d})
	add("norm2", []int{d}, []int{d})
	return s
}

// transformerDef declares transformer(HEADS, ff=FF, causal=1,
// norm_first=1, activation=gelu, dropout=P, eps=E): a
// TransformerEncoderLayer over a sequence [T, d], d taken from the input;
// ff defaults to 4·d.
func transformerDef() LayerDef {
	ffOf := func(l LayerSpec, in []int) int {
		if ff := l.Int("ff"); ff > 0 {
			return ff
		}
		return 4 * in[1]
	}
	check := func(b *LayerBuilder, l LayerSpec, in []int) error {
		if err := checkSeq(b, "transformer", in, l.Int("heads")); err != nil {
			return err
		}
		return b.CheckWeight(ffOf(l, in), in[1])
	}
	return LayerDef{
		Name: "transformer", Positional: 1,
		Args: []Arg{sizeArg("heads"), intArg("ff", 0, 1), flagArg("causal", 0), flagArg("norm_first", 0),
			{Name: "activation", Kind: StringArg, DefaultText: "relu", Choices: []string{"relu", "gelu"}},
			floatArg("dropout", 0, 0, 1), floatArg("eps", 1e-5, math.SmallestNonzeroFloat32, 1)},
		Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
			if err := check(b, l, in); err != nil {
				return nil, err
			}
			o := TransformerOptions{NormFirst: l.Flag("norm_first"), Activation: l.TextArg("activation"),
				Dropout: float32(l.Float("dropout")), Causal: l.Flag("causal"), Eps: float32(l.Float("eps"))}
			return TransformerEncoderLayer(in[1], l.Int("heads"), ffOf(l, in), o, b.RNG()), nil
		},
		Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
			if err := check(b, l, in); err != nil {
				return nil, nil, err
			}
			return transformerState(in[1], ffOf(l, in)), append([]int{}, in...), nil
		},
	}
}

func init() { Register(transformerDef()) }
