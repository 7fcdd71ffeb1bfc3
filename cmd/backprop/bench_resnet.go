package main

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// bench --workload resnet18: torchvision's ResNet-18 (nn.ResNet18, 1000
// classes), as bench/resnet_torch.py measures it with PyTorch:
//
//   - a training step (forward, cross-entropy, backward, SGD with momentum)
//     on a batch of 32 random 3×64×64 images;
//   - inference in evaluation mode on batches of 1 and 32 random
//     3×224×224 images, as serve runs it: the model prepared once by
//     nn.NewInference (the Winograd transforms of the residual blocks'
//     weights, outside the timed loop), then Inference.Infer (the fused
//     convolution, batch norm, residual and ReLU passes, Winograd where it
//     pays).
//
// Each figure is the median of a few repetitions after a warm-up, in wall
// time and in the process's CPU time (cpu_seconds).
const (
	resnetTrainBatch = 32
	resnetTrainSize  = 64
	resnetInferSize  = 224
)

// resnetInferBatches are the inference batch sizes measured.
var resnetInferBatches = []int{1, 32}

// benchResNet18 runs the resnet18 workload, reps repetitions of each
// figure, and emits one row per figure.
func benchResNet18(seed uint64, threads, reps int, emit func(map[string]any, string)) {
	r := rand.New(rand.NewPCG(seed, 0))
	model := nn.ResNet18(1000, nn.Seed(seed))
	images := func(n, size int) *tensor.Tensor {
		x := tensor.Zeros(n, 3, size, size)
		d := x.Data()
		for i := range d {
			d[i] = float32(r.NormFloat64())
		}
		return x
	}

	x := images(resnetTrainBatch, resnetTrainSize)
	labels := make([]int, resnetTrainBatch)
	for i := range labels {
		labels[i] = r.IntN(1000)
	}
	opt := optim.SGD(nn.Parameters(model), optim.LR(0.01), optim.Momentum(0.9))
	nn.Train(model)
	step := func() {
		opt.ZeroGrad()
		loss := nn.CrossEntropy(model.Forward(ag.Const(x)), labels)
		// As train.Fit does (and PyTorch, which frees the graph in
		// backward): the step's activations go back to the pool.
		loss.BackwardRelease()
		opt.Step()
	}
	s, c := medianSeconds(step, reps)
	emit(map[string]any{"workload": "resnet18", "phase": "train_step", "batch": resnetTrainBatch, "size": resnetTrainSize, "threads": threads, "seconds": round(s, 4), "cpu_seconds": round(c, 4)},
		fmt.Sprintf("resnet18 training step, batch %d, 3×%d×%d, T%d: %.3f s (%.1f images/s; CPU %.3f s)", resnetTrainBatch, resnetTrainSize, resnetTrainSize, threads, s, resnetTrainBatch/s, c))

	nn.Eval(model)
	prepared := nn.NewInference(model) // as serve's workers run it
	for _, b := range resnetInferBatches {
		x := images(b, resnetInferSize)
		s, c := medianSeconds(func() { tensor.Recycle(prepared.Infer(x)) }, reps)
		emit(map[string]any{"workload": "resnet18", "phase": "infer", "batch": b, "size": resnetInferSize, "threads": threads, "seconds": round(s, 4), "cpu_seconds": round(c, 4), "images_per_second": round(float64(b)/s, 1)},
			fmt.Sprintf("resnet18 inference, batch %d, 3×%d×%d, T%d: %.3f s (%.1f images/s; CPU %.3f s)", b, resnetInferSize, resnetInferSize, threads, s, float64(b)/s, c))
	}
}

// medianSeconds runs f once to warm up, then reps times, and returns the
// median wall time and the median CPU time of the process (all threads;
// steadier than wall time on a shared machine; -1 where the system does
// not tell) in seconds.
func medianSeconds(f func(), reps int) (wall, cpu float64) {
	f()
	runs := make([]float64, reps)
	cpus := make([]float64, reps)
	for i := range runs {
		c := processCPUSeconds()
		t := time.Now()
		f()
		runs[i] = time.Since(t).Seconds()
		if c >= 0 {
			cpus[i] = processCPUSeconds() - c
		} else {
			cpus[i] = -1
		}
	}
	sort.Float64s(runs)
	sort.Float64s(cpus)
	return runs[len(runs)/2], cpus[len(cpus)/2]
}
