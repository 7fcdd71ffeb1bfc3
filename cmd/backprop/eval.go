package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/train"
)

func init() {
	register("eval", "measure a trained model's accuracy and loss on a data set's test part", runEval)
}

// evalResult is what eval --json prints.
type evalResult struct {
	Accuracy        float64  `json:"accuracy"`
	Loss            float64  `json:"loss"`
	TopK            float64  `json:"top5_accuracy"`
	Samples         int      `json:"samples"`
	Classes         []string `json:"classes,omitempty"`
	ConfusionMatrix [][]int  `json:"confusion_matrix"`
}

func runEval(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: backprop eval CHECKPOINT [flags]\n       backprop eval --weights FILE --arch SPEC [flags]\n\nCHECKPOINT is a directory written by backprop train, or its checkpoint file.\n\nFlags:")
		fs.PrintDefaults()
	}
	dataName := fs.String("data", "", "data set to evaluate on (default: the one the model was trained on; mnist with --weights)")
	weights := fs.String("weights", "", "a plain safetensors file of weights (for example one PyTorch wrote)")
	arch := fs.String("arch", "", "with --weights: the architecture spec")
	shape := fs.String("input-shape", "1,28,28", "with --weights: the shape of one sample")
	normalize := fs.String("normalize", "", "with --weights: MEAN,STD applied to every input after scaling pixels to [0, 1]")
	batch := fs.Int("batch-size", 500, "samples per forward pass")
	cacheDir := fs.String("cache", "", "data cache directory")
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	if code, ok := parseFlags(fs, reorder(args)); !ok {
		return code
	}
	var (
		model nn.Module
		dc    dataConfig
		norm  *data.Normalization
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
		if model, err = buildWithWeights(*arch, s, ck, *weights); err != nil {
			return fail(stderr, "eval", err)
		}
		dc = dataConfig{Data: "mnist", Seed: 1}
		if *normalize != "" {
			if norm, err = parseNormalize(*normalize, s[0]); err != nil {
				return fail(stderr, "eval", err)
			}
		}
	case fs.NArg() == 1:
		m, err := loadSaved(fs.Arg(0))
		if err != nil {
			return fail(stderr, "eval", err)
		}
		model = m.model
		if m.data != nil {
			dc = *m.data
		} else {
			dc = dataConfig{Data: "mnist", Seed: 1}
		}
	default:
		fs.Usage()
		return 2
	}
	if *dataName != "" {
		dc.Data = *dataName
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
	if norm != nil {
		test = normalized{Dataset: test, norm: norm}
	}
	res, err := train.Evaluate(model, test, train.EvalConfig{BatchSize: *batch})
	if err != nil {
		return fail(stderr, "eval", err)
	}
	if *jsonOut {
		out := evalResult{Accuracy: res.Accuracy, Loss: res.Loss, TopK: res.TopK, Samples: res.Samples, Classes: src.classes, ConfusionMatrix: res.Confusion}
		if err := json.NewEncoder(stdout).Encode(out); err != nil {
			return fail(stderr, "eval", err)
		}
		return 0
	}
	fmt.Fprintf(stdout, "%s test set: accuracy %.2f%%, top-5 %.2f%%, loss %.4f on %d samples\n", dc.Data, 100*res.Accuracy, 100*res.TopK, res.Loss, res.Samples)
	printConfusion(stdout, src.classes, res.Confusion)
	return 0
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
var boolFlags = map[string]bool{"json": true, "quiet": true, "augment": true, "regression": true, "h": true, "help": true}

func takesValue(flagArg string) bool {
	return !boolFlags[strings.TrimLeft(flagArg, "-")]
}
