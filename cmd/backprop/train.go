package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/dashboard"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/internal/fsutil"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
	"github.com/backprop-go/backprop/train"
	"github.com/backprop-go/backprop/train/curves"
)

func init() {
	register("train", "train a model on MNIST, Fashion-MNIST, a folder of images, a CSV table or a text", runTrain)
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

	// Finetune: the fine-tuning flags (finetune.go).
	Finetune finetuneConfig `json:"finetune,omitempty"`
}

// trainResult is what --json prints.
// The test figures are those of the task: accuracy for a classifier; MSE,
// MAE and R² in the target's units for a regression. A figure that is not
// finite is written as null.
type trainResult struct {
	TestAccuracy *jsonFloat `json:"test_accuracy,omitempty"`
	TestMSE      *jsonFloat `json:"test_mse,omitempty"`
	TestMAE      *jsonFloat `json:"test_mae,omitempty"`
	TestR2       *jsonFloat `json:"test_r2,omitempty"`
	// Language models: the test part's perplexity and bits per token
	// (per byte or per character, as Tokenizer says); TestLoss is in
	// nats per token and TestAccuracy is next-token accuracy.
	TestPerplexity   *jsonFloat `json:"test_perplexity,omitempty"`
	TestBitsPerToken *jsonFloat `json:"test_bits_per_token,omitempty"`
	Tokenizer        string     `json:"tokenizer,omitempty"`
	TestLoss         jsonFloat  `json:"test_loss"`
	TrainLoss        jsonFloat  `json:"train_loss"`
	ValAccuracy      jsonFloat  `json:"val_accuracy,omitempty"`
	ValLoss          jsonFloat  `json:"val_loss,omitempty"`
	Epochs           int        `json:"epochs"`
	Seconds          float64    `json:"seconds"`
	Out              string     `json:"out"`
	Parameters       int        `json:"parameters"`
}

func jsonNum(v float64) *jsonFloat { f := jsonFloat(v); return &f }

