package nn_test

import (
	"context"
	"fmt"

	"github.com/backprop-go/backprop/nn"
)

// A Generator writes with a language model: here an untrained byte-level
// GPT, so the bytes are noise, but the same seed writes the same ones.
// A server makes one Generator per model and calls Generate from each
// request's goroutine, with the request's context.
func ExampleNewGenerator() {
	spec := nn.GPTSpec(nn.GPTConfig{Layers: 1, Dim: 16, Heads: 2, FeedForward: 32, Context: 32, Vocab: 256})
	model, err := nn.Build(spec, []int{32}, nn.Seed(1))
	if err != nil {
		panic(err)
	}
	nn.Eval(model) // generation is inference; the Generator never switches modes itself
	gen, err := nn.NewGenerator(model, nn.GeneratorOptions{})
	if err != nil {
		panic(err)
	}
	var a, b []int64
	prompt := []int64{'H', 'i'}
	s := nn.Sampling{Temperature: 0.8, TopK: 40, Seed: 7}
	gen.Generate(context.Background(), prompt, 10, s, func(tok int64) error { a = append(a, tok); return nil })
	gen.Generate(context.Background(), prompt, 10, s, func(tok int64) error { b = append(b, tok); return nil })
	fmt.Println(len(a), fmt.Sprint(a) == fmt.Sprint(b), gen.Cached(), gen.Context(), gen.Vocabulary())
	// Output: 10 true true 32 256
}
