package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
	"github.com/backprop-go/backprop/train"
)

func init() {
	register("train", "train a model on MNIST, Fashion-MNIST, a folder of images or a CSV table", runTrain)
}

// trainConfig is every choice that shapes a run; a checkpoint stores it so
// that --resume continues the same run.
type trainConfig struct {
	Data        dataConfig `json:"data_config"`
	Model       string     `json:"model"`
	Arch        string     `json:"architecture"`
	Epochs      int        `json:"epochs"`
	BatchSize   int        `json:"batch_size"`
	Optimizer   string     `json:"optimizer"`
	LR          float64    `json:"lr"`
	Momentum    float64    `json:"momentum"`
	WeightDecay float64    `json:"weight_decay"`
	Schedule    string     `json:"schedule"`
	Patience    int        `json:"patience,omitempty"`
	Seed        uint64     `json:"seed"`
}

// trainResult is what --json prints.
type trainResult struct {
	TestAccuracy float64 `json:"test_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	TrainLoss    float64 `json:"train_loss"`
	ValAccuracy  float64 `json:"val_accuracy,omitempty"`
	ValLoss      float64 `json:"val_loss,omitempty"`
	Epochs       int     `json:"epochs"`
	Seconds      float64 `json:"seconds"`
	Out          string  `json:"out"`
	Parameters   int     `json:"parameters"`
}

func runTrain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c trainConfig
	fs.StringVar(&c.Data.Data, "data", "mnist", "mnist, fashion-mnist, a folder of images (one subfolder per class) or a .csv file")
	fs.StringVar(&c.Model, "model", "cnn", "mlp, cnn, or an architecture spec such as \"flatten linear(128) relu linear(10)\"")
	fs.IntVar(&c.Epochs, "epochs", 3, "epochs in the whole run (a resumed run stops at the same one)")
	fs.IntVar(&c.BatchSize, "batch-size", 64, "samples per step")
	fs.StringVar(&c.Optimizer, "optimizer", "sgd", "sgd, adam, adamw, rmsprop or adagrad")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (default 0.05 for sgd, 0.001 for adam/adamw/rmsprop, 0.01 for adagrad)")
	fs.Float64Var(&c.Momentum, "momentum", 0.9, "momentum for sgd and rmsprop")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 0, "weight decay (L2 for sgd/adam/rmsprop/adagrad, decoupled for adamw)")
	fs.StringVar(&c.Schedule, "schedule", "cosine", "learning-rate schedule: cosine (annealed to 0 over the run, step by step), none, step (÷10 at 1/2 and 3/4 of the run), onecycle, warmup (linear over the first epoch, then cosine)")
	fs.IntVar(&c.Patience, "patience", 0, "stop after this many epochs without validation improvement, restoring the best weights (0: off)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed: weights, shuffling, augmentation, splits")
	fs.Float64Var(&c.Data.ValSplit, "val-split", 0, "fraction of the training data held out for validation")
	fs.Var(testSplitFlag{&c.Data.TestSplit}, "test-split", "`fraction` held out as the test set when the data has none; 0: no test set (default 0.2)")
	fs.StringVar(&c.Data.Label, "label", "", "CSV: the label column, by name or index (default: the last)")
	fs.BoolVar(&c.Data.Regression, "regression", false, "CSV: the label is a number to predict (MSE loss), not a class")
	fs.Var(imageSizeFlag(&c.Data.ImageSize), "image-size", "image folders: images are resized to `SIZE`×SIZE, SIZE from 1 to 1024")
	fs.Var(maxPixelsFlag(&c.Data.MaxPixels), "max-pixels", maxPixelsUsage)
	fs.IntVar(&c.Data.Channels, "channels", 0, "image folders: 1 (grey) or 3 (colour, default)")
	fs.BoolVar(&c.Data.Augment, "augment", false, "training-time augmentation (crops, flips, rotations, colour jitter for photos)")
	threads := fs.Int("threads", 0, "CPU threads (default: all)")
	out := fs.String("out", "", "directory for checkpoint, metrics and curves (default runs/DATA-TIME)")
	resume := fs.String("resume", "", "continue the run saved in this directory")
	checkpointEvery := fs.Int("checkpoint-every", 0, "also save a checkpoint every N steps (0: once per epoch)")
	cacheDir := fs.String("cache", "", "data cache directory (default $BACKPROP_CACHE or the user cache dir)")
	quiet := fs.Bool("quiet", false, "no progress output")
	jsonOut := fs.Bool("json", false, "print the result as one JSON object on stdout")
	var dash optionalAddr
	fs.Var(&dash, "dashboard", "serve a live training dashboard (--dashboard alone: 127.0.0.1 on a free port; --dashboard=ADDR to choose)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if dash.set && dash.addr == "" && fs.NArg() > 0 && strings.Contains(fs.Arg(0), ":") {
		// --dashboard ADDR, with a space.
		dash.addr = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return 2
		}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "backprop train: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *threads > 0 {
		runtime.GOMAXPROCS(*threads)
	}
	progress := stderr
	if *quiet {
		progress = io.Discard
	}

	var resumeFrom *train.Checkpoint
	outDir := *out
	if *resume != "" {
		ck, saved, err := loadResume(*resume)
		if err != nil {
			fmt.Fprintf(stderr, "backprop train: %v\n", err)
			return 1
		}
		epochs := c.Epochs
		if !flagSet(fs, "epochs") {
			epochs = saved.Epochs
		}
		c = saved
		c.Epochs = epochs
		resumeFrom, outDir = ck, *resume
	}
	c.Data.Seed = c.Seed
	if outDir == "" {
		outDir = filepath.Join("runs", runName(c.Data.Data))
	}

	if err := c.validate(); err != nil {
		return fail(stderr, "train", err)
	}
	src, err := openData(c.Data, *cacheDir, progress)
	if err != nil {
		return fail(stderr, "train", err)
	}
	if c.Arch == "" {
		c.Arch, err = architecture(c.Model, src)
		if err != nil {
			return fail(stderr, "train", err)
		}
	}
	model, err := nn.Build(c.Arch, src.shape, nn.Seed(c.Seed))
	if err != nil {
		return fail(stderr, "train", usageError{err})
	}
	if err := checkOutputs(model, src); err != nil {
		return fail(stderr, "train", err)
	}
	opt, err := newOptimizer(c, nn.Parameters(model))
	if err != nil {
		return fail(stderr, "train", err)
	}
	steps := (src.train.Len() + c.BatchSize - 1) / c.BatchSize
	epochSched, stepSched, err := schedules(c, steps)
	if err != nil {
		return fail(stderr, "train", err)
	}

	meta := src.meta()
	meta[metaArchitecture] = c.Arch
	cfgJSON, _ := json.Marshal(c)
	meta[metaTrainConfig] = string(cfgJSON)

	if resumeFrom != nil {
		fmt.Fprintf(progress, "Resuming %s at epoch %d, step %d of %d epochs\n", outDir, resumeFrom.Epoch+1, resumeFrom.Step, c.Epochs)
	} else {
		fmt.Fprintf(progress, "Training %s on %s: %d training samples, %d parameters, %s\n",
			c.Arch, c.Data.Data, src.train.Len(), nn.NumParameters(model), optimizerLine(c, opt.LR()))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := newProgress(progress, *quiet)
	callbacks := []train.Callback{bar}
	if dash.set {
		run := dashboardRun{Addr: dash.addr, OutDir: outDir, Model: model, Arch: c.Arch, Shape: src.shape,
			Classes: src.classes, Eval: firstNonNil(src.val, src.test), Log: stderr}
		if resumeFrom != nil {
			run.ResumeStep = resumeFrom.Step
		}
		cb, closeDash, err := startDashboard(run)
		if err != nil {
			return fail(stderr, "train", err)
		}
		defer closeDash()
		callbacks = append(callbacks, cb)
	}
	started := time.Now()
	hist, err := train.Fit(ctx, model, src.train, train.Config{
		Epochs: c.Epochs, BatchSize: c.BatchSize, Seed: c.Seed, Optimizer: opt,
		Schedule: epochSched, StepSchedule: stepSched, Val: src.val,
		EarlyStopping: train.EarlyStopping{Patience: c.Patience},
		OutDir:        outDir, CheckpointEvery: *checkpointEvery, Meta: meta, Resume: resumeFrom,
		Callbacks: callbacks,
	})
	bar.finish()
	var diverged *train.DivergedError
	switch {
	case errors.Is(err, train.ErrInterrupted):
		fmt.Fprintf(stderr, "\n%v; checkpoint saved in %s\nResume with: backprop train --resume %s\n", err, outDir, outDir)
		return 130
	case errors.As(err, &diverged):
		fmt.Fprintf(stderr, "\nbackprop train: %v\nThe last good checkpoint (if any) is in %s.\n", err, outDir)
		return 1
	case err != nil:
		return fail(stderr, "train", err)
	}

	res := trainResult{Epochs: len(hist), Seconds: time.Since(started).Seconds(), Out: outDir, Parameters: nn.NumParameters(model)}
	if len(hist) > 0 {
		last := hist[len(hist)-1]
		res.TrainLoss, res.ValLoss, res.ValAccuracy = last.TrainLoss, last.ValLoss, last.ValAccuracy
		res.Seconds = 0
		for _, e := range hist {
			res.Seconds += e.Seconds
		}
	}
	if src.test != nil {
		r, err := train.Evaluate(model, src.test, src.evalConfig(500))
		if err != nil {
			return fail(stderr, "train", err)
		}
		res.TestLoss = r.Loss
		if src.classes != nil {
			res.TestAccuracy = r.Accuracy // NaN for regression, which JSON cannot hold
		}
		printTestResult(progress, src, r)
	}
	fmt.Fprintf(progress, "Trained %d epochs in %.1f s. Files in %s: %s, %s, %s\n", res.Epochs, res.Seconds, outDir,
		train.CheckpointFile, train.MetricsFile, train.CurvesFile)
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			return fail(stderr, "train", err)
		}
	}
	return 0
}

// validate checks the choices that need no data, so that a typo is
// reported before a data set is opened.
func (c trainConfig) validate() error {
	if _, err := newOptimizer(c, nil); err != nil {
		return err
	}
	if _, _, err := schedules(c, 1); err != nil {
		return err
	}
	if c.Epochs < 1 || c.BatchSize < 1 {
		return usagef("--epochs and --batch-size must be at least 1")
	}
	if c.Model != "mlp" && c.Model != "cnn" && c.Arch == "" {
		if _, err := nn.ParseSpec(c.Model); err != nil {
			return usagef("--model: %v", err)
		}
	}
	return nil
}

// optionalAddr is a flag that may be given alone (--dashboard) or with a
// value (--dashboard=ADDR).
type optionalAddr struct {
	set  bool
	addr string
}

func (o *optionalAddr) String() string   { return o.addr }
func (o *optionalAddr) IsBoolFlag() bool { return true }
func (o *optionalAddr) Set(v string) error {
	o.set = true
	if v != "true" {
		o.addr = v
	}
	return nil
}

// dashboardRun is what the live dashboard needs to know about a run.
type dashboardRun struct {
	Addr    string // "" means 127.0.0.1 on a free port
	OutDir  string
	Model   nn.Module
	Arch    string
	Shape   []int
	Classes []string
	Eval    data.Dataset // samples for the confusion matrix and the image grid; may be nil
	Log     io.Writer    // where the address is printed
	// ResumeStep is the step a resumed run starts after (0 for a new run).
	ResumeStep int
}

// startDashboard starts the live dashboard of a run and returns its
// callback and a function that stops it. The dashboard command sets it.
var startDashboard = func(dashboardRun) (train.Callback, func(), error) {
	return nil, nil, errors.New("this build has no dashboard")
}

func firstNonNil(ds ...data.Dataset) data.Dataset {
	for _, d := range ds {
		if d != nil {
			return d
		}
	}
	return nil
}

// loadResume reads DIR/checkpoint.safetensors and the run's settings.
func loadResume(dir string) (*train.Checkpoint, trainConfig, error) {
	var c trainConfig
	path := filepath.Join(dir, train.CheckpointFile)
	ck, err := train.LoadCheckpoint(path)
	if err != nil {
		return nil, c, fmt.Errorf("--resume: %w", err)
	}
	s, ok := ck.Meta[metaTrainConfig]
	if !ok {
		return nil, c, fmt.Errorf("--resume: %s has no %q metadata: not a checkpoint of backprop train", path, metaTrainConfig)
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, c, fmt.Errorf("--resume: %s: bad %q metadata: %v", path, metaTrainConfig, err)
	}
	return ck, c, nil
}

// flagSet reports whether the user gave the named flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func runName(dataName string) string {
	base := strings.TrimSuffix(filepath.Base(filepath.Clean(dataName)), filepath.Ext(dataName))
	return base + "-" + time.Now().Format("20060102-150405")
}

// architecture expands a preset for the data's shape and classes, or
// returns the spec the user gave.
func architecture(model string, src *dataSource) (string, error) {
	if model != "mlp" && model != "cnn" {
		return model, nil
	}
	outputs := len(src.classes)
	if src.classes == nil {
		outputs = max(src.train.TargetSize(), 1)
	}
	spec, err := nn.Preset(model, src.shape, outputs)
	if err != nil {
		return "", usageError{err}
	}
	return spec, nil
}

// checkOutputs makes sure the model gives one output per class.
func checkOutputs(model nn.Module, src *dataSource) error {
	want := len(src.classes)
	if src.classes == nil {
		want = max(src.train.TargetSize(), 1)
	}
	x := ag.Const(zeros(append([]int{1}, src.shape...)))
	var got []int
	nn.Eval(model)
	ag.NoGrad(func() { got = model.Forward(x).Shape() })
	nn.Train(model)
	if len(got) != 2 || got[1] != want {
		return usagef("the model's output has shape %v per batch, but the data needs [N %d]: end the architecture with linear(%d)", got, want, want)
	}
	return nil
}

// newOptimizer builds the optimiser the flags name.
func newOptimizer(c trainConfig, params []*ag.Value) (optim.Optimizer, error) {
	lr := c.LR
	def := map[string]float64{"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2}
	d, ok := def[c.Optimizer]
	if !ok {
		return nil, usagef("--optimizer %q: want sgd, adam, adamw, rmsprop or adagrad", c.Optimizer)
	}
	if lr == 0 {
		lr = d
	}
	if lr < 0 || c.Momentum < 0 || c.WeightDecay < 0 {
		return nil, usagef("--lr, --momentum and --weight-decay must not be negative")
	}
	opts := []optim.Option{optim.LR(lr)}
	if c.WeightDecay > 0 {
		opts = append(opts, optim.WeightDecay(c.WeightDecay))
	}
	switch c.Optimizer {
	case "sgd":
		return optim.SGD(params, append(opts, optim.Momentum(c.Momentum))...), nil
	case "adam":
		return optim.Adam(params, opts...), nil
	case "adamw":
		return optim.AdamW(params, opts...), nil
	case "rmsprop":
		return optim.RMSprop(params, append(opts, optim.Momentum(c.Momentum))...), nil
	}
	return optim.Adagrad(params, opts...), nil
}

func optimizerLine(c trainConfig, lr float64) string {
	s := fmt.Sprintf("%s lr %g", c.Optimizer, lr)
	if c.Optimizer == "sgd" || c.Optimizer == "rmsprop" {
		s += fmt.Sprintf(" momentum %g", c.Momentum)
	}
	if c.Schedule != "none" {
		s += ", " + c.Schedule + " schedule"
	}
	return s
}

// schedules turns --schedule into a per-epoch or per-step schedule.
func schedules(c trainConfig, stepsPerEpoch int) (epoch, step optim.Schedule, err error) {
	total := c.Epochs * stepsPerEpoch
	switch c.Schedule {
	case "none", "":
		return nil, nil, nil
	case "cosine":
		// Per step, so that a short run still anneals smoothly to zero.
		return nil, optim.CosineAnnealingLR(total, 0), nil
	case "step":
		return optim.MultiStepLR([]int{max(c.Epochs/2, 1), max(c.Epochs*3/4, 1)}, 0.1), nil, nil
	case "onecycle":
		lr := c.LR
		if lr == 0 {
			lr = 0.05
		}
		return nil, optim.OneCycleLR(lr, total), nil
	case "warmup":
		warm := stepsPerEpoch
		return nil, optim.SequentialLR([]optim.Schedule{optim.LinearLR(0.01, 1, warm), optim.CosineAnnealingLR(max(total-warm, 1), 0)}, []int{warm}), nil
	}
	return nil, nil, usagef("--schedule %q: want none, cosine, step, onecycle or warmup", c.Schedule)
}

// fail prints err and returns the exit status: 2 for usage errors, 1 for
// failures.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "backprop %s: %v\n", cmd, err)
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

func zeros(shape []int) *tensor.Tensor { return tensor.Zeros(shape...) }

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of integers", s)
		}
		out = append(out, v)
	}
	return out, nil
}
