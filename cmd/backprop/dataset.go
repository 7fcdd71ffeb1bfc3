package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/train"
)

// dataConfig is how the command line chose and prepared its data; a
// checkpoint stores it so that eval, predict and resume prepare data the
// same way.
type dataConfig struct {
	Data       string  `json:"data"`                 // mnist, fashion-mnist, a folder of images, a .csv file, or text (.txt, a folder of them)
	Label      string  `json:"label,omitempty"`      // CSV label column, by name or index
	Regression bool    `json:"regression,omitempty"` // CSV: numeric target
	ImageSize  int     `json:"image_size,omitempty"` // image folders: side of the square images; 0 (absent): 64
	Channels   int     `json:"channels,omitempty"`   // image folders: 1 or 3; 0 (absent): 3
	Augment    bool    `json:"augment,omitempty"`
	ValSplit   float64 `json:"val_split,omitempty"`
	// TestSplit is the fraction held out as the test set, as
	// data.SplitConfig.TestFraction has it: 0 (absent, as in the
	// checkpoints of older runs) is the default 0.2, a negative value (what
	// --test-split 0 stores) holds out nothing.
	TestSplit float64 `json:"test_split,omitempty"`
	MaxPixels int     `json:"max_pixels,omitempty"` // image folders: the largest image decoded; 0: data.DefaultMaxPixels
	Seed      uint64  `json:"seed"`
	// Text: the tokenizer ("" is byte) and the input tokens per window
	// (0 is data.DefaultTextContext).
	Tokenizer string `json:"tokenizer,omitempty"`
	Context   int    `json:"context,omitempty"`

	// fixedChars, set by eval, tokenizes a text with the characters the
	// model was trained with rather than the text's own.
	fixedChars *data.CharVocabulary

	// fixed, set by eval, standardises a CSV's features and target with
	// the statistics the model was trained with rather than the file's own.
	fixed *data.CSVSpec
}

// The limits of the data flags.
const (
	maxImageSize     = 1024 // pixels a side: 3×1024×1024 floats are 12 MB a sample
	defaultImageSize = 64
)

// validate checks the data choices that need no data, so that a mistyped
// flag (or a crafted checkpoint) is reported before anything is opened.
func (d dataConfig) validate() error {
	switch {
	case d.ImageSize < 0 || d.ImageSize > maxImageSize:
		return usagef("--image-size %d: want a side in pixels from 1 to %d", d.ImageSize, maxImageSize)
	case d.Channels != 0 && d.Channels != 1 && d.Channels != 3:
		return usagef("--channels %d: want 1 (grey) or 3 (colour)", d.Channels)
	case !(d.ValSplit >= 0 && d.ValSplit < 1):
		return usagef("--val-split %g: want a fraction in [0, 1)", d.ValSplit)
	case !(d.TestSplit < 1) || math.IsNaN(d.TestSplit):
		return usagef("--test-split %g: want a fraction in [0, 1)", d.TestSplit)
	case d.MaxPixels < 0:
		return usagef("--max-pixels %d: want a positive number of pixels", d.MaxPixels)
	case d.Tokenizer != "" && d.Tokenizer != tokenizerByte && d.Tokenizer != tokenizerChar:
		return usagef("--tokenizer %q: want byte or char", d.Tokenizer)
	case d.Context < 0 || d.Context > data.MaxTextContext:
		return usagef("--context %d: want 1 to %d tokens", d.Context, data.MaxTextContext)
	}
	return nil
}

// testSplitFlag is --test-split: a fraction in [0, 1), where 0 asks for no
// test set. It stores 0 as -1 (see dataConfig.TestSplit), so that the
// default of a checkpoint that lacks the field stays the default.
type testSplitFlag struct{ p *float64 }

func (f testSplitFlag) String() string {
	switch {
	case f.p == nil || *f.p == 0:
		return strconv.FormatFloat(data.DefaultTestFraction, 'g', -1, 64)
	case *f.p < 0:
		return "0"
	}
	return strconv.FormatFloat(*f.p, 'g', -1, 64)
}

