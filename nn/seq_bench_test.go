package nn_test

import (
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// BenchmarkLSTMStep is one forward and backward pass of the W-LM lstm
// model (embedding 64, LSTM 256, linear to 256 bytes) on a batch of 32
// windows of context 128: the workload of train_torch_lm.py lstm,
// without the optimiser step.
func BenchmarkLSTMStep(b *testing.B) {
	const batch, context, vocab = 32, 128, 256
	m := nn.Sequential(nn.Embedding(vocab, 64, nn.Seed(1)), nn.LSTM(64, 256, nn.RNNOptions{}, nn.Seed(2)), nn.Linear(256, vocab, nn.Seed(3)))
	r := rand.New(rand.NewPCG(1, 2))
	tokens := make([]int, batch*context)
	targets := make([]int, batch*context)
	for i := range tokens {
		tokens[i], targets[i] = r.IntN(vocab), r.IntN(vocab)
	}
	x := ag.Const(tensor.FromInts(tokens, batch, context))
	y := tensor.FromInts(targets, batch*context)
	b.ResetTimer()
	for range b.N {
		logits := m.Forward(x)
		loss := ag.CrossEntropyT(ag.Reshape(logits, -1, vocab), y)
		loss.BackwardRelease()
		nn.ZeroGrad(m)
	}
	b.ReportMetric(float64(b.N*batch*context)/b.Elapsed().Seconds(), "tokens/s")
}
