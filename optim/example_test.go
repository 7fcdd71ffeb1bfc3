package optim_test

import (
	"fmt"

	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// Minimise f(x, y) = (x − 3)² + 10·(y + 1)² with Adam and a cosine schedule,
// writing the gradient by hand where a training loop would call Backward.
func Example() {
	p := autograd.Param(tensor.New([]float32{0, 0}, 2))
	opt := optim.Adam([]*autograd.Value{p}, optim.LR(0.5))
	cosine, err := optim.CosineAnnealingLR(200, 0.001)
	if err != nil {
		panic(err)
	}
	sched := optim.NewScheduler(opt, cosine)
	for range 200 {
		opt.ZeroGrad()
		x, y := p.Data.Data()[0], p.Data.Data()[1]
		p.Grad = tensor.New([]float32{2 * (x - 3), 20 * (y + 1)}, 2) // loss.Backward()
		optim.ClipGradNorm(opt.Params(), 10, 2)
		opt.Step()
		sched.Step()
	}
	fmt.Printf("x = %.3f, y = %.3f, lr = %.4f\n", p.Data.Data()[0], p.Data.Data()[1], sched.LR())
	// Output: x = 3.000, y = -1.000, lr = 0.0010
}

// ExampleReduceLROnPlateau cuts the rate when the validation loss stalls.
func ExampleReduceLROnPlateau() {
	opt := optim.SGD([]*autograd.Value{autograd.Param(tensor.Zeros(1))}, optim.LR(0.1), optim.Momentum(0.9))
	plateau := optim.ReduceLROnPlateau(opt, optim.Patience(2), optim.Factor(0.5))
	for _, loss := range []float64{1.0, 0.8, 0.81, 0.82, 0.80, 0.7} {
		plateau.Step(loss)
		fmt.Printf("%.2f ", opt.LR())
	}
	fmt.Println()
	// Output: 0.10 0.10 0.10 0.10 0.05 0.05
}

// ExampleGroups builds AdamW with no weight decay on biases and norms and a
// smaller rate for a pretrained layer, as torch.optim param groups do.
func ExampleGroups() {
	backbone := []*autograd.Value{autograd.Param(tensor.Ones(2, 2))}
	weight := autograd.Param(tensor.Ones(3, 2))
	bias := autograd.Param(tensor.Zeros(3))
	decay, noDecay := optim.SplitDecay([]*autograd.Value{weight, bias})
	opt := optim.AdamW(optim.Groups(
		optim.ParamGroup(backbone, optim.LR(1e-4)),
		optim.ParamGroup(decay),
		optim.ParamGroup(noDecay, optim.WeightDecay(0)),
	), optim.LR(1e-3), optim.WeightDecay(0.01))
	for g := range opt.NumGroups() {
		fmt.Printf("group %d: %d parameters, lr %g\n", g, len(opt.GroupParams(g)), opt.GroupLR(g))
	}
	// Output:
	// group 0: 1 parameters, lr 0.0001
	// group 1: 1 parameters, lr 0.001
	// group 2: 1 parameters, lr 0.001
}