func runTrain(args []string, stdout, stderr io.Writer) (code int) {
	j, stdout, stderr, err := joinJob(stdout, stderr) // distributed.go: mpirun -np N
	if err != nil {
		return fail(stderr, "train", err)
	}
	defer j.end(&code)
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commandUsage(fs)
	var c trainConfig
	fs.StringVar(&c.Data.Data, "data", "mnist", "mnist, fashion-mnist, a folder of images (one subfolder per class), a .csv file, or a text: a .txt file or a folder of them")
	fs.StringVar(&c.Model, "model", "", "mlp, cnn, gpt, lstm, or an architecture spec such as \"flatten linear(128) relu linear(10)\" (default: cnn for images, mlp for a CSV table, gpt for a text)")
	fs.IntVar(&c.Epochs, "epochs", 3, fmt.Sprintf("epochs in the whole run, at most %d (with --resume: a larger count extends the run)", maxEpochs))
	fs.IntVar(&c.BatchSize, "batch-size", 64, fmt.Sprintf("samples per step, 1 to %d (a text: 32 windows unless given)", maxBatchSize))
	fs.StringVar(&c.Optimizer, "optimizer", "sgd", "sgd, adam, adamw, rmsprop or adagrad (a text: adamw unless given)")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (default 0.05 for sgd, 0.001 for adam/adamw/rmsprop, 0.01 for adagrad)")
	fs.Float64Var(&c.Momentum, "momentum", 0.9, "momentum for sgd and rmsprop, in [0, 1)")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 0, "weight decay, ≥ 0 (L2 for sgd/adam/rmsprop/adagrad, decoupled for adamw)")
	fs.StringVar(&c.Schedule, "schedule", "cosine", "learning-rate schedule: cosine (annealed to 0 over the run, step by step), none, step (÷10 at 1/2 and 3/4 of the run), onecycle, warmup (linear over the first epoch, then cosine)")
	fs.IntVar(&c.Patience, "patience", 0, "stop after this many epochs without validation improvement, restoring the best weights (0: off)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed: weights, shuffling, augmentation, splits")
	fs.Float64Var(&c.Data.ValSplit, "val-split", 0, "fraction of the training data held out for validation, in [0, 1)")
	fs.Var(testSplitFlag{&c.Data.TestSplit}, "test-split", "`fraction` held out as the test set when the data has none (a text: its last part); 0: no test set (default 0.2; 0.1 for a text)")
	fs.StringVar(&c.Data.Label, "label", "", "CSV: the label column, by name or index (default: the last)")
	fs.BoolVar(&c.Data.Regression, "regression", false, "CSV: the label is a number to predict (MSE loss), not a class")
	fs.Var(imageSizeFlag(&c.Data.ImageSize), "image-size", "image folders: images are resized to `SIZE`×SIZE, SIZE from 1 to 1024 (default 64; 224 with --pretrained)")
	fs.Var(maxPixelsFlag(&c.Data.MaxPixels), "max-pixels", maxPixelsUsage)
	fs.IntVar(&c.Data.Channels, "channels", 0, "image folders: 1 (grey) or 3 (colour, default)")
	fs.BoolVar(&c.Data.Augment, "augment", false, "training-time augmentation (crops, flips, rotations, colour jitter for photos)")
	fs.StringVar(&c.Data.Tokenizer, "tokenizer", "", "text: byte (vocabulary 256, any language; the default) or char (the training text's characters, saved in the checkpoint)")
	fs.Var(boundedIntFlag{p: &c.Data.Context, max: data.MaxTextContext, def: data.DefaultTextContext}, "context", "text: input `tokens` per window: the model reads T and predicts each next one")
	c.Finetune.flags(fs) // finetune.go
	threads := fs.Int("threads", 0, fmt.Sprintf("CPU threads, at most %d here (4 × the CPUs; default: all CPUs)", maxThreads()))
	out := fs.String("out", "", "directory for checkpoint, metrics and curves (default runs/DATA-TIME); one that holds a run needs --overwrite")
	overwrite := fs.Bool("overwrite", false, "let --out replace the run already there (its checkpoint, metrics, curves and dashboard history)")
	resume := fs.String("resume", "", "continue the run saved in this directory, with its saved settings (only --epochs and flags such as --quiet, --threads may be given)")
	checkpointEvery := fs.Int("checkpoint-every", 0, "also save a checkpoint every N steps (0: once per epoch)")
	cacheDir := fs.String("cache", "", "data cache directory (default $BACKPROP_CACHE or the user cache dir)")
	quiet := fs.Bool("quiet", false, "no progress output")
	jsonOut := fs.Bool("json", false, "print the result as one JSON object on stdout")
	var dash optionalAddr
	j.flags(fs) // distributed.go
	fs.Var(&dash, "dashboard", "serve a live training dashboard (--dashboard alone: 127.0.0.1 on a free port; --dashboard=ADDR to choose)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if dash.set && dash.addr == "" && fs.NArg() > 0 && strings.Contains(fs.Arg(0), ":") {
		// --dashboard ADDR, with a space.
		if err := checkListenAddr(fs.Arg(0)); err != nil {
			return fail(stderr, "train", usagef("--dashboard %q: %v", fs.Arg(0), err))
		}
		dash.addr = fs.Arg(0)
		if code, ok := parseFlags(fs, fs.Args()[1:]); !ok {
			return code
		}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "backprop train: unexpected argument %q (flags start with --; backprop help train lists them)\n", fs.Arg(0))
		return 2
	}
	// Everything the flags alone decide is checked here, before a data set
	// or a checkpoint is opened.
	if err := checkThreads(*threads); err != nil {
		return fail(stderr, "train", err)
	}
	if *checkpointEvery < 0 {
		return fail(stderr, "train", usagef("--checkpoint-every %d: want a number of steps ≥ 1, or 0 for once per epoch", *checkpointEvery))
	}
	if err := c.validate(); err != nil {
		return fail(stderr, "train", err)
	}
	if *threads > 0 {
		runtime.GOMAXPROCS(*threads)
	}
	progress := stderr
	if *quiet || !j.leader() {
		progress = io.Discard
	}

	var resumeFrom *train.Checkpoint
	outDir := *out
	if *resume != "" {
		if *overwrite {
			return fail(stderr, "train", usagef("--overwrite with --resume: --resume continues the run in %s, --overwrite would start a new one over it; give one of them", *resume))
		}
		if *out != "" && filepath.Clean(*out) != filepath.Clean(*resume) {
			return fail(stderr, "train", usagef("--out %s with --resume %s: a resumed run stays in its own directory; drop --out", *out, *resume))
		}
		if _, err := os.Stat(filepath.Join(*resume, train.CheckpointFile)); errors.Is(err, os.ErrNotExist) {
			return fail(stderr, "train", usagef("--resume %s: no %s there: give the directory of a run of backprop train (its --out)", *resume, train.CheckpointFile))
		}
		ck, saved, err := loadResume(*resume)
		if err != nil {
			return fail(stderr, "train", err)
		}
		if err := resumeConflict(fs, c, saved, *resume); err != nil {
			return fail(stderr, "train", err)
		}
		epochs := c.Epochs
		if !flagSet(fs, "epochs") {
			epochs = saved.Epochs
		}
		c = saved
		c.Epochs = epochs
		if c.Epochs <= ck.Epoch {
			return fail(stderr, "train", usagef("the run in %s has done %d of its %d epochs: give --epochs N with N > %d to train it further",
				*resume, ck.Epoch, max(saved.Epochs, ck.Epoch), ck.Epoch))
		}
		if err := c.validate(); err != nil {
			return fail(stderr, "train", fmt.Errorf("--resume %s: the saved settings: %w", *resume, err))
		}
		resumeFrom, outDir = ck, *resume
	}
	c.Data.Seed = c.Seed
	c.Finetune.dataDefaults(&c.Data) // finetune.go
	if outDir == "" {
		outDir = filepath.Join("runs", runName(c.Data.Data))
	}
	if resumeFrom == nil && j.leader() {
		if err := prepareOutDir(outDir, *overwrite); err != nil {
			return fail(stderr, "train", err)
		}
	}
	// Fit removes its own files' leftovers; the dashboard's history is
	// written in the same directory with the same atomic writer.
	if _, err := fsutil.RemoveStaleTemps(outDir, dashboardFile); err != nil {
		return fail(stderr, "train", err)
	}

	src, err := openData(c.Data, *cacheDir, progress)
	if err != nil {
		return fail(stderr, "train", err)
	}
	if c.Model == "" {
		c.Model = defaultModel(src)
		fmt.Fprintf(progress, "Model: %s, the default for %s (--model chooses another)\n", c.Model, dataKind(src))
	}
	if src.text != nil && resumeFrom == nil {
		// The W-LM recipe: AdamW at 1e-3, 32 windows a step.
		if !flagSet(fs, "optimizer") {
			c.Optimizer = "adamw"
		}
		if !flagSet(fs, "batch-size") {
			c.BatchSize = 32
		}
	}
	if c.Arch == "" {
		c.Arch, err = architecture(c.Model, src)
		if err != nil {
			return fail(stderr, "train", err)
		}
	}
	if resumeFrom != nil {
		// The saved weights must fit the data as it loads now, not only the
		// input shape the checkpoint claims.
		if _, err := checkWeights(c.Arch, src.shape, resumeFrom, filepath.Join(outDir, train.CheckpointFile)); err != nil {
			return fail(stderr, "train", err)
		}
	}
	model, err := buildArch(c.Arch, src.shape, nn.Seed(c.Seed))
	if err != nil {
		return fail(stderr, "train", usageError{err})
	}
	if err := checkOutputs(model, src); err != nil {
		return fail(stderr, "train", err)
	}
	var task train.Task
	var step train.StepFunc
	if src.text != nil {
		task, step = train.TaskLanguageModel, textStep()
	}
	unfreeze, err := c.Finetune.setup(model, c.Arch, src, resumeFrom, c.Epochs, progress) // finetune.go
	if err != nil {
		return fail(stderr, "train", err)
	}
	opt, err := c.Finetune.newOptimizer(c, model) // finetune.go
	if err != nil {
		return fail(stderr, "train", err)
	}
	if src.train.Len() == 0 {
		return fail(stderr, "train", fmt.Errorf("--data %s: the training split has no samples", c.Data.Data))
	}
	steps := j.stepsPerEpoch(src.train.Len(), c.BatchSize)
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
	j.announce(progress, c.BatchSize)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := newProgress(progress, *quiet)
	callbacks := []train.Callback{bar}
	if unfreeze != nil {
		callbacks = append(callbacks, unfreeze)
	}
	if dash.set && j.leader() {
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
		Callbacks: callbacks, Warn: stderr, Curves: curves.Save, Distributed: j.comm, Task: task, Step: step,
		OverlapAllReduce: j.overlap, BucketBytes: int(j.bucket), SyncBatchNorm: j.syncBN,
	})
	bar.finish()
	var diverged *train.DivergedError
	switch {
	case errors.Is(err, train.ErrInterrupted):
		fmt.Fprintf(stderr, "\n%v; checkpoint saved in %s\nResume with: %s\n", err, outDir, j.resumeCommand(outDir))
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
		res.TrainLoss, res.ValLoss, res.ValAccuracy = jsonFloat(last.TrainLoss), jsonFloat(last.ValLoss), jsonFloat(last.ValAccuracy)
		res.Seconds = 0
		for _, e := range hist {
			res.Seconds += e.Seconds
		}
	}
	if src.test != nil {
		batch := 500
		if src.text != nil {
			batch = 32 // windows of attention scores: [N, heads, T, T] each
		}
		r, err := train.Evaluate(model, src.test, src.evalConfig(batch))
		if err != nil {
			return fail(stderr, "train", err)
		}
		res.TestLoss = jsonFloat(r.Loss)
		if src.text != nil {
			res.TestAccuracy, res.TestPerplexity, res.TestBitsPerToken = jsonNum(r.Accuracy), jsonNum(r.Perplexity), jsonNum(r.BitsPerToken)
			res.Tokenizer = src.text.Tokenizer
		} else if src.classes != nil {
			res.TestAccuracy = jsonNum(r.Accuracy)
		} else {
			res.TestMSE, res.TestMAE, res.TestR2 = jsonNum(r.MSE), jsonNum(r.MAE), jsonNum(r.R2)
		}
		if src.text != nil {
			printTextResult(progress, "Test", src.text, r)
		} else {
			printTestResult(progress, src, r)
		}
	}
	epochs := "epochs"
	if res.Epochs == 1 {
		epochs = "epoch"
	}
	fmt.Fprintf(progress, "Trained %d %s in %.1f s. Files in %s: %s, %s, %s\n", res.Epochs, epochs, res.Seconds, outDir,
		train.CheckpointFile, train.MetricsFile, train.CurvesFile)
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			return fail(stderr, "train", err)
		}
	}
	return 0
}

