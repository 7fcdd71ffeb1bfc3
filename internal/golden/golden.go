// Package golden reads the PyTorch golden vectors (see
// shared/golden/FORMAT.md): cases that give, for one op or optimiser, inputs,
// the expected output, an upstream gradient and the expected input
// gradients. The tests of autograd and optim run them.
package golden

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
)

// Tensor is one named array of a case; Data is row-major.
type Tensor struct {
	Name  string    `json:"name"`
	Dtype string    `json:"dtype"`
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// Float32 returns the data as float32.
func (t Tensor) Float32() []float32 {
	out := make([]float32, len(t.Data))
	for i, v := range t.Data {
		out[i] = float32(v)
	}
	return out
}

// Ints returns the data as ints (for int64 tensors).
func (t Tensor) Ints() []int {
	out := make([]int, len(t.Data))
	for i, v := range t.Data {
		out[i] = int(v)
	}
	return out
}

// Case is one golden case: an op case (Inputs, Output, Upstream, Grads), an
// optimiser case (Params, GradsPerStep, ExpectedPerStep) or a learning-rate
// schedule case (Metrics, LRs).
type Case struct {
	Name     string         `json:"name"`
	Op       string         `json:"op"`
	Attrs    map[string]any `json:"attrs"`
	Inputs   []Tensor       `json:"inputs"`
	Output   *Tensor        `json:"output"`
	Upstream *Tensor        `json:"upstream"`
	Grads    []Tensor       `json:"grads"`

	Params          []Tensor   `json:"params"`
	GradsPerStep    [][]Tensor `json:"grads_per_step"`
	ExpectedPerStep [][]Tensor `json:"expected_per_step"`

	Metrics []float64 `json:"metrics"`
	LRs     []float64 `json:"lrs"`

	// File is the file the case came from.
	File string `json:"-"`
}

// OptimizerOps are the ops whose cases package optim runs: the optimisers
// (optim.json) and the learning-rate schedulers (schedule.json). The op
// tests skip them.
var OptimizerOps = map[string]bool{
	"sgd": true, "adam": true, "adamw": true, "rmsprop": true, "adagrad": true,
	"step": true, "multistep": true, "exponential": true, "cosine": true, "onecycle": true, "plateau": true,
}

// ScheduleOps are the learning-rate schedulers among OptimizerOps.
var ScheduleOps = map[string]bool{
	"step": true, "multistep": true, "exponential": true, "cosine": true, "onecycle": true, "plateau": true,
}

// Dir returns the directory to read: $BACKPROP_GOLDEN_DIR when set, the
// project's testdata/golden otherwise.
func Dir() string {
	if d := os.Getenv("BACKPROP_GOLDEN_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "golden")
}

// Load reads every *.json file in dir and returns all their cases.
func Load(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("golden: no *.json files in %s", dir)
	}
	sort.Strings(files)
	var cases []Case
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Cases []Case `json:"cases"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("golden: %s: %v", f, err)
		}
		for i := range doc.Cases {
			doc.Cases[i].File = filepath.Base(f)
		}
		cases = append(cases, doc.Cases...)
	}
	return cases, nil
}

// Close reports whether got matches want within the format's float32
// tolerance |got-want| <= 1e-4 + 1e-3·|want|.
func Close(got float32, want float64) bool {
	if math.IsNaN(want) {
		return got != got
	}
	return math.Abs(float64(got)-want) <= 1e-4+1e-3*math.Abs(want)
}

// Compare checks got against want (shape and every element) and returns a
// description of the first mismatch, or "" when they match.
func Compare(what string, gotShape []int, got []float32, want Tensor) string {
	if len(gotShape) != len(want.Shape) {
		return fmt.Sprintf("%s: shape %v, want %v", what, gotShape, want.Shape)
	}
	for i := range gotShape {
		if gotShape[i] != want.Shape[i] {
			return fmt.Sprintf("%s: shape %v, want %v", what, gotShape, want.Shape)
		}
	}
	if len(got) != len(want.Data) {
		return fmt.Sprintf("%s: %d elements, want %d", what, len(got), len(want.Data))
	}
	for i := range got {
		if !Close(got[i], want.Data[i]) {
			return fmt.Sprintf("%s: element %d is %v, want %v", what, i, got[i], want.Data[i])
		}
	}
	return ""
}
