package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sort"
	"time"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/internal/gemm"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
	"github.com/backprop-go/backprop/train"
)

func init() {
	register("bench", "measure matrix products, MNIST training epochs of an MLP and a CNN, inference throughput, and language-model training", runBench)
}

// benchHelp describes the workloads, so that the help stands on its own.
const benchHelp = `Usage: backprop bench [flags]

Measures the speed of this machine with five workloads:
  gemm   float32 matrix products M×K·K×N, in GFLOP/s: squares of 128 to 2048,
         and the shapes of an MLP layer (64×784·784×256, 64×256·256×128) and of
         the CNN's convolutions as products (12544×288·288×64, 50176×288·288×64),
         each plain (nn) and with the first (tn) or second (nt) operand transposed
  mlp    seconds per MNIST epoch (batch 64, SGD lr 0.05 momentum 0.9) and test
         accuracy of ` + benchMLP + `
  cnn    the same for ` + benchCNN + `
  infer  images per second of both models over the 10,000 MNIST test images,
         in batches of 1000 and of 1
  lm     training tokens per second (median step) and test loss in nats per
         byte of a byte-level language model, --model gpt or lstm (the presets
         of train --model), after --steps batches of 32 windows of 129 bytes
         drawn at random from the first 90% of a text (AdamW lr 1e-3, betas
         0.9 and 0.99, weight decay 0.1); the test loss is over the last 10%.
         The text is --data FILE, else the source of a few packages of the Go
         standard library of this machine's Go installation
  resnet18  torchvision's ResNet-18: seconds per training step (batch 32 of
         3×64×64, SGD momentum 0.9) and per inference of batches of 1 and 32
         of 3×224×224, the median of --reps after a warm-up
MNIST is fetched into the data cache on first use (or read from --data);
all runs gemm, mlp, cnn and infer, not lm or resnet18.

Flags:
`

// The benchmark models: an MLP and a small CNN for MNIST.
const (
	benchMLP = "flatten linear(256) relu linear(128) relu linear(10)"
	benchCNN = "conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu maxpool(2) flatten linear(128) relu linear(10)"
)

// maxBenchEpochs bounds bench --epochs: each MNIST epoch takes a while.
const maxBenchEpochs = 1000