// Limits of train's counts: beyond them a run cannot be meant (a million
// epochs of one step each is days of work), and their products (the steps
// of a schedule) stay far from overflowing.
const (
	maxEpochs    = 1_000_000
	maxBatchSize = 1 << 20
)

// validate checks the choices that need no data, so that a typo is
// reported before a data set is opened, and before any count is used.
func (c trainConfig) validate() error {
	switch {
	case c.Epochs < 1 || c.Epochs > maxEpochs:
		return usagef("--epochs %d: want 1 to %d", c.Epochs, maxEpochs)
	case c.BatchSize < 1 || c.BatchSize > maxBatchSize:
		return usagef("--batch-size %d: want 1 to %d samples per step", c.BatchSize, maxBatchSize)
	case c.Patience < 0:
		return usagef("--patience %d: want a number of epochs ≥ 1, or 0 for no early stopping", c.Patience)
	}
	floats := []struct {
		flag   string
		v      float64
		ok     bool
		wanted string
	}{
		{"lr", c.LR, c.LR >= 0, "a learning rate > 0, or 0 for the optimiser's default"},
		{"momentum", c.Momentum, c.Momentum >= 0 && c.Momentum < 1, "a momentum in [0, 1)"},
		{"weight-decay", c.WeightDecay, c.WeightDecay >= 0, "a weight decay ≥ 0"},
		{"val-split", c.Data.ValSplit, c.Data.ValSplit >= 0 && c.Data.ValSplit < 1, "a fraction in [0, 1)"},
		{"test-split", c.Data.TestSplit, true, "a fraction in [0, 1)"}, // its range is openData's to check
	}
	for _, f := range floats {
		// NaN fails every comparison, so it must be named before ok is trusted.
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || !f.ok {
			return usagef("--%s %v: want %s", f.flag, f.v, f.wanted)
		}
	}
	if _, err := newOptimizer(c, []*ag.Value(nil)); err != nil {
		return err
	}
	if err := c.Finetune.validate(); err != nil { // finetune.go
		return err
	}
	if _, _, err := schedules(c, 1); err != nil {
		return err
	}
	if c.Model != "" && c.Model != "mlp" && c.Model != "cnn" && !languageModel(c.Model) && c.Arch == "" {
		if _, err := nn.ParseSpec(c.Model); err != nil {
			return usagef("--model: %v", err)
		}
	}
	return nil
}

