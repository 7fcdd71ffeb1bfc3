package train_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/train"
)

// The training loop written by hand: forward pass, loss, ZeroGrad,
// Backward, Step. (This example needs MNIST, so it is compiled but not run
// by go test.)
func Example_manualLoop() {
	trainSet, testSet, err := data.MNIST()
	if err != nil {
		log.Fatal(err)
	}
	model := nn.Sequential(
		nn.Conv2d(1, 32, 3, nn.Padding(1)), nn.ReLU(), nn.MaxPool2d(2),
		nn.Flatten(), nn.Linear(32*14*14, 10),
	)
	opt := optim.AdamW(nn.Parameters(model), optim.LR(1e-3))
	loader, err := data.NewLoader(trainSet, data.LoaderConfig{BatchSize: 64, Shuffle: true, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	for epoch := range 2 {
		nn.Train(model)
		for batch, err := range loader.Epoch(epoch) {
			if err != nil {
				log.Fatal(err)
			}
			loss := nn.CrossEntropy(model.Forward(ag.Const(batch.X)), batch.Labels)
			opt.ZeroGrad()
			loss.Backward()
			opt.Step()
		}
		res, err := train.Evaluate(model, testSet, train.EvalConfig{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("epoch %d: test accuracy %.2f%%\n", epoch+1, 100*res.Accuracy)
	}
}

// The same with Fit, which adds validation, checkpoints, metrics and
// resumption. (Compiled, not run: it needs MNIST.)
func ExampleFit() {
	trainSet, testSet, err := data.MNIST()
	if err != nil {
		log.Fatal(err)
	}
	model, err := nn.Build("conv(32,3,pad=1) relu maxpool(2) flatten linear(10)", trainSet.Shape(), nn.Seed(1))
	if err != nil {
		log.Fatal(err)
	}
	history, err := train.Fit(context.Background(), model, trainSet, train.Config{
		Epochs:    2,
		Optimizer: optim.SGD(nn.Parameters(model), optim.LR(0.05), optim.Momentum(0.9)),
		Val:       testSet,
		OutDir:    "runs/example",
	})
	if err != nil {
		log.Fatal(err)
	}
	last := history[len(history)-1]
	fmt.Printf("validation accuracy %.2f%%\n", 100*last.ValAccuracy)
}

// counting is a FieldDataset of token sequences in which each token is
// followed by the next one modulo 5: field "ids" holds the tokens and
// "next" their successors, both int64.
type counting struct{}

func (counting) Len() int                                                  { return 40 }
func (counting) Shape() []int                                              { return []int{1} }
func (counting) Classes() []string                                         { return nil }
func (counting) TargetSize() int                                           { return 0 }
func (counting) Sample(int, *rand.Rand, []float32, []float32) (int, error) { return -1, nil }
func (counting) Fields() []data.Field {
	return []data.Field{{Name: "ids", Int: true, Shape: []int{6}}, {Name: "next", Int: true, Shape: []int{6}}}
}
func (counting) SampleFields(i int, _ *rand.Rand, _, _ []float32, f data.FieldValues) (int, error) {
	for j := range 6 {
		f.Ints["ids"][j], f.Ints["next"][j] = int64((i+j)%5), int64((i+j+1)%5)
	}
	return -1, nil
}

// A language model trained on Int64 token ids with NextTokenStep: the
// batches' "ids" go into the model, which returns logits [N, T, vocabulary]
// (here an embedding table, a bigram model), and the loss is the
// cross-entropy against "next". Perplexity falls from about the
// vocabulary's size towards 1.
func ExampleNextTokenStep() {
	model := nn.Embedding(5, 5, nn.Seed(1))
	step := train.NextTokenStep("ids", "next")
	hist, err := train.Fit(context.Background(), model, counting{}, train.Config{
		Epochs: 5, BatchSize: 8, Task: train.TaskLanguageModel, Step: step,
		Optimizer: optim.Adam(nn.Parameters(model), optim.LR(0.3)),
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := train.Evaluate(model, counting{}, train.EvalConfig{Task: train.TaskLanguageModel, Step: step})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("perplexity above 2 at first: %v, below 1.5 at the end: %v; next-token accuracy %.0f%% over %d tokens\n",
		hist[0].TrainPerplexity > 2, res.Perplexity < 1.5, 100*res.Accuracy, res.Samples)
	// Output: perplexity above 2 at first: true, below 1.5 at the end: true; next-token accuracy 100% over 240 tokens
}
