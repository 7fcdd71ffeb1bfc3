package nn

import (
	"fmt"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// PositionalEmbeddingModule adds a learned vector per position to a
// sequence [N, T, D] (T at most MaxLen), as GPT's learned positions: the
// state_dict entry is "weight" [MaxLen, D]. Make one with
// [PositionalEmbedding].
type PositionalEmbeddingModule struct {
	MaxLen, Dim int
	Weight      *ag.Value
}

// PositionalEmbedding returns maxLen positions of dim features drawn from
// N(0, 0.02²). Options: WithRNG, Seed.
func PositionalEmbedding(maxLen, dim int, opts ...Option) *PositionalEmbeddingModule {
	c := newConfig("PositionalEmbedding", nil, opts)
	if maxLen < 1 || dim < 1 {
		panic(fmt.Sprintf("nn.PositionalEmbedding: sizes must be positive (positions %d, dim %d)", maxLen, dim))
	}
	w := tensor.Zeros(maxLen, dim)
	Normal(w, 0, 0.02, c.rng)
	return &PositionalEmbeddingModule{MaxLen: maxLen, Dim: dim, Weight: ag.Param(w)}
}

// Forward returns x + weight[:T] for x [N, T, Dim] (or [T, Dim]).
func (p *PositionalEmbeddingModule) Forward(x *ag.Value) *ag.Value {
	s := x.Shape()
	if len(s) < 2 || s[len(s)-1] != p.Dim || s[len(s)-2] > p.MaxLen {
		panic(fmt.Sprintf("nn.PositionalEmbedding: input %v: want [N, T, %d] with T at most %d", s, p.Dim, p.MaxLen))
	}
	w := p.Weight
	if x.NoGraph() {
		w = ag.Detached(w)
	}
	if t := s[len(s)-2]; t < p.MaxLen {
		w = ag.Narrow(w, 0, 0, t)
	}
	return ag.Add(x, w)
}

// LocalParameters returns weight.
func (p *PositionalEmbeddingModule) LocalParameters() []NamedValue { return params("weight", p.Weight) }

// OutputShape keeps a sequence [T, Dim], T at most MaxLen.
func (p *PositionalEmbeddingModule) OutputShape(in []int) ([]int, error) {
	if err := checkPositions(p.MaxLen, in); err != nil {
		return nil, err
	}
	if in[1] != p.Dim {
		return nil, fmt.Errorf("posembedding of %d features takes [T, %d], got %v", p.Dim, p.Dim, in)
	}
	return append([]int{}, in...), nil
}

// Spec returns "posembedding(MAXLEN)".
func (p *PositionalEmbeddingModule) Spec() string { return fmt.Sprintf("posembedding(%d)", p.MaxLen) }

// String describes the layer.
func (p *PositionalEmbeddingModule) String() string {
	return fmt.Sprintf("PositionalEmbedding(%d, %d)", p.MaxLen, p.Dim)
}

// Spec returns "embedding(NUM,DIM)", with padding_idx when set.
func (l *EmbeddingModule) Spec() string {
	if l.PaddingIdx >= 0 {
		return fmt.Sprintf("embedding(%d,%d,padding_idx=%d)", l.Num, l.Dim, l.PaddingIdx)
	}
	return fmt.Sprintf("embedding(%d,%d)", l.Num, l.Dim)
}

func checkPositions(maxLen int, in []int) error {
	if len(in) != 2 {
		return fmt.Errorf("posembedding takes a sequence [T, D], got %v: put an embedding before it", in)
	}
	if in[0] > maxLen {
		return fmt.Errorf("posembedding(%d): a sequence of %d positions is longer", maxLen, in[0])
	}
	return nil
}

func embeddingDefs() []LayerDef {
	embCheck := func(b *LayerBuilder, l LayerSpec, in []int) error {
		if p := l.Int("padding_idx"); p >= l.Int("num") {
			return fmt.Errorf("embedding: padding_idx %d outside [0, %d)", p, l.Int("num"))
		}
		return b.CheckWeight(l.Int("num"), l.Int("dim"))
	}
	return []LayerDef{
		{
			// embedding(NUM, DIM, padding_idx=P): integer ids of any shape
			// (a sequence [T]) to [shape..., DIM].
			Name: "embedding", Positional: 2,
			Args: []Arg{sizeArg("num"), sizeArg("dim"), intArg("padding_idx", -1, 0)},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				if err := embCheck(b, l, in); err != nil {
					return nil, err
				}
				return Embedding(l.Int("num"), l.Int("dim"), PaddingIdx(l.Int("padding_idx")), b.RNG()), nil
			},
			Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
				if err := embCheck(b, l, in); err != nil {
					return nil, nil, err
				}
				return []StateShape{{Name: "weight", Shape: []int{l.Int("num"), l.Int("dim")}}}, append(append([]int{}, in...), l.Int("dim")), nil
			},
		},
		{
			// posembedding(MAXLEN): learned positions added to [T, D].
			Name: "posembedding", Positional: 1,
			Args: []Arg{sizeArg("maxlen")},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				if err := checkPositions(l.Int("maxlen"), in); err != nil {
					return nil, err
				}
				if err := b.CheckWeight(l.Int("maxlen"), in[1]); err != nil {
					return nil, err
				}
				return PositionalEmbedding(l.Int("maxlen"), in[1], b.RNG()), nil
			},
			Infer: func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error) {
				if err := checkPositions(l.Int("maxlen"), in); err != nil {
					return nil, nil, err
				}
				if err := b.CheckWeight(l.Int("maxlen"), in[1]); err != nil {
					return nil, nil, err
				}
				return []StateShape{{Name: "weight", Shape: []int{l.Int("maxlen"), in[1]}}}, append([]int{}, in...), nil
			},
		},
	}
}