// maxThreads is the most --threads accepts: 4 threads per CPU already
// gains nothing for this CPU-bound work, and far more exhausts the
// operating system's threads.
func maxThreads() int { return 4 * runtime.NumCPU() }

// checkThreads refuses a --threads value that is negative or above
// maxThreads; 0 means all CPUs.
func checkThreads(n int) error {
	if n < 0 || n > maxThreads() {
		return usagef("--threads %d: want 1 to %d (4 × the %d CPUs here), or 0 for all CPUs", n, maxThreads(), runtime.NumCPU())
	}
	return nil
}

// checkListenAddr checks --dashboard's address the way the dashboard's
// server will read it (PORT, HOST:PORT or :PORT), so that a bad address is
// refused while the flags are read rather than after the data has loaded.
func checkListenAddr(addr string) error { return dashboard.CheckAddr(addr) }

// dashboardFile is the dashboard's history in a run directory
// (dashboard.FileName; this file does not import the dashboard).
const dashboardFile = "dashboard.json"

// runFiles are the files a run writes in its directory: a directory that
// holds any of them holds a run.
var runFiles = []string{train.CheckpointFile, train.MetricsFile, train.CurvesFile, dashboardFile}

// prepareOutDir makes sure a new run does not silently replace another:
// dir may be missing, empty, or hold files that are not a run's; a run
// already there is refused unless overwrite is set, and then its files
// are removed first so that no old history mixes with the new run's.
func prepareOutDir(dir string, overwrite bool) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--out %s: %w", dir, err)
	case !info.IsDir():
		return usagef("--out %s is a file, not a directory: choose another --out", dir)
	}
	var found []string
	for _, f := range runFiles {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			found = append(found, f)
		}
	}
	if len(found) == 0 {
		return nil
	}
	if !overwrite {
		return usagef("--out %s already holds a run (%s): continue it with --resume %s, replace it with --overwrite, or choose another --out",
			dir, strings.Join(found, ", "), dir)
	}
	for _, f := range found {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("--overwrite: %w", err)
		}
	}
	return nil
}

