package nn_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// TestResNetStepThreads checks that a ResNet-18 training step (its 3×3
// convolutions of 64 to 512 channels by Winograd, a batch of 8) gives the
// same loss and gradients, bit for bit, on 1, 2 and 3 threads.
func TestResNetStepThreads(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, 8, 3, 32, 32)
	y := []int{0, 1, 2, 3, 4, 5, 6, 7}
	step := func() [][]float32 {
		m := nn.ResNet18(10, nn.Seed(7))
		loss := ag.CrossEntropy(m.Forward(ag.Const(x)), y)
		loss.Backward()
		out := [][]float32{loss.Data.Data()}
		for _, p := range nn.Parameters(m) {
			out = append(out, p.Grad.Data())
		}
		return out
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	want := step()
	for _, procs := range []int{2, 3} {
		runtime.GOMAXPROCS(procs)
		got := step()
		for k := range want {
			for i := range want[k] {
				if math.Float32bits(got[k][i]) != math.Float32bits(want[k][i]) {
					t.Fatalf("GOMAXPROCS=%d: tensor %d differs at %d: %v, want %v", procs, k, i, got[k][i], want[k][i])
				}
			}
		}
	}
}
