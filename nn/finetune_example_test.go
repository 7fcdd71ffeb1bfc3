package nn_test

import (
	"fmt"
	"slices"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// Fine-tuning a pretrained ResNet-18 for two new classes, as backprop
// train --pretrained FILE --freeze-epochs N --backbone-lr-scale 0.1 does:
// every pretrained tensor but the head is loaded, the backbone is frozen
// (no gradient, batch norm in evaluation mode) while the fresh head
// learns, then unfrozen to train at a tenth of the head's learning rate in
// a parameter group of its own.
func ExampleResNet18_finetune() {
	// The pretrained weights: nn.LoadFile("resnet18.safetensors") of a
	// file saved from torchvision; here a stand-in with 1000 classes.
	pretrained := nn.StateDict(nn.ResNet18(1000, nn.Seed(1)))

	m := nn.ResNet18(2, nn.Seed(2)) // the head, fc, is fresh for 2 classes
	for name := range pretrained {
		if strings.HasPrefix(name, "fc.") {
			delete(pretrained, name)
		}
	}
	if err := nn.LoadStateDict(m, pretrained, false); err != nil {
		panic(err)
	}
	backbone := []any{m.Conv1, m.BN1, m.Layers[0], m.Layers[1], m.Layers[2], m.Layers[3]}
	for _, b := range backbone {
		nn.Freeze(b)
	}
	head := nn.Parameters(m.FC)
	var body []*ag.Value
	for _, p := range nn.Parameters(m) {
		if !slices.Contains(head, p) {
			body = append(body, p)
		}
	}
	const lr = 0.01
	opt := optim.SGD(optim.Groups(optim.ParamGroup(head), optim.ParamGroup(body, optim.LR(lr*0.1))),
		optim.LR(lr), optim.Momentum(0.9))

	x := tensor.FromFunc(func(i int) float32 { return float32(i%7) / 7 }, 2, 3, 32, 32)
	step := func() {
		nn.Train(m) // a frozen module stays in evaluation mode
		opt.ZeroGrad()
		nn.CrossEntropy(m.Forward(ag.Const(x)), []int{0, 1}).Backward()
		opt.Step()
	}
	conv1 := m.Conv1.Weight.Data.Clone()
	fc := m.FC.Weight.Data.Clone()
	step() // a frozen epoch: only the head learns
	fmt.Println("conv1 changed:", !slices.Equal(conv1.Data(), m.Conv1.Weight.Data.Data()), "fc changed:", !slices.Equal(fc.Data(), m.FC.Weight.Data.Data()))

	nn.Unfreeze(m)
	step() // every layer learns, the backbone at lr × 0.1
	fmt.Println("conv1 changed:", !slices.Equal(conv1.Data(), m.Conv1.Weight.Data.Data()), "backbone lr:", opt.GroupLR(1))
	// Output:
	// conv1 changed: false fc changed: true
	// conv1 changed: true backbone lr: 0.001
}