func (f testSplitFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v < 1) {
		return fmt.Errorf("want a fraction in [0, 1) (0: no test set)")
	}
	if v == 0 {
		v = -1
	}
	*f.p = v
	return nil
}

// boundedIntFlag is an integer flag that refuses values outside [1, max]
// when given: zero is never silently replaced by a default. Left unset, the
// variable keeps 0, which the code reads as the default def.
type boundedIntFlag struct {
	p        *int
	max, def int
}

func (f boundedIntFlag) String() string {
	if f.p == nil || *f.p == 0 {
		return strconv.Itoa(f.def)
	}
	return strconv.Itoa(*f.p)
}

func (f boundedIntFlag) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > f.max {
		return fmt.Errorf("want a whole number from 1 to %d", f.max)
	}
	*f.p = v
	return nil
}

// imageSizeFlag is --image-size.
func imageSizeFlag(p *int) flag.Value {
	return boundedIntFlag{p: p, max: maxImageSize, def: defaultImageSize}
}

// maxPixelsFlag is --max-pixels.
func maxPixelsFlag(p *int) flag.Value {
	return boundedIntFlag{p: p, max: math.MaxInt32, def: data.DefaultMaxPixels}
}

// maxPixelsUsage is the help of --max-pixels.
const maxPixelsUsage = "the largest image decoded, in `pixels` (width×height as its header declares); larger ones are refused unread"

// dataSource is an opened data set: its splits and how a new input is
// turned into features.
type dataSource struct {
	cfg              dataConfig
	kind             string // "idx", "images", "csv" or "text"
	train, val, test data.Dataset
	classes          []string
	shape            []int
	image            *data.ImageSpec
	csv              *data.CSVSpec
	text             *textSpec            // a language model's text
	chars            *data.CharVocabulary // the char tokenizer's vocabulary
}

// evalConfig is the evaluation of a model on this data: regression figures
// in the target's units.
func (s *dataSource) evalConfig(batch int) train.EvalConfig {
	c := train.EvalConfig{BatchSize: batch}
	if s.text != nil {
		c.Task, c.Step = train.TaskLanguageModel, textStep()
	}
	if s.csv != nil {
		c.TargetNorm = s.csv.Target
	}
	return c
}

// usageError marks errors in what the user asked for (exit status 2),
// as opposed to failures (status 1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// openData opens the data set cfg names, logging fetches to log.
func openData(cfg dataConfig, cacheDir string, log io.Writer) (*dataSource, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	split := data.SplitConfig{TestFraction: cfg.TestSplit, ValFraction: cfg.ValSplit, Seed: cfg.Seed}
	name := strings.ToLower(cfg.Data)
	for _, known := range data.Names() {
		if name == known {
			return openIDX(cfg, name, cacheDir, log)
		}
	}
	info, err := os.Stat(cfg.Data)
	var src *dataSource
	switch {
	case err != nil && os.IsNotExist(err):
		return nil, usagef("--data %q: not %s, and no such file or folder", cfg.Data, strings.Join(data.Names(), " or "))
	case err != nil:
		return nil, err
	case isTextData(cfg.Data):
		if src, err = openText(cfg, log); err != nil {
			return nil, err
		}
	case info.IsDir():
		size := cfg.ImageSize
		if size == 0 {
			size = defaultImageSize
		}
		ch := cfg.Channels
		if ch == 0 {
			ch = 3
		}
		ic := data.ImageConfig{Height: size, Width: size, Channels: ch, ComputeNorm: true, Split: split, Warn: log, MaxPixels: cfg.MaxPixels}
		if cfg.Augment {
			ic.Augment = &data.Augment{CropPadding: max(size/8, 1), FlipH: true, MaxRotation: 10, Brightness: 0.2, Contrast: 0.2, Saturation: 0.2}
		}
		d, err := data.ImageFolder(cfg.Data, ic)
		if err != nil {
			return nil, dataError(err, false)
		}
		spec := d.Spec
		src = &dataSource{cfg: cfg, kind: "images", train: d.Train, val: d.Val, test: d.Test, classes: d.Classes, shape: spec.Shape(), image: &spec}
	case strings.EqualFold(filepath.Ext(cfg.Data), ".csv"):
		cc := data.CSVConfig{Label: cfg.Label, Regression: cfg.Regression, Split: split}
		if cfg.fixed != nil {
			cc.Norm, cc.TargetNorm = cfg.fixed.Norm, cfg.fixed.Target
		}
		d, err := data.CSV(cfg.Data, cc)
		if err != nil {
			return nil, dataError(err, true)
		}
		spec := d.Spec
		src = &dataSource{cfg: cfg, kind: "csv", train: d.Train, val: d.Val, test: d.Test, classes: spec.Classes, shape: d.Train.Shape(), csv: &spec}
		if t := spec.Target; t != nil && cfg.fixed == nil {
			fmt.Fprintf(log, "Regression target %q standardised with mean %.6g and std %.6g (of the training split): training losses are in standardised units, test figures in the target's.\n",
				spec.Columns[spec.LabelColumn], t.Mean[0], t.Std[0])
		}
	default:
		return nil, usagef("--data %q: want mnist, fashion-mnist, a folder of images, a .csv file or a .txt file", cfg.Data)
	}
	if src.test == nil {
		fmt.Fprintf(log, "No test set (--test-split 0): the run reports no test figures.\n")
	}
	return src, nil
}

