package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// GeneratorOptions configure [NewGenerator].
type GeneratorOptions struct {
	// NoCache re-runs the model over the whole context for every new
	// token (model.Forward), instead of stepping each layer through one
	// new position with a key-value cache (attention) or a carried state
	// (recurrent layers). The results are the same to float32 rounding;
	// it is the reference, and works for any model that maps token ids
	// [N, T] to logits [N, T, V].
	NoCache bool
	// Context is the most tokens the model sees. 0 means the model's
	// bound: its posembedding's length, and no bound for a model without
	// one (a recurrent stack carries its state along the whole text).
	// It may not exceed the posembedding's length.
	Context int
}

// Sampling chooses how the next token is drawn from the model's logits.
type Sampling struct {
	// Temperature divides the logits before the softmax; 0 is greedy
	// decoding (the most likely token, the lowest id on a tie).
	Temperature float64
	// TopK, when above 0, draws only among the K most likely tokens.
	TopK int
	// Seed seeds the draws: the same seed, prompt and model give the same
	// tokens.
	Seed uint64
}

// Generator decodes text from a language model: a Sequential that maps
// token ids to next-token logits, such as the gpt and lstm presets
// ([LanguageModelPreset]). It never changes the model, and holds no state
// of its own between calls: every [Generator.Generate] call (and every
// [Generator.NewDecoder]) has its own caches, so one Generator may serve
// any number of goroutines at once, each generating its own text, while
// nothing trains the model.
//
// Incremental decoding (the default) feeds one position at a time
// through every layer: causal attention and transformer blocks keep a
// key-value cache of the keys and values of the positions before, a
// recurrent layer its hidden state; embeddings, linear layers, norms over
// the features and activations see the new position alone. A new token
// then costs one position's work, not a re-run of the whole context.
//
// When the context is full (the model's posembedding length, or
// GeneratorOptions.Context), the oldest tokens slide out: the uncached
// path runs the last Context tokens for each new one; the cached path,
// whose keys carry their absolute positions, restarts from the last half
// of the context (one pass over those Context/2 tokens, then one step per
// token until it is full again). Both agree until the context first
// fills. A prompt longer than the context keeps its last Context tokens.
type Generator struct {
	model   Module
	opts    GeneratorOptions
	makers  []stepMaker
	context int // 0: no bound
	vocab   int
}

// NewGenerator returns a generator for model, which must be in evaluation
// mode ([Eval]): generation is inference, and the generator does not
// switch modes itself, since that would change a model that others may be
// using. It returns an error when the model is not a language model it can
// decode (with NoCache: when it does not start with an embedding).
func NewGenerator(model Module, opts GeneratorOptions) (*Generator, error) {
	if model == nil {
		return nil, errors.New("nn.NewGenerator: nil model")
	}
	training := ""
	Walk(model, func(name string, m any) bool {
		if ms, ok := m.(ModeSetter); ok && ms.Training() {
			training = name
			return false
		}
		return true
	})
	if training != "" {
		return nil, errors.New("nn.NewGenerator: the model is in training mode: call nn.Eval(model) first")
	}
	makers, bound, err := stepPlan(model)
	if err != nil && !opts.NoCache {
		return nil, fmt.Errorf("nn.NewGenerator: no incremental decoding for this model: %w (GeneratorOptions.NoCache runs the whole context instead)", err)
	}
	seq, _ := model.(*SequentialModule)
	if seq == nil || len(seq.Layers) == 0 {
		return nil, errors.New("nn.NewGenerator: the model is not a Sequential that starts with an embedding")
	}
	emb, ok := seq.Layers[0].(*EmbeddingModule)
	if !ok {
		return nil, fmt.Errorf("nn.NewGenerator: layer 0 is %T: a language model starts with an embedding of its tokens", seq.Layers[0])
	}
	if opts.NoCache {
		makers = nil
		if bound == 0 {
			bound = posBound(seq)
		}
	}
	switch {
	case opts.Context < 0:
		return nil, fmt.Errorf("nn.NewGenerator: context %d", opts.Context)
	case opts.Context > 0 && bound > 0 && opts.Context > bound:
		return nil, fmt.Errorf("nn.NewGenerator: context %d is longer than the model's posembedding(%d)", opts.Context, bound)
	case opts.Context > 0:
		bound = opts.Context
	}
	return &Generator{model: model, opts: opts, makers: makers, context: bound, vocab: emb.Num}, nil
}

// posBound is the smallest posembedding length of a Sequential, 0 for
// none.
func posBound(seq *SequentialModule) int {
	b := 0
	for _, l := range seq.Layers {
		if p, ok := l.(*PositionalEmbeddingModule); ok && (b == 0 || p.MaxLen < b) {
			b = p.MaxLen
		}
	}
	return b
}

// Context returns the most tokens the model sees at once; 0 means no
// bound.
func (g *Generator) Context() int { return g.context }

// Vocabulary returns the number of token ids the model takes (its
// embedding's rows): valid ids are 0 … Vocabulary()-1.
func (g *Generator) Vocabulary() int { return g.vocab }

// Cached reports whether the generator decodes incrementally.
func (g *Generator) Cached() bool { return g.makers != nil }

// Decoder is the state of one text being decoded: the tokens fed so far
// and, when cached, each layer's cache. Feed tokens in order; a Decoder
// is for one goroutine.
type Decoder struct {
	g      *Generator
	steps  []stepFunc
	pos    int     // positions in the caches
	tokens []int64 // every token fed (the uncached path reads the last g.context)
}

// NewDecoder returns a decoder with nothing fed yet.
func (g *Generator) NewDecoder() *Decoder {
	d := &Decoder{g: g}
	d.reset()
	return d
}

