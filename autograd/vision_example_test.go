package autograd_test

import (
	"fmt"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// Bilinear upsampling by 2 of a 1×1×2×2 image, as
// torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear").
func ExampleInterpolate() {
	x := ag.Const(tensor.New([]float32{0, 1, 2, 3}, 1, 1, 2, 2))
	y := ag.Interpolate(x, ag.InterpParams{Mode: tensor.Bilinear, Scale: [2]float64{2, 2}})
	fmt.Println(y.Shape())
	fmt.Println(y.Data.Data()[:4])
	// Output:
	// [1 1 4 4]
	// [0 0.25 0.75 1]
}
