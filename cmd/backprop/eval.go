package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/train"
)

func init() {
	register("eval", "measure a trained model's accuracy and loss on a data set's test part", runEval)
}

// evalResult is what eval --json prints. Classification fills Accuracy,
// TopK and the confusion matrix (dense up to train.DenseConfusionClasses
// classes, else its non-zero cells in ConfusionPairs); regression fills MSE,
// MAE and R2, in the target's units. A figure that is not finite (NaN
// weights) is written as null, so that the output stays valid JSON.
type evalResult struct {
	Accuracy        float64               `json:"accuracy"`
	Loss            float64               `json:"loss"`
	TopK            float64               `json:"top5_accuracy"`
	Samples         int                   `json:"samples"`
	Classes         []string              `json:"classes,omitempty"`
	ConfusionMatrix [][]int               `json:"confusion_matrix"`
	ConfusionPairs  []train.ConfusionPair `json:"confusion_pairs,omitempty"`
	ConfusionNote   string                `json:"confusion_note,omitempty"`

	Regression bool     `json:"regression,omitempty"`
	Target     string   `json:"target,omitempty"` // the regression target's column
	MSE        *float64 `json:"mse,omitempty"`
	MAE        *float64 `json:"mae,omitempty"`
	R2         *float64 `json:"r2,omitempty"`

	// A language model: Loss is in nats per token, Accuracy and TopK are
	// next-token accuracies, Samples counts the tokens scored.
	LanguageModel bool    `json:"language_model,omitempty"`
	Perplexity    float64 `json:"perplexity,omitempty"`
	BitsPerToken  float64 `json:"bits_per_token,omitempty"`
	Tokenizer     string  `json:"tokenizer,omitempty"`
}

// MarshalJSON writes non-finite figures as null and leaves out the
// figures that do not apply (accuracy for regression).
func (r evalResult) MarshalJSON() ([]byte, error) {
	type wire struct {
		Accuracy        *jsonFloat            `json:"accuracy,omitempty"`
		Loss            jsonFloat             `json:"loss"`
		TopK            *jsonFloat            `json:"top5_accuracy,omitempty"`
		Samples         int                   `json:"samples"`
		Classes         []string              `json:"classes,omitempty"`
		ConfusionMatrix [][]int               `json:"confusion_matrix,omitempty"`
		ConfusionPairs  []train.ConfusionPair `json:"confusion_pairs,omitempty"`
		ConfusionNote   string                `json:"confusion_note,omitempty"`
		Regression      bool                  `json:"regression,omitempty"`
		Target          string                `json:"target,omitempty"`
		MSE             *jsonFloat            `json:"mse,omitempty"`
		MAE             *jsonFloat            `json:"mae,omitempty"`
		R2              *jsonFloat            `json:"r2,omitempty"`
		LanguageModel   bool                  `json:"language_model,omitempty"`
		Perplexity      *jsonFloat            `json:"perplexity,omitempty"`
		BitsPerToken    *jsonFloat            `json:"bits_per_token,omitempty"`
		Tokenizer       string                `json:"tokenizer,omitempty"`
	}
	ptr := func(v *float64) *jsonFloat {
		if v == nil {
			return nil
		}
		f := jsonFloat(*v)
		return &f
	}
	w := wire{Loss: jsonFloat(r.Loss), Samples: r.Samples, Classes: r.Classes, ConfusionMatrix: r.ConfusionMatrix,
		ConfusionPairs: r.ConfusionPairs, ConfusionNote: r.ConfusionNote, Regression: r.Regression, Target: r.Target,
		MSE: ptr(r.MSE), MAE: ptr(r.MAE), R2: ptr(r.R2)}
	if !r.Regression {
		w.Accuracy, w.TopK = ptr(&r.Accuracy), ptr(&r.TopK)
	}
	if r.LanguageModel {
		w.LanguageModel, w.Tokenizer = true, r.Tokenizer
		w.Perplexity, w.BitsPerToken = ptr(&r.Perplexity), ptr(&r.BitsPerToken)
	}
	return json.Marshal(w)
}