func init() {
	for _, d := range embeddingDefs() {
		Register(d)
	}
}

// GPTConfig sizes the gpt preset.
type GPTConfig struct {
	Layers, Dim, Heads, FeedForward, Context, Vocab int
}

// DefaultGPT is the W-LM gpt model: 4 pre-norm causal transformer blocks
// of width 128, 4 heads, feed-forward 512, GELU, context 128, bytes.
var DefaultGPT = GPTConfig{Layers: 4, Dim: 128, Heads: 4, FeedForward: 512, Context: 128, Vocab: 256}

// GPTSpec returns the spec of a small GPT: token embedding, learned
// positions, Layers pre-norm causal GELU transformer blocks, a final layer
// norm and a linear head to Vocab logits. Its state_dict names are those of
// the PyTorch Sequential of the same layers (0.weight, 1.weight,
// 2.self_attn.in_proj_weight, …).
func GPTSpec(c GPTConfig) string {
	s := fmt.Sprintf("embedding(%d,%d) posembedding(%d)", c.Vocab, c.Dim, c.Context)
	for range c.Layers {
		s += fmt.Sprintf(" transformer(%d,ff=%d,causal=1,norm_first=1,activation=gelu)", c.Heads, c.FeedForward)
	}
	return s + fmt.Sprintf(" layernorm(dims=1) linear(%d)", c.Vocab)
}

// LSTMLMSpec returns the spec of the W-LM lstm model: an embedding of 64,
// an LSTM of 256 and a linear head to vocab logits.
func LSTMLMSpec(vocab int) string {
	return fmt.Sprintf("embedding(%d,64) lstm(256) linear(%d)", vocab, vocab)
}

// LanguageModelPreset returns the spec of the text preset name ("gpt" or
// "lstm") for windows of context tokens over a vocabulary of vocab; ok is
// false for another name.
func LanguageModelPreset(name string, context, vocab int) (spec string, ok bool) {
	switch name {
	case "gpt":
		c := DefaultGPT
		c.Context, c.Vocab = context, vocab
		return GPTSpec(c), true
	case "lstm":
		return LSTMLMSpec(vocab), true
	}
	return "", false
}
