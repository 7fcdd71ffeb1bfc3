package train_test

import (
	"context"
	"fmt"
	"log"

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
