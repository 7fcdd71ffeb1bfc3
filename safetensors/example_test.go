package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/backprop-go/backprop/safetensors"
	"github.com/backprop-go/backprop/tensor"
)

func ExampleSave() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	// A state dict with PyTorch-style names, and metadata for the reader.
	state := map[string]*tensor.Tensor{
		"0.weight": tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3),
		"0.bias":   tensor.New([]float32{0.5, -0.5}, 2),
	}
	meta := map[string]string{"architecture": "linear(2)"}
	if err := safetensors.Save(path, state, meta); err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("architecture:", f.Metadata["architecture"])
	for _, name := range f.Names() {
		t := f.Tensors[name]
		fmt.Println(name, f.DTypes[name], t.Shape(), t.Data())
	}
	// Output:
	// architecture: linear(2)
	// 0.bias F32 [2] [0.5 -0.5]
	// 0.weight F32 [2 3] [1 2 3 4 5 6]
}
