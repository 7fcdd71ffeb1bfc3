package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/backprop-go/backprop/data"
)

// dataConfig is how the command line chose and prepared its data; a
// checkpoint stores it so that eval, predict and resume prepare data the
// same way.
type dataConfig struct {
	Data       string  `json:"data"`                 // mnist, fashion-mnist, a folder of images or a .csv file
	Label      string  `json:"label,omitempty"`      // CSV label column, by name or index
	Regression bool    `json:"regression,omitempty"` // CSV: numeric target
	ImageSize  int     `json:"image_size,omitempty"` // image folders: side of the square images
	Channels   int     `json:"channels,omitempty"`   // image folders: 1 or 3
	Augment    bool    `json:"augment,omitempty"`
	ValSplit   float64 `json:"val_split,omitempty"`
	TestSplit  float64 `json:"test_split,omitempty"`
	Seed       uint64  `json:"seed"`
}

// dataSource is an opened data set: its splits and how a new input is
// turned into features.
type dataSource struct {
	cfg              dataConfig
	kind             string // "idx", "images" or "csv"
	train, val, test data.Dataset
	classes          []string
	shape            []int
	image            *data.ImageSpec
	csv              *data.CSVSpec
}

// usageError marks errors in what the user asked for (exit status 2),
// as opposed to failures (status 1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// openData opens the data set cfg names, logging fetches to log.
func openData(cfg dataConfig, cacheDir string, log io.Writer) (*dataSource, error) {
	if cfg.ValSplit < 0 || cfg.ValSplit >= 1 || cfg.TestSplit < 0 || cfg.TestSplit >= 1 {
		return nil, usagef("--val-split %g and --test-split %g must each be in [0, 1)", cfg.ValSplit, cfg.TestSplit)
	}
	split := data.SplitConfig{TestFraction: cfg.TestSplit, ValFraction: cfg.ValSplit, Seed: cfg.Seed}
	name := strings.ToLower(cfg.Data)
	for _, known := range data.Names() {
		if name == known {
			return openIDX(cfg, name, cacheDir, log)
		}
	}
	info, err := os.Stat(cfg.Data)
	switch {
	case err != nil && os.IsNotExist(err):
		return nil, usagef("--data %q: not %s, and no such file or folder", cfg.Data, strings.Join(data.Names(), " or "))
	case err != nil:
		return nil, err
	case info.IsDir():
		size := cfg.ImageSize
		if size == 0 {
			size = 64
		}
		ch := cfg.Channels
		if ch == 0 {
			ch = 3
		}
		ic := data.ImageConfig{Height: size, Width: size, Channels: ch, ComputeNorm: true, Split: split, Warn: log}
		if cfg.Augment {
			ic.Augment = &data.Augment{CropPadding: max(size/8, 1), FlipH: true, MaxRotation: 10, Brightness: 0.2, Contrast: 0.2, Saturation: 0.2}
		}
		d, err := data.ImageFolder(cfg.Data, ic)
		if err != nil {
			return nil, err
		}
		spec := d.Spec
		return &dataSource{cfg: cfg, kind: "images", train: d.Train, val: d.Val, test: d.Test, classes: d.Classes, shape: spec.Shape(), image: &spec}, nil
	case strings.EqualFold(filepath.Ext(cfg.Data), ".csv"):
		d, err := data.CSV(cfg.Data, data.CSVConfig{Label: cfg.Label, Regression: cfg.Regression, Split: split})
		if err != nil {
			return nil, err
		}
		spec := d.Spec
		return &dataSource{cfg: cfg, kind: "csv", train: d.Train, val: d.Val, test: d.Test, classes: spec.Classes, shape: d.Train.Shape(), csv: &spec}, nil
	}
	return nil, usagef("--data %q: want mnist, fashion-mnist, a folder of images or a .csv file", cfg.Data)
}

// openIDX opens MNIST or Fashion-MNIST, with a validation split carved from
// the training images when asked.
func openIDX(cfg dataConfig, name, cacheDir string, log io.Writer) (*dataSource, error) {
	opts := []data.Option{data.Log(log)}
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
	return m
}
