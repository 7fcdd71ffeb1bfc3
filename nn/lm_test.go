package nn_test

import (
	"slices"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

func TestLanguageModelPresets(t *testing.T) {
	small := nn.GPTSpec(nn.GPTConfig{Layers: 2, Dim: 16, Heads: 2, FeedForward: 32, Context: 8, Vocab: 256})
	lstm, _ := nn.LanguageModelPreset("lstm", 8, 256)
	for _, spec := range []string{small, lstm} {
		m, err := nn.Build(spec, []int{8}, nn.Seed(1))
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, 2*8)
		next := make([]int64, 2*8)
		text := "abcabcabcabcabcabc"
		for i := range 2 {
			for j := range 8 {
				ids[i*8+j], next[i*8+j] = int64(text[i+j]), int64(text[i+j+1])
			}
		}
		x := tensor.NewInt64(ids, 2, 8)
		y := tensor.NewInt64(next, 2*8)
		out := m.Forward(ag.Const(x))
		if !slices.Equal(out.Shape(), []int{2, 8, 256}) {
			t.Fatalf("%s: logits %v", spec, out.Shape())
		}
		opt := optim.Adam(nn.Parameters(m), optim.LR(1e-2))
		var first, last float32
		for step := range 30 {
			loss := ag.CrossEntropyT(ag.Reshape(m.Forward(ag.Const(x)), -1, 256), y)
			if step == 0 {
				first = loss.Data.Data()[0]
			}
			last = loss.Data.Data()[0]
			nn.ZeroGrad(m)
			loss.Backward()
			opt.Step()
		}
		if !(last < first/2) {
			t.Errorf("%s: loss %v → %v", spec, first, last)
		}
	}
	full, ok := nn.LanguageModelPreset("gpt", 128, 256)
	if !ok {
		t.Fatal("no gpt preset")
	}
	shapes, err := nn.InferShapes(full, []int{128})
	if err != nil {
		t.Fatal(err)
	}
	_ = shapes
	m, err := nn.Build(full, []int{128})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, p := range nn.NamedParameters(m) {
		names = append(names, p.Name)
	}
	for _, w := range []string{"0.weight", "1.weight", "2.self_attn.in_proj_weight", "5.linear1.weight", "6.weight", "7.weight"} {
		if !slices.Contains(names, w) {
			t.Errorf("gpt has no %s", w)
		}
	}
	if _, err := nn.Build("embedding(256,8) posembedding(4)", []int{8}); err == nil {
		t.Error("posembedding(4) of 8 positions accepted")
	}
}
