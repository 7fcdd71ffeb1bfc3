package nn_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// TestPyTorchInteropCNN loads a PyTorch CNN with batch norm in evaluation
// mode (running statistics from training passes), max and average pooling
// and a strided convolution (made by ../testdata/interop/make_cnn.py), and
// compares its logits with PyTorch's.
func TestPyTorchInteropCNN(t *testing.T) {
	b, err := os.ReadFile(interopDir + "cnn_bn.expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Architecture string    `json:"architecture"`
		InputShape   []int     `json:"input_shape"`
		Input        []float32 `json:"input"`
		Logits       []float64 `json:"logits"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	m, meta, err := nn.LoadModel(interopDir+"cnn_bn.safetensors", want.InputShape[1:])
	if err != nil {
		t.Fatal(err)
	}
	if meta[nn.ArchitectureKey] != want.Architecture {
		t.Fatalf("architecture %q, want %q", meta[nn.ArchitectureKey], want.Architecture)
	}
	nn.Eval(m)
	out := m.Forward(ag.NoGraph(tensor.New(want.Input, want.InputShape...)))
	worst := 0.0
	for i, w := range want.Logits {
		d := math.Abs(float64(out.Data.Data()[i]) - w)
		worst = max(worst, d)
		if d > 1e-4+1e-3*math.Abs(w) {
			t.Fatalf("logit %d = %v, PyTorch %v", i, out.Data.Data()[i], w)
		}
	}
	t.Logf("largest logit difference from PyTorch: %.2g", worst)
}