func runEval(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: backprop eval CHECKPOINT [flags]\n       backprop eval --weights FILE --arch SPEC|ZOO [flags]\n       backprop eval --weights FILE --arch gpt|lstm|SPEC --data TEXT.txt [--context T]\n\nCHECKPOINT is a directory written by backprop train, or its checkpoint file.\nA language model is scored on the test part of a text (its last --test-split, default 0.1)\nin windows of T+1 tokens: loss in nats per token, bits per byte or character, perplexity.\n\nFlags:")
		fs.PrintDefaults()
	}
	dataName := fs.String("data", "", "data set to evaluate on (default: the one the model was trained on; mnist with --weights)")
	weights := fs.String("weights", "", "a plain safetensors file of weights (for example one PyTorch wrote)")
	arch := fs.String("arch", "", "with --weights: the architecture, a spec or a zoo name (resnet18: torchvision's names, classes from the file)")
	shape := fs.String("input-shape", "1,28,28", "with --weights: the shape of one sample")
	normalize := fs.String("normalize", "", "with --weights: imagenet, none, or MEAN,STD applied to every input after scaling pixels to [0, 1]")
	batch := fs.Int("batch-size", 500, "samples per forward pass (windows of a text: default 32)")
	var textCfg dataConfig
	fs.Var(boundedIntFlag{p: &textCfg.Context, max: data.MaxTextContext, def: data.DefaultTextContext}, "context", "with --weights and a text: input `tokens` per window (a checkpoint keeps its own)")
	fs.Var(testSplitFlag{&textCfg.TestSplit}, "test-split", "a text: the `fraction` at its end that is scored (default 0.1; a checkpoint keeps its own)")
	cacheDir := fs.String("cache", "", "data cache directory")
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	var maxPixels int
	fs.Var(maxPixelsFlag(&maxPixels), "max-pixels", maxPixelsUsage)
	if code, ok := parseFlags(fs, reorder(args)); !ok {
		return code
	}
	if *batch < 1 {
		return fail(stderr, "eval", usagef("--batch-size %d: want at least 1", *batch))
	}
	var (
		model      nn.Module
		dc         dataConfig
		norm       *data.Normalization
		inputShape []int
		saved      *savedModel
	)
	switch {
	case *weights != "":
		if fs.NArg() > 0 || *arch == "" {
			fmt.Fprintln(stderr, "backprop eval: --weights needs --arch SPEC and no CHECKPOINT argument")
			return 2
		}
		s, err := parseInts(*shape)
		if err != nil {
			return fail(stderr, "eval", usagef("--input-shape: %v", err))
		}
		ck, err := train.LoadCheckpoint(*weights)
		if err != nil {
			return fail(stderr, "eval", err)
		}
		a := weightsArch(*arch, ck)
		dc = dataConfig{Data: "mnist", Seed: 1}
		if *dataName != "" && isTextData(*dataName) {
			// Byte tokens, as PyTorch's W-LM models read text.
			dc = dataConfig{Data: *dataName, Seed: 1, Context: textCfg.Context, TestSplit: textCfg.TestSplit}
			if dc.Context == 0 {
				dc.Context = data.DefaultTextContext
			}
			s = []int{dc.Context}
			if p, ok := nn.LanguageModelPreset(*arch, dc.Context, data.TextVocabulary); ok {
				a = p
			}
		}
		if model, err = buildWithWeights(a, s, ck, *weights); err != nil {
			return fail(stderr, "eval", err)
		}
		inputShape = s
		if dc.Context == 0 && len(s) == 3 && (s[0] == 1 || s[0] == 3) && s[1] == s[2] && s[1] >= 1 && s[1] <= maxImageSize {
			// An image folder is read at the model's size, not the default.
			dc.Channels, dc.ImageSize = s[0], s[1]
		}
		if *normalize != "" {
			if norm, err = parseNormalization(*normalize, s[0]); err != nil { // finetune.go
				return fail(stderr, "eval", err)
			}
		}
	case fs.NArg() == 1:
		m, err := loadSaved(fs.Arg(0))
		if err != nil {
			return fail(stderr, "eval", err)
		}
		saved, model, inputShape = m, m.model, m.shape
		if m.data != nil {
			dc = *m.data
		} else {
			dc = dataConfig{Data: "mnist", Seed: 1}
		}
		if m.csv != nil {
			// Standardise new rows as the model was trained, not with the
			// file's own statistics. A model from before targets were
			// standardised predicts raw values: the identity.
			fixed := *m.csv
			if dc.Regression && fixed.Target == nil {
				fixed.Target = &data.Normalization{Mean: []float32{0}, Std: []float32{1}}
			}
			dc.fixed = &fixed
		}
		if m.text != nil {
			if dc.fixedChars, err = m.text.vocabulary(); err != nil {
				return fail(stderr, "eval", err)
			}
			dc.Tokenizer, dc.Context = m.text.Tokenizer, m.text.Context
			if flagSet(fs, "test-split") {
				dc.TestSplit = textCfg.TestSplit
			}
		}
	default:
		fs.Usage()
		return 2
	}
	if *dataName != "" {
		dc.Data = *dataName
	}
	if maxPixels > 0 {
		dc.MaxPixels = maxPixels
	}
	dc.Augment = false
	src, err := openData(dc, *cacheDir, stderr)
	if err != nil {
		return fail(stderr, "eval", err)
	}
	test := src.test
	if test == nil {
		return fail(stderr, "eval", usagef("%s has no test part", dc.Data))
	}
	if err := checkFits(model, inputShape, src, saved, stderr); err != nil {
		return fail(stderr, "eval", err)
	}
	switch {
	case *weights != "" && src.image != nil && src.image.Norm != nil:
		// An image folder normalises with its own statistics; the weights
		// want --normalize's (none when not given).
		if norm == nil {
			norm, _ = parseNormalization("none", src.image.Channels)
		}
		*src.image.Norm = *norm
	case norm != nil:
		test = normalized{Dataset: test, norm: norm}
	}
	if src.text != nil && !flagSet(fs, "batch-size") {
		*batch = 32
	}
	res, err := train.Evaluate(model, test, src.evalConfig(*batch))
	if err != nil {
		return fail(stderr, "eval", err)
	}
	if src.text != nil {
		out := evalResult{Accuracy: res.Accuracy, Loss: res.Loss, TopK: res.TopK, Samples: res.Samples, LanguageModel: true,
			Perplexity: res.Perplexity, BitsPerToken: res.BitsPerToken, Tokenizer: src.text.Tokenizer}
		if *jsonOut {
			if err := json.NewEncoder(stdout).Encode(out); err != nil {
				return fail(stderr, "eval", err)
			}
			return 0
		}
		printTextResult(stdout, dc.Data+" test part", src.text, res)
		return 0
	}
	out := evalResult{Accuracy: res.Accuracy, Loss: res.Loss, TopK: res.TopK, Samples: res.Samples, Classes: src.classes, ConfusionMatrix: res.Confusion}
	if src.classes == nil {
		out.Regression, out.Target = true, targetName(src)
		out.MSE, out.MAE, out.R2 = &res.MSE, &res.MAE, &res.R2
	} else if res.Confusion == nil {
		out.ConfusionPairs = res.Pairs
		out.ConfusionNote = fmt.Sprintf("%d classes: the confusion matrix is given as its non-zero cells (confusion_pairs), dense only up to %d classes", len(src.classes), train.DenseConfusionClasses)
	}
	if *jsonOut {
		if err := json.NewEncoder(stdout).Encode(out); err != nil {
			return fail(stderr, "eval", err)
		}
		return 0
	}
	if out.Regression {
		fmt.Fprintf(stdout, "%s test set: MSE %.6g, MAE %.6g, R² %.4f on %d samples (target %q, in its own units)\n", dc.Data, res.MSE, res.MAE, res.R2, res.Samples, out.Target)
		return 0
	}
	fmt.Fprintf(stdout, "%s test set: accuracy %.2f%%, top-5 %.2f%%, loss %.4f on %d samples\n", dc.Data, 100*res.Accuracy, 100*res.TopK, res.Loss, res.Samples)
	printConfusion(stdout, src.classes, res.Confusion)
	return 0
}