// gemmShapes are the measured products, M×K·K×N.
var gemmShapes = [][3]int{
	{128, 128, 128}, {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
	{64, 784, 256}, {64, 256, 128}, {12544, 288, 64}, {50176, 288, 64},
}

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchHelp)
		fs.PrintDefaults()
	}
	workload := fs.String("workload", "all", "gemm, mlp, cnn, infer, lm, resnet18 or all (all but lm and resnet18)")
	reps := fs.Int("reps", 5, "resnet18: repetitions of each figure, 1 to 100")
	lmModel := fs.String("model", "gpt", "for lm: gpt or lstm")
	steps := fs.Int("steps", 30, fmt.Sprintf("for lm: training steps, 1 to %d", maxLMSteps))
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), fmt.Sprintf("threads, 1 to %d here (4 × the CPUs)", maxThreads()))
	epochs := fs.Int("epochs", 1, fmt.Sprintf("epochs for mlp and cnn, 1 to %d", maxBenchEpochs))
	dir := fs.String("data", "", "directory with the four MNIST .gz files (default: the data cache); for lm, the text file")
	jsonOut := fs.Bool("json", false, "one JSON object per line: workload, its parameters and its measurement (gflops, epoch_seconds and test_accuracy, images_per_second, or tokens_per_second and test_loss)")
	seed := fs.Uint64("seed", 42, "seed of the initial weights and the shuffling (42, as the PyTorch script uses)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *threads == 0 {
		return fail(stderr, "bench", usagef("--threads 0: want 1 to %d", maxThreads()))
	}
	if err := checkThreads(*threads); err != nil {
		return fail(stderr, "bench", err)
	}
	if *epochs < 1 || *epochs > maxBenchEpochs {
		return fail(stderr, "bench", usagef("--epochs %d: want 1 to %d", *epochs, maxBenchEpochs))
	}
	runtime.GOMAXPROCS(*threads)
	emit := func(row map[string]any, text string) {
		if *jsonOut {
			b, _ := json.Marshal(row)
			fmt.Fprintln(stdout, string(b))
		} else {
			fmt.Fprintln(stdout, text)
		}
	}
	all := *workload == "all"
	switch *workload {
	case "all", "gemm", "mlp", "cnn", "infer":
	case "resnet18": // bench_resnet.go
		if *reps < 1 || *reps > 100 {
			return fail(stderr, "bench", usagef("--reps %d: want 1 to 100", *reps))
		}
		benchResNet18(*seed, *threads, *reps, emit)
		return 0
	case "lm":
		return runBenchLM(*lmModel, *dir, *steps, *threads, *seed, emit, stderr)
	default:
		return fail(stderr, "bench", usagef("--workload %q: want gemm, mlp, cnn, infer, lm, resnet18 or all", *workload))
	}
	if all || *workload == "gemm" {
		// The plain form of every shape first, in the order the peers'
		// script measures them, so that both meet the machine in the same
		// state (minutes of sustained load on every core lower its clock);
		// then the transposed forms.
		for _, tr := range []string{"nn", "tn", "nt"} {
			for _, s := range gemmShapes {
				g := gemm.Measure(tr[0] == 't', tr[1] == 't', s[0], s[2], s[1], *threads, 7)
				emit(map[string]any{"workload": "gemm", "m": s[0], "k": s[1], "n": s[2], "trans": tr, "threads": *threads, "gflops": round(g, 1)},
					fmt.Sprintf("gemm %5d×%-5d·%5d×%-5d %s T%d  %7.1f GFLOP/s", s[0], s[1], s[1], s[2], tr, *threads, g))
			}
		}
	}
	if !(all || *workload == "mlp" || *workload == "cnn" || *workload == "infer") {
		return 0
	}
	opts := []data.Option{data.Log(stderr), downloadBar(stderr)}
	if *dir != "" {
		opts = append(opts, data.LocalDir(*dir))
	}
	trainSet, testSet, err := data.MNIST(opts...)
	if err != nil {
		return fail(stderr, "bench", err)
	}
	models := map[string]nn.Module{}
	for _, kind := range []string{"mlp", "cnn"} {
		if !(all || *workload == kind || *workload == "infer") {
			continue
		}
		arch := map[string]string{"mlp": benchMLP, "cnn": benchCNN}[kind]
		model, err := nn.Build(arch, trainSet.Shape(), nn.Seed(*seed))
		if err != nil {
			return fail(stderr, "bench", err)
		}
		models[kind] = model
		if !(all || *workload == kind) {
			continue
		}
		var secs, accs []float64
		opt := optim.SGD(nn.Parameters(model), optim.LR(0.05), optim.Momentum(0.9))
		_, err = train.Fit(context.Background(), model, trainSet, train.Config{
			Epochs: *epochs, BatchSize: 64, Seed: *seed, Optimizer: opt, Val: testSet,
			Callbacks: []train.Callback{train.CallbackFuncs{Epoch: func(e train.EpochStats) {
				secs, accs = append(secs, round(e.Seconds, 3)), append(accs, round(e.ValAccuracy, 4))
			}}},
		})
		if err != nil {
			return fail(stderr, "bench", err)
		}
		emit(map[string]any{"workload": kind, "threads": *threads, "epochs": *epochs, "epoch_seconds": secs, "test_accuracy": accs},
			fmt.Sprintf("%s T%d: epoch seconds %v, test accuracy %v", kind, *threads, secs, accs))
	}
	if all || *workload == "infer" {
		for _, kind := range []string{"mlp", "cnn"} {
			x := make([]float32, testSet.Len()*784)
			for i := range testSet.Len() {
				if _, err := testSet.Sample(i, nil, x[i*784:(i+1)*784], nil); err != nil {
					return fail(stderr, "bench", err)
				}
			}
			trained := all || *workload == kind
			for _, b := range []int{1000, 1} {
				ips := inferThroughput(models[kind], x, testSet.Len(), b)
				emit(map[string]any{"workload": "infer", "model": kind, "batch": b, "threads": *threads, "images_per_second": round(ips, 0), "trained": trained},
					fmt.Sprintf("infer %s batch %d T%d: %.0f images/s", kind, b, *threads, ips))
			}
		}
	}
	return 0
}

// inferThroughput runs the model forward over n images in batches of b,
// three passes after a warm-up, and returns the median images per second.
func inferThroughput(model nn.Module, x []float32, n, b int) float64 {
	nn.Eval(model)
	prepared := nn.NewInference(model) // as serve's workers run it
	pass := func() {
		for i := 0; i < n; i += b {
			k := min(b, n-i)
			tensor.Recycle(prepared.Infer(tensor.New(x[i*784:(i+k)*784], k, 1, 28, 28)))
		}
	}
	pass()
	var runs []float64
	for range 3 {
		t := time.Now()
		pass()
		runs = append(runs, time.Since(t).Seconds())
	}
	sort.Float64s(runs)
	return float64(n) / runs[1]
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
