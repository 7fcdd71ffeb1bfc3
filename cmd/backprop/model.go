package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/train"
)

// savedModel is a model loaded from a checkpoint with what is needed to
// feed it: input shape, class names and preprocessing.
type savedModel struct {
	path    string
	model   nn.Module
	arch    string
	shape   []int
	classes []string
	image   *data.ImageSpec
	csv     *data.CSVSpec
	data    *dataConfig
}

// checkpointPath accepts a --out directory or a checkpoint file.
func checkpointPath(target string) string {
	if info, err := os.Stat(target); err == nil && info.IsDir() {
		return filepath.Join(target, train.CheckpointFile)
	}
	return target
}

// loadSaved reads a checkpoint written by backprop train and rebuilds its
// model in evaluation mode.
func loadSaved(target string) (*savedModel, error) {
	path := checkpointPath(target)
	ck, err := train.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	m := &savedModel{path: path, arch: ck.Meta[metaArchitecture]}
	if m.arch == "" {
		return nil, usagef("%s has no architecture in its metadata: use --weights %s --arch SPEC", path, path)
	}
	bad := func(key string, err error) error {
		return fmt.Errorf("%s: metadata %q: %v", path, key, err)
	}
	decode := func(key string, dst any) error {
		s, ok := ck.Meta[key]
		if !ok {
			return nil
		}
		if err := json.Unmarshal([]byte(s), dst); err != nil {
			return bad(key, err)
		}
		return nil
	}
	var dc dataConfig
	for key, dst := range map[string]any{metaInputShape: &m.shape, metaClasses: &m.classes, metaImageSpec: &m.image, metaCSVSpec: &m.csv, metaData: &dc} {
		if err := decode(key, dst); err != nil {
			return nil, err
		}
	}
	if _, ok := ck.Meta[metaData]; ok {
		m.data = &dc
	}
	if m.shape == nil {
		m.shape = []int{1, 28, 28}
	}
	if m.model, err = buildWithWeights(m.arch, m.shape, ck, path); err != nil {
		return nil, err
	}
	return m, nil
}

// buildWithWeights builds arch for inputs of shape and loads the
// checkpoint's weights strictly.
func buildWithWeights(arch string, shape []int, ck *train.Checkpoint, path string) (nn.Module, error) {
	model, err := nn.Build(arch, shape)
	if err != nil {
		return nil, fmt.Errorf("%s: architecture %q: %w", path, arch, err)
	}
	if err := nn.LoadStateDict(model, ck.Model, true); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	nn.Eval(model)
	return model, nil
}