// targetName returns the regression target's column, or "".
func targetName(src *dataSource) string {
	if src.csv == nil || src.csv.LabelColumn < 0 || src.csv.LabelColumn >= len(src.csv.Columns) {
		return ""
	}
	return src.csv.Columns[src.csv.LabelColumn]
}

// printTestResult prints the figures of a training run's test set: the
// accuracy, or for regression the errors in the target's units.
func printTestResult(w io.Writer, src *dataSource, r train.Result) {
	if src.classes != nil {
		fmt.Fprintf(w, "Test accuracy %.2f%% (loss %.4f) on %d samples.\n", 100*r.Accuracy, r.Loss, r.Samples)
		return
	}
	fmt.Fprintf(w, "Test MSE %.6g, MAE %.6g, R² %.4f on %d samples (target %q, in its own units).\n", r.MSE, r.MAE, r.R2, r.Samples, targetName(src))
}

// checkFits makes sure the data can be fed to the model: samples of the
// shape it was built for, no more classes than it has outputs, a regression
// target for a regression model. Without it a mismatch panics deep in a
// matrix product.
func checkFits(model nn.Module, inputShape []int, src *dataSource, saved *savedModel, stderr io.Writer) error {
	if saved != nil && (saved.text == nil) != (src.text == nil) {
		if src.text != nil {
			return usagef("--data %s is a text, but the model is not a language model", src.cfg.Data)
		}
		return usagef("the model is a language model: give it a text, --data FILE.txt")
	}
	if !slices.Equal(inputShape, src.shape) {
		return usagef("--data %s gives samples of shape %v, but the model takes %v", src.cfg.Data, src.shape, inputShape)
	}
	if src.text != nil {
		return checkTextOutputs(model, src.text)
	}
	x := ag.NoGraph(zeros(append([]int{1}, inputShape...)))
	got := model.Forward(x).Shape()
	if len(got) != 2 {
		return usagef("the model's output has shape %v per batch; want [N outputs]", got)
	}
	outputs := got[1]
	if src.classes == nil {
		if want := max(src.test.TargetSize(), 1); outputs != want {
			return usagef("--data %s has %d regression target(s), but the model gives %d outputs (a classifier?)", src.cfg.Data, want, outputs)
		}
		return nil
	}
	if len(src.classes) > outputs {
		return usagef("--data %s has %d classes, but the model has %d outputs", src.cfg.Data, len(src.classes), outputs)
	}
	if saved != nil && saved.classes != nil && !slices.Equal(saved.classes, src.classes) {
		fmt.Fprintf(stderr, "backprop eval: warning: the data's classes %q are not the model's %q; they are matched by position\n", src.classes, saved.classes)
	}
	return nil
}

