package nn_test

import (
	"fmt"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// A ResNet-18 for 10 classes, named as torchvision names it: a state_dict
// saved from torchvision.models.resnet18(num_classes=10) loads into it
// with nn.Load (strictly) or nn.LoadStateDict.
func ExampleZoo() {
	m, err := nn.Zoo("resnet18", 10, nn.Seed(1))
	if err != nil {
		panic(err)
	}
	fmt.Println(nn.NumParameters(m))
	for _, s := range nn.NamedState(m)[:2] {
		fmt.Println(s.Name, s.Tensor.Shape())
	}
	sd := nn.StateDict(m)
	fmt.Println(sd["layer2.0.downsample.0.weight"].Shape(), sd["fc.weight"].Shape())
	nn.Eval(m)
	y := m.Forward(ag.NoGraph(tensor.Zeros(1, 3, 64, 64)))
	fmt.Println(y.Shape())
	// Output:
	// 11181642
	// conv1.weight [64 3 7 7]
	// bn1.weight [64]
	// [128 64 1 1] [10 512]
	// [1 10]
}
