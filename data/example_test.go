package data_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/backprop-go/backprop/data"
)

// A CSV table becomes standardised features and class labels, split into
// training and test sets, then batches.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flowers.csv")
	table := "petal_length,petal_width,species\n"
	for i := range 10 {
		table += fmt.Sprintf("%d.%d,0.%d,setosa\n%d.%d,1.%d,versicolor\n", 1, i, i, 4, i, i)
	}
	os.WriteFile(path, []byte(table), 0o644)

	d, err := data.CSV(path, data.CSVConfig{Split: data.SplitConfig{Seed: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("classes:", d.Spec.Classes)
	fmt.Println("train/test:", d.Train.Len(), d.Test.Len())

	loader, err := data.NewLoader(d.Train, data.LoaderConfig{BatchSize: 6, Shuffle: true, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for epoch := range 2 {
		for b, err := range loader.Epoch(epoch) {
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Println("epoch", epoch, "batch", b.Number, "X", b.X.Shape(), "labels", len(b.Labels))
		}
	}
	// Output:
	// classes: [setosa versicolor]
	// train/test: 16 4
	// epoch 0 batch 0 X [6 2] labels 6
	// epoch 0 batch 1 X [6 2] labels 6
	// epoch 0 batch 2 X [4 2] labels 4
	// epoch 1 batch 0 X [6 2] labels 6
	// epoch 1 batch 1 X [6 2] labels 6
	// epoch 1 batch 2 X [4 2] labels 4
}

// MNIST is fetched once into the cache and then loads in well under a
// second; tests skip when it is not there.
func ExampleMNIST() {
	if !data.MNISTAvailable() {
		return // data.MNIST() would fetch it, printing what it does to stderr
	}
	train, test, err := data.MNIST()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train.Len(), test.Len(), train.Shape(), train.Classes()[train.Label(0)])
}