func (d *Decoder) reset() {
	d.pos = 0
	if d.g.makers == nil {
		return
	}
	d.steps = make([]stepFunc, len(d.g.makers))
	for i, mk := range d.g.makers {
		d.steps[i] = mk(d.g.context)
	}
}

// Feed appends tok to the text and returns the model's logits for the
// token after it (Vocabulary() values, a fresh slice).
func (d *Decoder) Feed(tok int64) ([]float32, error) {
	if tok < 0 || tok >= int64(d.g.vocab) {
		return nil, fmt.Errorf("nn: token %d outside the vocabulary [0, %d)", tok, d.g.vocab)
	}
	d.tokens = append(d.tokens, tok)
	if d.g.makers == nil {
		return d.full()
	}
	c := d.g.context
	if c > 0 && d.pos == c {
		// The context is full: restart from its last half (the positions
		// of cached keys cannot shift).
		keep := max(c/2, 1)
		d.reset()
		var out []float32
		for _, t := range d.tokens[len(d.tokens)-keep:] {
			out = d.step(t)
		}
		d.tokens = append(d.tokens[:0], d.tokens[len(d.tokens)-keep:]...)
		return out, nil
	}
	return d.step(tok), nil
}

// step runs one position through every layer.
func (d *Decoder) step(tok int64) []float32 {
	x := tensor.NewInt64([]int64{tok}, 1, 1)
	for _, s := range d.steps {
		x = s(x, d.pos)
	}
	d.pos++
	return append([]float32(nil), x.Data()...)
}

// full runs the model over the last Context tokens and returns the
// logits of the last position.
func (d *Decoder) full() ([]float32, error) {
	w := d.tokens
	if c := d.g.context; c > 0 && len(w) > c {
		w = w[len(w)-c:]
		d.tokens = append(d.tokens[:0], w...)
		w = d.tokens
	}
	ids := tensor.NewInt64(append([]int64(nil), w...), 1, len(w))
	out := d.g.model.Forward(ag.NoGraph(ids)).Data
	s := out.Shape()
	if len(s) != 3 || s[0] != 1 || s[1] != len(w) {
		return nil, fmt.Errorf("nn: the model returned %v for tokens [1 %d], want [1, %d, vocabulary]", s, len(w), len(w))
	}
	v := s[2]
	return append([]float32(nil), out.Data()[(len(w)-1)*v:len(w)*v]...), nil
}

// ErrEmptyPrompt is returned by Generate for a prompt without tokens: the
// model needs at least one to predict the next.
var ErrEmptyPrompt = errors.New("nn: generation needs a prompt of at least one token")

// Generate feeds prompt to the model, then draws n tokens one after
// another with s, calling emit with each as soon as it is drawn. It stops
// early with ctx's error when ctx is done, or with emit's error when emit
// returns one. Calls may run concurrently.
func (g *Generator) Generate(ctx context.Context, prompt []int64, n int, s Sampling, emit func(tok int64) error) error {
	if len(prompt) == 0 {
		return ErrEmptyPrompt
	}
	if n < 0 {
		return fmt.Errorf("nn: generate %d tokens", n)
	}
	if err := s.check(); err != nil {
		return err
	}
	if c := g.context; c > 0 && len(prompt) > c {
		prompt = prompt[len(prompt)-c:]
	}
	d := g.NewDecoder()
	var logits []float32
	for _, t := range prompt {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if g.makers == nil {
			// Without a cache only the last prompt token's pass is needed.
			if t < 0 || t >= int64(g.vocab) {
				return fmt.Errorf("nn: token %d outside the vocabulary [0, %d)", t, g.vocab)
			}
			d.tokens = append(d.tokens, t)
			continue
		}
		if logits, err = d.Feed(t); err != nil {
			return err
		}
	}
	if g.makers == nil {
		var err error
		if logits, err = d.full(); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		tok := s.Sample(logits, rng)
		if err := emit(tok); err != nil {
			return err
		}
		if i == n-1 {
			break
		}
		var err error
		if logits, err = d.Feed(tok); err != nil {
			return err
		}
	}
	return nil
}

func (s Sampling) check() error {
	switch {
	case !(s.Temperature >= 0) || math.IsInf(s.Temperature, 0):
		return fmt.Errorf("nn: temperature %v: want 0 (greedy) or more", s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("nn: top-k %d: want 0 (all tokens) or more", s.TopK)
	}
	return nil
}

// Sample draws a token from logits with rng: the argmax at temperature 0
// (the lowest id on a tie), else from softmax(logits/Temperature) over
// the TopK most likely tokens (all when TopK is 0).
func (s Sampling) Sample(logits []float32, rng *rand.Rand) int64 {
	if s.Temperature == 0 || s.TopK == 1 {
		return int64(argmax(logits))
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	if s.TopK > 0 && s.TopK < len(logits) {
		sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
		idx = idx[:s.TopK]
	}
	best := math.Inf(-1)
	for _, i := range idx {
		best = math.Max(best, float64(logits[i]))
	}
	p := make([]float64, len(idx))
	sum := 0.0
	for j, i := range idx {
		p[j] = math.Exp((float64(logits[i]) - best) / s.Temperature)
		sum += p[j]
	}
	r := rng.Float64() * sum
	for j, i := range idx {
		r -= p[j]
		if r < 0 {
			return int64(i)
		}
	}
	return int64(idx[len(idx)-1])
}

func argmax(v []float32) int {
	b := 0
	for i, x := range v {
		if x > v[b] {
			b = i
		}
	}
	return b
}
