package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
	text    *textSpec // a language model's tokenizer and context
}

// checkpointPath accepts a --out directory or a checkpoint file.
func checkpointPath(target string) string {
	if info, err := os.Stat(target); err == nil && info.IsDir() {
		return filepath.Join(target, train.CheckpointFile)
	}
	return target
}

// Bounds on what a checkpoint's metadata may ask for. The weights are
// checked against the file's own tensors, so the model is never larger
// than the file; these bound the rest: the sample a forward pass holds.
const (
	// maxInputRank is the most dimensions a sample shape may have.
	maxInputRank = 8
	// maxSampleElements bounds the elements of one sample and of each
	// layer's output for one sample (64 Mi: 256 MB of float32), far above
	// any image this command trains on (3×2048×2048 is 12 Mi).
	maxSampleElements = 1 << 26
)

// loadSaved reads a checkpoint written by backprop train and rebuilds its
// model in evaluation mode. Everything the metadata claims is checked
// before anything of its size is allocated: the sample shape, the
// preprocessing specs, and the architecture's weights against the file's
// tensors (by name and shape), so that a small file cannot make it build
// gigabytes of layers.
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
	var dc dataConfig
	for key, dst := range map[string]any{metaInputShape: &m.shape, metaClasses: &m.classes, metaImageSpec: &m.image, metaCSVSpec: &m.csv, metaData: &dc, metaTextSpec: &m.text} {
		if err := decodeMeta(ck.Meta, path, key, dst); err != nil {
			return nil, err
		}
	}
	if _, ok := ck.Meta[metaData]; ok {
		m.data = &dc
	}
	if m.shape == nil {
		m.shape = []int{1, 28, 28}
	}
	if err := m.checkMeta(); err != nil {
		return nil, err
	}
	if err := m.checkTextMeta(); err != nil {
		return nil, err
	}
	if m.model, err = buildWithWeights(m.arch, m.shape, ck, path); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeMeta decodes the JSON of metadata key into dst, when it is there.
func decodeMeta(meta map[string]string, path, key string, dst any) error {
	s, ok := meta[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("%s: metadata %q: %v", path, key, err)
	}
	return nil
}

// checkMeta checks the decoded metadata on its own and against each
// other; the architecture is checked by buildWithWeights.
func (m *savedModel) checkMeta() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: metadata %q: %s", m.path, key, fmt.Sprintf(format, args...))
	}
	if err := checkSampleShape(m.shape); err != nil {
		return bad(metaInputShape, "%v", err)
	}
	if m.classes != nil {
		if len(m.classes) < 1 {
			return bad(metaClasses, "no class names")
		}
		seen := make(map[string]bool, len(m.classes))
		for _, c := range m.classes {
			if seen[c] {
				return bad(metaClasses, "class %q named twice", shortText(c))
			}
			seen[c] = true
		}
	}
	if m.image != nil && m.csv != nil {
		return fmt.Errorf("%s: metadata has both %q and %q: a model takes images or table rows, not both", m.path, metaImageSpec, metaCSVSpec)
	}
	if m.image != nil {
		if err := m.image.Validate(); err != nil {
			return bad(metaImageSpec, "%v", err)
		}
		if !slices.Equal(m.image.Shape(), m.shape) {
			return bad(metaImageSpec, "images of shape %v, but %q is %v", m.image.Shape(), metaInputShape, m.shape)
		}
	}
	if m.csv != nil {
		if err := validateCSVSpec(m.csv); err != nil {
			return bad(metaCSVSpec, "%v", err)
		}
		if want := []int{len(m.csv.FeatureColumns)}; !slices.Equal(want, m.shape) {
			return bad(metaCSVSpec, "%d feature columns, but %q is %v", len(m.csv.FeatureColumns), metaInputShape, m.shape)
		}
		if m.classes != nil && m.csv.Classes != nil && !slices.Equal(m.classes, m.csv.Classes) {
			return bad(metaCSVSpec, "%d classes that differ from the %d of %q", len(m.csv.Classes), len(m.classes), metaClasses)
		}
	}
	return nil
}

// checkSampleShape bounds a sample shape taken from a file.
func checkSampleShape(shape []int) error {
	if len(shape) < 1 || len(shape) > maxInputRank {
		return fmt.Errorf("sample shape %v has %d dimensions, want 1 to %d", shortShape(shape), len(shape), maxInputRank)
	}
	n := 1
	for _, d := range shape {
		if d < 1 {
			return fmt.Errorf("sample shape %v has a dimension below 1", shape)
		}
		if d > maxSampleElements || n*d > maxSampleElements {
			return fmt.Errorf("sample shape %v has more than %d elements", shape, maxSampleElements)
		}
		n *= d
	}
	return nil
}

// validateCSVSpec checks a CSV spec taken from a checkpoint, as
// data.ImageSpec.Validate does an image spec: every index names a column,
// the features are distinct and exclude the label, and the
// standardisation has one finite mean and positive std per feature.
func validateCSVSpec(s *data.CSVSpec) error {
	nc := len(s.Columns)
	if nc < 2 {
		return fmt.Errorf("%d columns, want at least 2 (features and a label)", nc)
	}
	if s.LabelColumn < 0 || s.LabelColumn >= nc {
		return fmt.Errorf("label column %d of %d columns (indexes run from 0 to %d)", s.LabelColumn, nc, nc-1)
	}
	if len(s.FeatureColumns) == 0 {
		return fmt.Errorf("no feature columns")
	}
	seen := make(map[int]bool, len(s.FeatureColumns))
	for k, j := range s.FeatureColumns {
		switch {
		case j < 0 || j >= nc:
			return fmt.Errorf("feature %d is column %d of %d columns (indexes run from 0 to %d)", k+1, j, nc, nc-1)
		case j == s.LabelColumn:
			return fmt.Errorf("feature %d is the label column %d", k+1, j)
		case seen[j]:
			return fmt.Errorf("column %d is a feature twice", j)
		}
		seen[j] = true
	}
	if s.Norm != nil {
		if err := s.Norm.Validate(); err != nil {
			return err
		}
		if len(s.Norm.Mean) != len(s.FeatureColumns) {
			return fmt.Errorf("norm has %d means and standard deviations for %d feature columns", len(s.Norm.Mean), len(s.FeatureColumns))
		}
	}
	return nil
}

