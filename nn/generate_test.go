package nn_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// decoderSpecs are language-model stacks of every layer kind the cached
// decoder steps through.
var decoderSpecs = []struct{ name, spec string }{
	{"gpt", nn.GPTSpec(nn.GPTConfig{Layers: 2, Dim: 16, Heads: 2, FeedForward: 32, Context: 12, Vocab: 20})},
	{"post-norm relu", "embedding(20,16) posembedding(12) transformer(4,ff=24,causal=1) rmsnorm(dims=1) linear(20)"},
	{"attention", "embedding(20,16) posembedding(12) attention(2,causal=1) layernorm(dims=1) gelu linear(20)"},
	{"lstm", "embedding(20,8) lstm(16,layers=2) linear(20)"},
	{"gru", "embedding(20,8) gru(16) dropout(0.5) tanh linear(20)"},
	{"rnn", "embedding(20,8) rnn(16) linear(20)"},
}

func lmModel(t *testing.T, spec string, context int) *nn.SequentialModule {
	t.Helper()
	m, err := nn.Build(spec, []int{context}, nn.Seed(3))
	if err != nil {
		t.Fatal(err)
	}
	nn.Eval(m)
	return m
}

// TestCachedDecodingMatchesFullContext: the logits of each new token,
// stepped through the caches, equal those of re-running the whole context
// with the model's own Forward.
func TestCachedDecodingMatchesFullContext(t *testing.T) {
	for _, c := range decoderSpecs {
		t.Run(c.name, func(t *testing.T) {
			const T = 12
			m := lmModel(t, c.spec, T)
			g, err := nn.NewGenerator(m, nn.GeneratorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !g.Cached() {
				t.Fatal("Cached() false for a model it can step")
			}
			rng := rand.New(rand.NewPCG(1, 2))
			toks := make([]int64, T)
			for i := range toks {
				toks[i] = rng.Int64N(20)
			}
			d := g.NewDecoder()
			worst := 0.0
			for i, tok := range toks {
				got, err := d.Feed(tok)
				if err != nil {
					t.Fatal(err)
				}
				ids := tensor.NewInt64(append([]int64(nil), toks[:i+1]...), 1, i+1)
				full := m.Forward(ag.NoGraph(ids)).Data.Data()
				want := full[i*20 : (i+1)*20]
				for j := range want {
					diff := math.Abs(float64(got[j] - want[j]))
					worst = math.Max(worst, diff)
					if diff > 1e-5*math.Max(1, math.Abs(float64(want[j]))) {
						t.Fatalf("position %d logit %d: cached %v, full context %v", i, j, got[j], want[j])
					}
				}
			}
			t.Logf("largest difference %.2g", worst)
		})
	}
}

func collect(t *testing.T, g *nn.Generator, prompt []int64, n int, s nn.Sampling) []int64 {
	t.Helper()
	var out []int64
	if err := g.Generate(context.Background(), prompt, n, s, func(tok int64) error {
		out = append(out, tok)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGenerateGreedyIsArgmax: at temperature 0 each token is the argmax
// of the full-context logits of the text so far, cached or not, and the
// two paths agree until the context fills.
func TestGenerateGreedyIsArgmax(t *testing.T) {
	for _, c := range decoderSpecs[:4] {
		t.Run(c.name, func(t *testing.T) {
			m := lmModel(t, c.spec, 12)
			prompt := []int64{3, 1, 4}
			cached, err := nn.NewGenerator(m, nn.GeneratorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			full, err := nn.NewGenerator(m, nn.GeneratorOptions{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			a := collect(t, cached, prompt, 9, nn.Sampling{})
			b := collect(t, full, prompt, 9, nn.Sampling{})
			text := append([]int64(nil), prompt...)
			for i, tok := range a {
				ids := tensor.NewInt64(append([]int64(nil), text...), 1, len(text))
				out := m.Forward(ag.NoGraph(ids)).Data.Data()
				last := out[(len(text)-1)*20:]
				best := 0
				for j, v := range last {
					if v > last[best] {
						best = j
					}
				}
				if tok != int64(best) || b[i] != tok {
					t.Fatalf("token %d: cached %d, uncached %d, argmax %d", i, tok, b[i], best)
				}
				text = append(text, tok)
			}
		})
	}
}

// TestGenerateSeeded: the same seed gives the same tokens, another seed
// (almost surely) others; top-k 1 is greedy; sampled tokens stay in the
// vocabulary, and concurrent calls on one Generator give what one call
// alone gives.
func TestGenerateSeeded(t *testing.T) {
	m := lmModel(t, decoderSpecs[0].spec, 12)
	g, err := nn.NewGenerator(m, nn.GeneratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := nn.Sampling{Temperature: 1.5, TopK: 10, Seed: 7}
	a := collect(t, g, []int64{1}, 30, s)
	if b := collect(t, g, []int64{1}, 30, s); !equal(a, b) {
		t.Fatalf("seed 7 twice: %v then %v", a, b)
	}
	s2 := s
	s2.Seed = 8
	if b := collect(t, g, []int64{1}, 30, s2); equal(a, b) {
		t.Fatalf("seeds 7 and 8 gave the same 30 tokens %v", a)
	}
	greedy := collect(t, g, []int64{1}, 30, nn.Sampling{})
	if b := collect(t, g, []int64{1}, 30, nn.Sampling{Temperature: 2, TopK: 1, Seed: 5}); !equal(greedy, b) {
		t.Fatalf("top-k 1 %v, greedy %v", b, greedy)
	}
	var wg sync.WaitGroup
	res := make([][]int64, 4)
	for i := range res {
		wg.Go(func() {
			var out []int64
			if err := g.Generate(context.Background(), []int64{1}, 30, s, func(tok int64) error {
				out = append(out, tok)
				return nil
			}); err != nil {
				t.Error(err)
			}
			res[i] = out
		})
	}
	wg.Wait()
	for i, r := range res {
		if !equal(r, a) {
			t.Fatalf("goroutine %d: %v, alone %v", i, r, a)
		}
	}
}

// TestGenerateSlidesPastTheContext: a text longer than the posembedding
// keeps generating, cached and not, and both agree up to the point where
// the context first fills.
func TestGenerateSlidesPastTheContext(t *testing.T) {
	m := lmModel(t, decoderSpecs[0].spec, 12)
	for _, noCache := range []bool{false, true} {
		g, err := nn.NewGenerator(m, nn.GeneratorOptions{NoCache: noCache})
		if err != nil {
			t.Fatal(err)
		}
		if g.Context() != 12 {
			t.Fatalf("Context() %d, want the posembedding's 12", g.Context())
		}
		prompt := make([]int64, 15) // longer than the context: its last 12 count
		for i := range prompt {
			prompt[i] = int64(i % 20)
		}
		out := collect(t, g, prompt, 40, nn.Sampling{Temperature: 1, Seed: 1})
		if len(out) != 40 {
			t.Fatalf("NoCache %v: %d tokens, want 40", noCache, len(out))
		}
	}
	a := collect(t, mustGen(t, m, false), []int64{2}, 11, nn.Sampling{})
	b := collect(t, mustGen(t, m, true), []int64{2}, 11, nn.Sampling{})
	if !equal(a, b) {
		t.Fatalf("before the context fills: cached %v, uncached %v", a, b)
	}
}

func mustGen(t *testing.T, m nn.Module, noCache bool) *nn.Generator {
	g, err := nn.NewGenerator(m, nn.GeneratorOptions{NoCache: noCache})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGeneratorErrors(t *testing.T) {
	gpt := lmModel(t, decoderSpecs[0].spec, 12)
	training, err := nn.Build(decoderSpecs[0].spec, []int{12}, nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	bidi := lmModel(t, "embedding(20,8) lstm(8,bidirectional=1) linear(20)", 12)
	open := lmModel(t, "embedding(20,16) posembedding(12) transformer(2) linear(20)", 12)
	cases := []struct {
		name  string
		model nn.Module
		opts  nn.GeneratorOptions
		want  string
	}{
		{"training mode", training, nn.GeneratorOptions{}, "nn.Eval"},
		{"bidirectional", bidi, nn.GeneratorOptions{}, "bidirectional"},
		{"not causal", open, nn.GeneratorOptions{}, "causal"},
		{"context too long", gpt, nn.GeneratorOptions{Context: 13}, "posembedding(12)"},
		{"no embedding", lmModel(t, "linear(4)", 3), nn.GeneratorOptions{NoCache: true}, "embedding"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := nn.NewGenerator(c.model, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one that says %q", err, c.want)
			}
		})
	}
	g := mustGen(t, gpt, false)
	emit := func(int64) error { return nil }
	if err := g.Generate(context.Background(), nil, 3, nn.Sampling{}, emit); !errors.Is(err, nn.ErrEmptyPrompt) {
		t.Fatalf("empty prompt: %v", err)
	}
	if err := g.Generate(context.Background(), []int64{20}, 3, nn.Sampling{}, emit); err == nil {
		t.Fatal("token 20 of a vocabulary of 20: no error")
	}
	if err := g.Generate(context.Background(), []int64{1}, 3, nn.Sampling{Temperature: -1}, emit); err == nil {
		t.Fatal("temperature -1: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = g.Generate(ctx, []int64{1}, 100, nn.Sampling{}, func(int64) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 3 {
		t.Fatalf("cancelled after 3 tokens: %d tokens, error %v", n, err)
	}
	stop := errors.New("enough")
	if err := g.Generate(context.Background(), []int64{1}, 100, nn.Sampling{}, func(int64) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("emit's error: got %v", err)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// BenchmarkGenerate measures the gpt preset's generation speed (a prompt
// of one byte, then 127 tokens: the whole context) with the key-value
// cache and without it.
func BenchmarkGenerate(b *testing.B) {
	spec := nn.GPTSpec(nn.DefaultGPT)
	m, err := nn.Build(spec, []int{nn.DefaultGPT.Context}, nn.Seed(1))
	if err != nil {
		b.Fatal(err)
	}
	nn.Eval(m)
	for _, noCache := range []bool{false, true} {
		name := "cache"
		if noCache {
			name = "no-cache"
		}
		b.Run(name, func(b *testing.B) {
			g, err := nn.NewGenerator(m, nn.GeneratorOptions{NoCache: noCache})
			if err != nil {
				b.Fatal(err)
			}
			n := nn.DefaultGPT.Context - 1
			for b.Loop() {
				if err := g.Generate(context.Background(), []int64{'a'}, n, nn.Sampling{Temperature: 1, Seed: 1}, func(int64) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