// runSettings are the flags that shape a run, each with its value in a
// configuration. A resumed run keeps its saved settings, so giving one of
// these with --resume and another value is refused (the same value is
// fine).
var runSettings = []struct {
	flag string
	get  func(c trainConfig) any
}{
	{"data", func(c trainConfig) any { return filepath.Clean(c.Data.Data) }},
	{"model", func(c trainConfig) any { return c.Model }},
	{"batch-size", func(c trainConfig) any { return c.BatchSize }},
	{"optimizer", func(c trainConfig) any { return c.Optimizer }},
	{"lr", func(c trainConfig) any { return effectiveLR(c) }},
	{"momentum", func(c trainConfig) any { return c.Momentum }},
	{"weight-decay", func(c trainConfig) any { return c.WeightDecay }},
	{"schedule", func(c trainConfig) any { return c.Schedule }},
	{"patience", func(c trainConfig) any { return c.Patience }},
	{"seed", func(c trainConfig) any { return c.Seed }},
	{"val-split", func(c trainConfig) any { return c.Data.ValSplit }},
	{"test-split", func(c trainConfig) any { return c.Data.TestSplit }},
	{"label", func(c trainConfig) any { return c.Data.Label }},
	{"regression", func(c trainConfig) any { return c.Data.Regression }},
	{"image-size", func(c trainConfig) any { return c.Data.ImageSize }},
	{"channels", func(c trainConfig) any { return c.Data.Channels }},
	{"augment", func(c trainConfig) any { return c.Data.Augment }},
	{"max-pixels", func(c trainConfig) any { return c.Data.MaxPixels }},
	{"tokenizer", func(c trainConfig) any { return c.Data.Tokenizer }},
	{"context", func(c trainConfig) any { return c.Data.Context }},
	{"pretrained", func(c trainConfig) any { return c.Finetune.Pretrained }}, // finetune.go
	{"freeze-epochs", func(c trainConfig) any { return c.Finetune.FreezeEpochs }},
	{"backbone-lr-scale", func(c trainConfig) any { return c.Finetune.lrScale() }},
	{"normalize", func(c trainConfig) any { return c.Finetune.Normalize }},
}

