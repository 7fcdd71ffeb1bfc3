package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

func init() {
	register("xor", "learn XOR with a 2-8-1 network, printing the loss as it falls", runXOR)
}

// maxXORSteps bounds xor --steps (a million takes minutes).
const maxXORSteps = 1_000_000

// runXOR is the smallest complete example of backpropagation: forward pass,
// loss, backward pass, gradient-descent update, repeated.
func runXOR(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commandUsage(fs)
	steps := fs.Int("steps", 500, fmt.Sprintf("training steps, 1 to %d", maxXORSteps))
	lr := fs.Float64("lr", 0.05, "Adam learning rate, a finite number > 0")
	seed := fs.Uint64("seed", 1, "random seed for the initial weights")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "backprop xor: unexpected argument %q (backprop help xor lists the flags)\n", fs.Arg(0))
		return 2
	}
	if *steps < 1 || *steps > maxXORSteps {
		return fail(stderr, "xor", usagef("--steps %d: want 1 to %d", *steps, maxXORSteps))
	}
	if !(*lr > 0) || math.IsInf(*lr, 0) {
		return fail(stderr, "xor", usagef("--lr %v: want a finite learning rate > 0", *lr))
	}
	r := rand.New(rand.NewPCG(*seed, *seed))
	randn := func(shape ...int) *tensor.Tensor {
		return tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, shape...)
	}
	x := ag.Const(tensor.New([]float32{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2))
	y := ag.Const(tensor.New([]float32{0, 1, 1, 0}, 4, 1))
	w1, b1 := ag.Param(randn(8, 2)), ag.Param(tensor.Zeros(8))
	w2, b2 := ag.Param(randn(1, 8)), ag.Param(tensor.Zeros(1))
	opt := optim.Adam([]*ag.Value{w1, b1, w2, b2}, optim.LR(*lr))
	forward := func(x *ag.Value) *ag.Value { return ag.Linear(ag.Tanh(ag.Linear(x, w1, b1)), w2, b2) }
	for step := 1; step <= *steps; step++ {
		loss := ag.BCEWithLogits(forward(x), y)
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		if step == 1 || step%(max(*steps/10, 1)) == 0 {
			fmt.Fprintf(stdout, "step %4d  loss %.5f\n", step, loss.Item())
		}
	}
	p := ag.Sigmoid(forward(ag.NoGraph(x.Data)))
	fmt.Fprintln(stdout, "\n a b | a XOR b | network")
	for i := range 4 {
		fmt.Fprintf(stdout, " %v %v |    %v    | %.3f\n", x.Data.At(i, 0), x.Data.At(i, 1), y.Data.At(i, 0), p.Data.At(i, 0))
	}
	return 0
}
