package autograd_test

import (
	"fmt"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// BackwardReleaseHook reports each parameter once its gradient is final:
// the last layer's first, while the first layer's is still to come.
func ExampleValue_BackwardReleaseHook() {
	x := ag.Const(tensor.New([]float32{1, 2}, 1, 2))
	w1 := ag.Param(tensor.New([]float32{0.5, -1, 1, 0.25}, 2, 2))
	w2 := ag.Param(tensor.New([]float32{1, -1}, 2, 1))
	loss := ag.Mean(ag.MatMul(ag.Tanh(ag.MatMul(x, w1)), w2))
	names := map[*ag.Value]string{w1: "w1", w2: "w2"}
	loss.BackwardReleaseHook(func(p *ag.Value) {
		if name, ok := names[p]; ok {
			fmt.Println(name, "ready:", p.Grad.Shape())
		}
	})
	// Output:
	// w2 ready: [2 1]
	// w1 ready: [2 2]
}