// dataError turns the data package's refusals of what the user chose into
// usage errors that name the flag to change; other errors (a corrupt
// file) stay failures.
func dataError(err error, csv bool) error {
	switch {
	case errors.Is(err, data.ErrLabelColumn):
		return usageError{fmt.Errorf("--label: %w", err)}
	case errors.Is(err, data.ErrOneClass) && !csv:
		return usageError{err}
	case errors.Is(err, data.ErrOneClass), errors.Is(err, data.ErrLabelLooksLikeID):
		return usageError{fmt.Errorf("%w; choose another --label, or --regression for a numeric target", err)}
	case errors.Is(err, data.ErrNotRegular), errors.Is(err, data.ErrFeatureCount):
		return usageError{err}
	}
	return err
}

// openIDX opens MNIST or Fashion-MNIST, with a validation split carved from
// the training images when asked.
func openIDX(cfg dataConfig, name, cacheDir string, log io.Writer) (*dataSource, error) {
	opts := []data.Option{data.Log(log), downloadBar(log)}
	if cacheDir != "" {
		opts = append(opts, data.CacheDir(cacheDir))
	}
	train, test, err := data.Load(name, opts...)
	if err != nil {
		return nil, err
	}
	src := &dataSource{cfg: cfg, kind: "idx", train: train, test: test, classes: train.Classes(), shape: train.Shape(),
		image: &data.ImageSpec{Channels: 1, Height: 28, Width: 28}}
	if cfg.ValSplit > 0 {
		s, err := data.Split(train, data.SplitConfig{TestFraction: -1, ValFraction: cfg.ValSplit, Seed: cfg.Seed})
		if err != nil {
			return nil, err
		}
		src.train, src.val = s.Train, s.Val
	}
	if cfg.Augment {
		aug := data.Augment{CropPadding: 2, MaxRotation: 10}
		src.train = data.Transformed(src.train, aug.Apply)
	}
	return src, nil
}

// Checkpoint metadata keys the command writes beside the training state.
const (
	metaArchitecture = "architecture"
	metaInputShape   = "input_shape"
	metaClasses      = "classes"
	metaData         = "data"
	metaImageSpec    = "image_spec"
	metaCSVSpec      = "csv_spec"
	metaTrainConfig  = "train_config"
)

// meta returns the metadata that lets a checkpoint be used without the
// command line that made it.
func (s *dataSource) meta() map[string]string {
	m := map[string]string{}
	put := func(k string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		m[k] = string(b)
	}
	put(metaInputShape, s.shape)
	put(metaData, s.cfg)
	if s.classes != nil {
		put(metaClasses, s.classes)
	}
	if s.image != nil {
		put(metaImageSpec, s.image)
	}
	if s.csv != nil {
		put(metaCSVSpec, s.csv)
	}
	if s.text != nil {
		put(metaTextSpec, s.text)
	}
	return m
}
