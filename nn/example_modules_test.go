package nn_test

import (
	"fmt"
	"log"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// Two-tower is a module with two inputs, made of registered children.
type twoTower struct {
	nn.Container
	Left, Right *nn.LinearModule
}

func (m *twoTower) Forward(a, b *ag.Value) *ag.Value {
	return ag.Add(m.Left.Forward(a), m.Right.Forward(b))
}

// Children of any Forward signature, registered by name, in a List.
func ExampleContainer() {
	tower := func(seed uint64) *twoTower {
		m := &twoTower{}
		m.Left = nn.Child(&m.Container, "left", nn.Linear(3, 2, nn.Seed(seed)))
		m.Right = nn.Child(&m.Container, "right", nn.Linear(4, 2, nn.Seed(seed+1), nn.NoBias()))
		return m
	}
	towers := nn.NewList(tower(1), tower(3))
	for _, p := range nn.NamedParameters(towers) {
		fmt.Println(p.Name, p.Value.Shape())
	}
	y := towers.At(0).Forward(ag.Const(tensor.Ones(5, 3)), ag.Const(tensor.Ones(5, 4)))
	fmt.Println("output:", y.Shape())
	// Output:
	// 0.left.weight [2 3]
	// 0.left.bias [2]
	// 0.right.weight [2 4]
	// 1.left.weight [2 3]
	// 1.left.bias [2]
	// 1.right.weight [2 4]
	// output: [5 2]
}

// A child assigned to a field but not registered is reported.
func ExampleCheckRegistered() {
	m := &twoTower{}
	m.Left = nn.Child(&m.Container, "left", nn.Linear(3, 2))
	m.Right = nn.Linear(4, 2) // forgotten: trained by nobody, saved nowhere
	fmt.Println(nn.CheckRegistered(m))
	// Output:
	// nn: module (the model) (*nn_test.twoTower): field Right (*nn.LinearModule) holds 2 parameters that are not registered: register it (Container.RegisterModule, or list it in Children)
}

// Freezing a pretrained backbone: its BatchNorm stays in evaluation mode
// when the whole model is put in training mode.
func ExampleFreeze() {
	model, err := nn.Build("conv(8,3,pad=1) batchnorm relu globalavgpool linear(10)", []int{3, 32, 32}, nn.Seed(1))
	if err != nil {
		log.Fatal(err)
	}
	backbone := nn.Sequential(model.Layers[:4]...)
	nn.Freeze(backbone)
	nn.Train(model)
	bn := model.Layers[1].(*nn.BatchNormModule)
	fmt.Println("batchnorm training:", bn.Training())
	fmt.Println("parameters:", len(nn.Parameters(model)), "trainable:", len(nn.TrainableParameters(model)))
	// Output:
	// batchnorm training: false
	// parameters: 6 trainable: 2
}

// A clone has storage of its own.
func ExampleClone() {
	model := nn.Sequential(nn.Linear(2, 2, nn.Seed(1)))
	copied := nn.Clone(model)
	copied.Layers[0].(*nn.LinearModule).Weight.Data.Data()[0] = 42
	fmt.Println(model.Layers[0].(*nn.LinearModule).Weight.Data.Data()[0] != 42)
	// Output: true
}

// scaleLayer multiplies its input by a constant.
type scaleLayer struct{ By float32 }

func (s *scaleLayer) Forward(x *ag.Value) *ag.Value       { return ag.MulScalar(x, s.By) }
func (s *scaleLayer) OutputShape(in []int) ([]int, error) { return append([]int{}, in...), nil }
func (s *scaleLayer) Spec() string                        { return fmt.Sprintf("example_scale(%g)", s.By) }
func buildScale(_ *nn.LayerBuilder, l nn.LayerSpec, _ []int) (nn.Module, error) {
	return &scaleLayer{By: float32(l.Float("by"))}, nil
}

func init() {
	// Registered once, at program start, as image formats are.
	nn.Register(nn.LayerDef{
		Name:       "example_scale",
		Args:       []nn.Arg{{Name: "by", Kind: nn.FloatArg, Default: 1, Min: -100, Max: 100}},
		Positional: 1,
		Build:      buildScale,
	})
}

// A user layer in the spec grammar, inside a residual body.
func ExampleRegister() {
	model, err := nn.Build("flatten residual(linear(4) example_scale(0.5)) linear(2)", []int{2, 2}, nn.Seed(1))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(model.Spec())
	for _, s := range nn.NamedState(model) {
		fmt.Println(s.Name, s.Tensor.Shape())
	}
	// Output:
	// flatten residual(linear(4) example_scale(0.5)) linear(2)
	// 1.0.weight [4 4]
	// 1.0.bias [4]
	// 2.weight [2 4]
	// 2.bias [2]
}
