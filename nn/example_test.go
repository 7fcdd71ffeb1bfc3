package nn_test

import (
	"fmt"
	"log"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// A model made of layers, as with torch.nn.Sequential. Parameters are
// named by position, counting the layers without parameters.
func ExampleSequential() {
	model := nn.Sequential(
		nn.Conv2d(1, 8, 3, nn.Padding(1), nn.Seed(1)), nn.ReLU(), nn.MaxPool2d(2),
		nn.Flatten(), nn.Linear(8*14*14, 10, nn.Seed(2)),
	)
	x := ag.Const(tensor.Zeros(4, 1, 28, 28)) // a batch of 4 images
	logits := model.Forward(x)
	loss := nn.CrossEntropy(logits, []int{3, 1, 4, 1})
	loss.Backward()

	fmt.Println("logits:", logits.Shape())
	for _, p := range nn.NamedParameters(model) {
		fmt.Println(p.Name, p.Value.Shape(), p.Value.Grad != nil)
	}
	// Output:
	// logits: [4 10]
	// 0.weight [8 1 3 3] true
	// 0.bias [8] true
	// 4.weight [10 1568] true
	// 4.bias [10] true
}

// A model from a one-line spec: only output sizes are given, input sizes
// follow from the sample shape. Summary prints it as Keras does.
func ExampleBuild() {
	model, err := nn.Build("conv(16,3,pad=1) batchnorm relu maxpool(2) flatten dropout(0.25) linear(10)", []int{1, 28, 28}, nn.Seed(42))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(model.Spec())
	summary, err := nn.Summary(model, []int{1, 28, 28})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(summary)

	_, err = nn.Build("conv(16,3) relu linear(10)", []int{1, 28, 28})
	fmt.Println(err)
	// Output:
	// conv(16,3,pad=1) batchnorm relu maxpool(2) flatten dropout(0.25) linear(10)
	// Layer (type)   Output shape     Param #
	// =======================================
	// 0 (Conv2d)     [N, 16, 28, 28]      160
	// 1 (BatchNorm)  [N, 16, 28, 28]       65
	// 2 (ReLU)       [N, 16, 28, 28]        0
	// 3 (MaxPool2d)  [N, 16, 14, 14]        0
	// 4 (Flatten)    [N, 3136]              0
	// 5 (Dropout)    [N, 3136]              0
	// 6 (Linear)     [N, 10]           31,370
	// =======================================
	// Input shape: [N, 1, 28, 28]
	// Total params: 31,595
	// Trainable params: 31,562
	// Non-trainable params: 33
	// nn: spec column 17, "linear(10)": linear takes a vector, but its input has shape [16 26 26]: put flatten before it
}

// Residual is a user-defined module: y = relu(x + conv2(relu(conv1(x)))).
// It needs only Forward, and Children to name its sub-modules; state
// dicts, Parameters, Train/Eval and Summary then reach inside it.
type Residual struct {
	Conv1, Conv2 *nn.Conv2dModule
}

// NewResidual makes a residual block on ch channels; the padding keeps
// the spatial size so that x and the convolutions' output can be added.
func NewResidual(ch int, opts ...nn.Option) *Residual {
	opts = append(opts, nn.Padding(1))
	return &Residual{Conv1: nn.Conv2d(ch, ch, 3, opts...), Conv2: nn.Conv2d(ch, ch, 3, opts...)}
}

// Forward computes relu(x + conv2(relu(conv1(x)))).
func (r *Residual) Forward(x *ag.Value) *ag.Value {
	return ag.ReLU(ag.Add(x, r.Conv2.Forward(ag.ReLU(r.Conv1.Forward(x)))))
}

// Children names the sub-modules as PyTorch attributes would be named.
func (r *Residual) Children() []nn.NamedModule {
	return []nn.NamedModule{{Name: "conv1", Module: r.Conv1}, {Name: "conv2", Module: r.Conv2}}
}

// Writing a custom module: a residual block inside a Sequential.
func Example_customModule() {
	rng := nn.NewRNG(7)
	model := nn.Sequential(
		nn.Conv2d(1, 4, 3, nn.Padding(1), nn.WithRNG(rng)), nn.ReLU(),
		NewResidual(4, nn.WithRNG(rng)),
		nn.GlobalAvgPool2d(), nn.Linear(4, 10, nn.WithRNG(rng)),
	)
	for _, s := range nn.NamedState(model) {
		fmt.Println(s.Name, s.Tensor.Shape())
	}
	y := model.Forward(ag.Const(tensor.Ones(2, 1, 8, 8)))
	fmt.Println("output:", y.Shape())
	summary, _ := nn.Summary(model, []int{1, 8, 8})
	fmt.Print(summary)
	// Output:
	// 0.weight [4 1 3 3]
	// 0.bias [4]
	// 2.conv1.weight [4 4 3 3]
	// 2.conv1.bias [4]
	// 2.conv2.weight [4 4 3 3]
	// 2.conv2.bias [4]
	// 4.weight [10 4]
	// 4.bias [10]
	// output: [2 10]
	// Layer (type)         Output shape  Param #
	// ==========================================
	// 0 (Conv2d)           [N, 4, 8, 8]       40
	// 1 (ReLU)             [N, 4, 8, 8]        0
	// 2 (Residual)         [N, 4, 8, 8]      296
	//   2.conv1 (Conv2d)                     148
	//   2.conv2 (Conv2d)                     148
	// 3 (GlobalAvgPool2d)  [N, 4]              0
	// 4 (Linear)           [N, 10]            50
	// ==========================================
	// Input shape: [N, 1, 8, 8]
	// Total params: 386
	// Trainable params: 386
	// Non-trainable params: 0
}