// sessionFlags are the flags that may be given with --resume: they change
// how this invocation runs or reports, not the run (--epochs extends it).
var sessionFlags = []string{"epochs", "threads", "out", "overwrite", "resume", "checkpoint-every", "cache", "quiet", "json", "dashboard",
	"overlap-allreduce", "bucket-mb", "sync-batchnorm"} // distributed.go

// resumeConflict returns a usage error naming the first run setting given
// on the command line with a value other than the one saved in dir.
func resumeConflict(fs *flag.FlagSet, given, saved trainConfig, dir string) error {
	for _, s := range runSettings {
		if !flagSet(fs, s.flag) {
			continue
		}
		g, v := s.get(given), s.get(saved)
		if g == v {
			continue
		}
		return usagef("--%s %v conflicts with the run in %s, which was saved with --%s %v: a resumed run keeps its saved settings; drop --%s, or start a new run with --out NEWDIR",
			s.flag, g, dir, s.flag, v, s.flag)
	}
	return nil
}

// defaultModel chooses the preset for the data when --model is not given:
// the CNN for images, the MLP for a table.
func defaultModel(src *dataSource) string {
	if src.text != nil {
		return "gpt"
	}
	if src.kind == "csv" {
		return "mlp"
	}
	return "cnn"
}

// dataKind names the kind of data for messages.
func dataKind(src *dataSource) string {
	if src.text != nil {
		return "a text"
	}
	if src.kind == "csv" {
		return "a CSV table"
	}
	return "images"
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
	switch v {
	case "true":
		o.set, o.addr = true, ""
		return nil
	case "false":
		o.set, o.addr = false, ""
		return nil
	}
	if err := checkListenAddr(v); err != nil {
		return err
	}
	o.set, o.addr = true, v
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
	if err := checkResumeWeights(ck, c.Arch, path); err != nil {
		return nil, c, fmt.Errorf("--resume: %w", err)
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
	if model == "" {
		model = defaultModel(src)
	}
	if a, ok := zooArchitecture(model, src); ok { // finetune.go
		return a, nil
	}
	if languageModel(model) {
		if src.text == nil {
			return "", usagef("--model %s is a language model: give it a text, --data FILE.txt", model)
		}
		a, _ := textArchitecture(model, src.text)
		return a, nil
	}
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
	if src.text != nil {
		return checkTextOutputs(model, src.text)
	}
	want := len(src.classes)
	if src.classes == nil {
		want = max(src.train.TargetSize(), 1)
	}
	x := ag.NoGraph(zeros(append([]int{1}, src.shape...)))
	nn.Eval(model)
	got := model.Forward(x).Shape()
	nn.Train(model)
	if len(got) != 2 || got[1] != want {
		return usagef("the model's output has shape %v per batch, but the data needs [N %d]: end the architecture with linear(%d)", got, want, want)
	}
	return nil
}

// defaultLR is each optimiser's learning rate when --lr is 0 or not given.
var defaultLR = map[string]float64{"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2}

// effectiveLR is the learning rate a configuration trains with.
func effectiveLR(c trainConfig) float64 {
	if c.LR == 0 {
		return defaultLR[c.Optimizer]
	}
	return c.LR
}

// newOptimizer builds the optimiser the flags name. The values must have
// passed validate: the optimisers panic on values PyTorch refuses.
func newOptimizer[P optim.Params](c trainConfig, params P) (optim.Optimizer, error) {
	if _, ok := defaultLR[c.Optimizer]; !ok {
		return nil, usagef("--optimizer %q: want sgd, adam, adamw, rmsprop or adagrad", c.Optimizer)
	}
	lr := effectiveLR(c)
	if !(lr >= 0) || !(c.Momentum >= 0) || !(c.WeightDecay >= 0) {
		return nil, usagef("--lr %v, --momentum %v and --weight-decay %v must be numbers ≥ 0", lr, c.Momentum, c.WeightDecay)
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
	switch c.Schedule {
	case "none", "":
		return nil, nil, nil
	case "cosine", "step", "onecycle", "warmup":
	default:
		return nil, nil, usagef("--schedule %q: want none, cosine, step, onecycle or warmup", c.Schedule)
	}
	// The counts are checked first, so that the product cannot overflow
	// into a negative total.
	total, err := optim.TotalSteps(c.Epochs, stepsPerEpoch)
	if err != nil {
		return nil, nil, usagef("--epochs %d of %d steps each: %v", c.Epochs, stepsPerEpoch, err)
	}
	switch c.Schedule {
	case "cosine":
		// Per step, so that a short run still anneals smoothly to zero.
		step, err = optim.CosineAnnealingLR(total, 0)
	case "step":
		epoch, err = optim.MultiStepLR([]int{max(c.Epochs/2, 1), max(c.Epochs*3/4, 1)}, 0.1)
	case "onecycle":
		lr := c.LR
		if lr == 0 {
			lr = 0.05
		}
		step, err = optim.OneCycleLR(lr, total)
	case "warmup":
		warm := stepsPerEpoch
		up, err1 := optim.LinearLR(0.01, 1, warm)
		down, err2 := optim.CosineAnnealingLR(max(total-warm, 1), 0)
		if err = errors.Join(err1, err2); err == nil {
			step, err = optim.SequentialLR([]optim.Schedule{up, down}, []int{warm})
		}
	}
	if err != nil {
		return nil, nil, usagef("--schedule %s: %v", c.Schedule, err)
	}
	return epoch, step, nil
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