// buildWithWeights builds arch for inputs of shape and loads the
// checkpoint's weights strictly, after checking them against what arch
// makes (see checkWeights).
func buildWithWeights(arch string, shape []int, ck *train.Checkpoint, path string) (nn.Module, error) {
	if _, err := checkWeights(arch, shape, ck, path); err != nil {
		return nil, err
	}
	model, err := buildArch(arch, shape)
	if err != nil {
		return nil, fmt.Errorf("%s: architecture %q: %w", path, shortText(arch), err)
	}
	if err := nn.LoadStateDict(model, ck.Model, true); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	nn.Eval(model)
	return model, nil
}

// checkWeights works out, without allocating, the weights arch makes for
// samples of shape and compares them with the checkpoint's tensors: every
// one must be in the file with its shape, and nothing else (a missing
// BatchNorm num_batches_tracked aside, as in PyTorch). A model that
// passes is no larger than the file. It also checks the sample shape,
// each layer's output for one sample, and that the model gives one
// output per class when the metadata names classes.
func checkWeights(arch string, shape []int, ck *train.Checkpoint, path string) (*nn.ModelShapes, error) {
	if err := checkSampleShape(shape); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if name, classes, ok, err := parseZooArch(arch); ok {
		return nil, checkZooWeights(name, classes, shape, ck, path, err)
	}
	shapes, err := nn.InferShapes(arch, shape)
	if err != nil {
		return nil, fmt.Errorf("%s: architecture %q: %w", path, shortText(arch), err)
	}
	for i, o := range shapes.Outputs {
		if numel(o) > maxSampleElements {
			return nil, fmt.Errorf("%s: architecture %q: layer %d's output %v has more than %d elements per sample", path, shortText(arch), i, o, maxSampleElements)
		}
	}
	if err := shapes.Check(nn.StateShapes(ck.Model)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var classes []string
	if s, ok := ck.Meta[metaClasses]; ok && json.Unmarshal([]byte(s), &classes) == nil && classes != nil {
		if out := shapes.Output(); len(out) != 1 || out[0] != len(classes) {
			return nil, fmt.Errorf("%s: metadata %q names %d classes, but the architecture's output is %v per sample", path, metaClasses, len(classes), out)
		}
	}
	return shapes, nil
}

// checkResumeWeights is checkWeights for train --resume: the architecture
// the run will build, for the sample shape in the checkpoint's metadata.
func checkResumeWeights(ck *train.Checkpoint, arch, path string) error {
	if arch == "" {
		arch = ck.Meta[metaArchitecture]
	}
	if arch == "" {
		return nil // a preset, expanded for the data: the load checks it
	}
	var shape []int
	if err := decodeMeta(ck.Meta, path, metaInputShape, &shape); err != nil {
		return err
	}
	if shape == nil {
		return fmt.Errorf("%s: no %q in the metadata: not a checkpoint of backprop train", path, metaInputShape)
	}
	if err := checkSampleShape(shape); err != nil {
		return fmt.Errorf("%s: metadata %q: %v", path, metaInputShape, err)
	}
	_, err := checkWeights(arch, shape, ck, path)
	return err
}

// numel is the product of a shape's dimensions, which checkSampleShape or
// InferShapes has bounded.
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// shortText cuts a string taken from a file to a length fit for a
// one-line message.
func shortText(s string) string {
	const limit = 120
	if len(s) <= limit {
		return s
	}
	return strings.ToValidUTF8(s[:limit], "") + fmt.Sprintf("... (%d bytes)", len(s))
}

// shortShape formats a shape taken from a file, eliding the middle of one
// with many dimensions.
func shortShape(s []int) string {
	if len(s) > 8 {
		return fmt.Sprintf("%v ... %v", s[:4], s[len(s)-2:])
	}
	return fmt.Sprint(s)
}

// checkZooWeights is checkWeights for a zoo architecture: the file's head
// must have the architecture's classes (which bounds the one part of the
// model that grows with them) before the model is built and its tensors
// compared with the file's, strictly.
func checkZooWeights(name string, classes int, shape []int, ck *train.Checkpoint, path string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	head := ck.Model[headPrefix(name)+"weight"]
	if head == nil || len(head.Shape()) != 2 || head.Shape()[0] != classes {
		return fmt.Errorf("%s: architecture %s(classes=%d): the file has no %sweight of %d rows", path, name, classes, headPrefix(name), classes)
	}
	model, err := buildArch(fmt.Sprintf("%s%s(classes=%d)", zooPrefix, name, classes), shape)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := nn.LoadStateDict(model, ck.Model, true); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var names []string
	if s, ok := ck.Meta[metaClasses]; ok && json.Unmarshal([]byte(s), &names) == nil && names != nil && len(names) != classes {
		return fmt.Errorf("%s: metadata %q names %d classes, but the architecture has %d", path, metaClasses, len(names), classes)
	}
	return nil
}