// printConfusion prints the confusion matrix when it is small enough to read.
func printConfusion(w io.Writer, classes []string, cm [][]int) {
	if len(cm) == 0 || len(cm) > 20 {
		return
	}
	fmt.Fprintln(w, "\nconfusion matrix (rows: true class, columns: predicted)")
	width := 6
	for _, c := range classes {
		width = max(width, len(c)+1)
	}
	fmt.Fprintf(w, "%*s", width, "")
	for _, c := range classes {
		fmt.Fprintf(w, "%*s", width, c)
	}
	fmt.Fprintln(w)
	for i, row := range cm {
		fmt.Fprintf(w, "%*s", width, classes[i])
		for _, v := range row {
			fmt.Fprintf(w, "%*d", width, v)
		}
		fmt.Fprintln(w)
	}
}

// parseNormalize reads MEAN,STD (one pair for every channel) or
// MEAN1,…,MEANc,STD1,…,STDc.
func parseNormalize(s string, channels int) (*data.Normalization, error) {
	var vals []float32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil {
			return nil, usagef("--normalize %q: want MEAN,STD numbers", s)
		}
		vals = append(vals, float32(v))
	}
	n := &data.Normalization{}
	switch len(vals) {
	case 2:
		for range channels {
			n.Mean, n.Std = append(n.Mean, vals[0]), append(n.Std, vals[1])
		}
	case 2 * channels:
		n.Mean, n.Std = vals[:channels], vals[channels:]
	default:
		return nil, usagef("--normalize %q: want MEAN,STD or %d means then %d standard deviations", s, channels, channels)
	}
	if err := n.Validate(); err != nil {
		return nil, usageError{err}
	}
	return n, nil
}

// normalized applies a normalisation to every sample of a data set.
type normalized struct {
	data.Dataset
	norm *data.Normalization
}

func (n normalized) Sample(i int, rng *rand.Rand, x, target []float32) (int, error) {
	label, err := n.Dataset.Sample(i, rng, x, target)
	if err == nil {
		n.norm.Apply(x)
	}
	return label, err
}

// reorder moves flags after positional arguments to the front, so that
// `backprop eval DIR --json` works like `backprop eval --json DIR`.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(a) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}

// boolFlags are the flags that take no value.
var boolFlags = map[string]bool{"json": true, "no-cache": true, "quiet": true, "augment": true, "regression": true, "h": true, "help": true}

func takesValue(flagArg string) bool {
	return !boolFlags[strings.TrimLeft(flagArg, "-")]
}
