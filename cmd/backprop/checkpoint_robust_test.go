package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
	"github.com/backprop-go/backprop/train"
)

// craftedRun is a small, valid checkpoint of a CSV classifier, to be
// spoiled one way at a time.
type craftedRun struct {
	arch    string
	model   map[string]*tensor.Tensor
	opt     map[string]*tensor.Tensor
	meta    map[string]string
	cfgArch string // train_config's architecture, when it should differ
}

const craftedArch = "linear(8) batchnorm relu linear(3)"

func newCraftedRun(t *testing.T) *craftedRun {
	t.Helper()
	m, err := nn.Build(craftedArch, []int{4}, nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	spec := data.CSVSpec{Columns: []string{"x1", "x2", "x3", "x4", "label"}, FeatureColumns: []int{0, 1, 2, 3},
		LabelColumn: 4, Classes: []string{"a", "b", "c"},
		Norm: &data.Normalization{Mean: []float32{0, 1, 2, 3}, Std: []float32{1, 1, 2, 2}}}
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	model := map[string]*tensor.Tensor{}
	for k, v := range nn.StateDict(m) {
		model[k] = v.Clone()
	}
	return &craftedRun{
		arch:  craftedArch,
		model: model,
		opt:   map[string]*tensor.Tensor{"0.momentum_buffer": tensor.Zeros(8, 4)},
		meta: map[string]string{
			metaArchitecture: craftedArch, metaInputShape: "[4]", metaClasses: js(spec.Classes),
			metaCSVSpec: js(spec), metaData: js(dataConfig{Data: "blobs.csv", Seed: 1}),
		},
	}
}

// save writes the run's checkpoint in a new directory and returns the
// directory.
func (r *craftedRun) save(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := trainConfig{Data: dataConfig{Data: "blobs.csv", Seed: 1}, Model: "mlp", Arch: r.arch, Epochs: 2,
		BatchSize: 8, Optimizer: "sgd", LR: 0.1, Schedule: "none", Seed: 1}
	if r.cfgArch != "" {
		cfg.Arch = r.cfgArch
	}
	b, _ := json.Marshal(cfg)
	meta := map[string]string{metaTrainConfig: string(b)}
	for k, v := range r.meta {
		meta[k] = v
	}
	ck := &train.Checkpoint{Model: r.model, Optimizer: r.opt, Meta: meta, Epoch: 1, Step: 3, BaseLR: 0.1}
	if err := ck.Save(filepath.Join(dir, train.CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadSavedRefusesCraftedCheckpoints: each spoilt checkpoint is
// refused with an error naming the file and what is wrong, allocating
// little, where the old code built what the metadata said.
func TestLoadSavedRefusesCraftedCheckpoints(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(r *craftedRun)
		want  string // in the error; "" for a file that must load
	}{
		{"valid", func(r *craftedRun) {}, ""},
		{"no num_batches_tracked", func(r *craftedRun) { delete(r.model, "1.num_batches_tracked") }, ""},
		{"three 16384-wide layers", func(r *craftedRun) {
			delete(r.meta, metaCSVSpec)
			r.meta[metaInputShape] = "[16384]"
			r.meta[metaArchitecture] = "linear(16384) relu linear(16384) relu linear(16384)"
		}, `key "0.weight" has shape [8 4], but the model's is [16384 16384]`},
		{"four 32768-wide layers", func(r *craftedRun) {
			delete(r.meta, metaCSVSpec)
			r.meta[metaInputShape] = "[32768]"
			r.meta[metaArchitecture] = "linear(32768) linear(32768) linear(32768) linear(32768)"
		}, `key "0.weight" has shape [8 4], but the model's is [32768 32768]`},
		{"wide last layer", func(r *craftedRun) {
			r.meta[metaArchitecture] = "linear(8) batchnorm relu linear(3) linear(16777216)"
		}, `missing key "4.weight" (model shape [16777216 3])`},
		{"missing tensor", func(r *craftedRun) { delete(r.model, "3.bias") }, `missing key "3.bias" (model shape [3])`},
		{"missing running_mean", func(r *craftedRun) { delete(r.model, "1.running_mean") }, `missing key "1.running_mean"`},
		{"extra tensor", func(r *craftedRun) { r.model["4.weight"] = tensor.Zeros(2) }, `unexpected key "4.weight" (shape [2])`},
		{"mis-shaped tensor", func(r *craftedRun) { r.model["3.weight"] = tensor.Zeros(3, 9) },
			`key "3.weight" has shape [3 9], but the model's is [3 8]`},
		{"NaN weight", func(r *craftedRun) { r.model["3.weight"].Data()[17] = float32(math.NaN()) },
			`tensor "3.weight" has NaN at index 17: the weights are corrupt`},
		{"Inf running_var", func(r *craftedRun) { r.model["1.running_var"].Data()[2] = float32(math.Inf(-1)) },
			`tensor "1.running_var" has -Inf at index 2`},
		{"Inf optimiser state", func(r *craftedRun) { r.opt["0.momentum_buffer"].Data()[3] = float32(math.Inf(1)) },
			`tensor "optimizer.0.momentum_buffer" has +Inf at index 3: the optimiser state is corrupt`},
		{"huge architecture text", func(r *craftedRun) { r.meta[metaArchitecture] = strings.Repeat("relu ", 30000) }, "more than the limit"},
		{"nested architecture", func(r *craftedRun) { r.meta[metaArchitecture] = strings.Repeat("linear(", 5000) }, "architecture"},
		{"zero input dim", func(r *craftedRun) { r.meta[metaInputShape] = "[0]" }, `metadata "input_shape": sample shape [0] has a dimension below 1`},
		{"negative input dim", func(r *craftedRun) { r.meta[metaInputShape] = "[-4]" }, `metadata "input_shape"`},
		{"empty input shape", func(r *craftedRun) { r.meta[metaInputShape] = "[]" }, `metadata "input_shape": sample shape [] has 0 dimensions`},
		{"too many dims", func(r *craftedRun) { r.meta[metaInputShape] = "[1,1,1,1,1,1,1,1,1,4]" }, "has 10 dimensions, want 1 to 8"},
		{"huge input", func(r *craftedRun) { r.meta[metaInputShape] = "[65536,65536]" }, "more than 67108864 elements"},
		{"non-integer input", func(r *craftedRun) { r.meta[metaInputShape] = "[1e30]" }, `metadata "input_shape"`},
		{"input shape not the features", func(r *craftedRun) { r.meta[metaInputShape] = "[5]" },
			`metadata "csv_spec": 4 feature columns, but "input_shape" is [5]`},
		{"classes not the outputs", func(r *craftedRun) {
			r.meta[metaClasses] = `["a","b"]`
			r.meta[metaCSVSpec] = csvSpecJSON(t, func(s *data.CSVSpec) { s.Classes = nil })
		},
			`metadata "classes" names 2 classes, but the architecture's output is [3] per sample`},
		{"duplicate class", func(r *craftedRun) { r.meta[metaClasses] = `["a","b","a"]` }, `class "a" named twice`},
		{"classes differ from csv_spec", func(r *craftedRun) { r.meta[metaClasses] = `["a","b","z"]` }, `metadata "csv_spec": 3 classes that differ`},
		{"norm of the wrong length", csvSpoil(t, func(s *data.CSVSpec) { s.Norm.Mean, s.Norm.Std = s.Norm.Mean[:3], s.Norm.Std[:3] }),
			"norm has 3 means and standard deviations for 4 feature columns"},
		{"std 0", csvSpoil(t, func(s *data.CSVSpec) { s.Norm.Std[1] = 0 }), "want a finite mean and a positive std"},
		{"negative std", csvSpoil(t, func(s *data.CSVSpec) { s.Norm.Std[2] = -1 }), "normalisation of channel 2"},
		{"NaN std", func(r *craftedRun) {
			r.meta[metaCSVSpec] = strings.Replace(r.meta[metaCSVSpec], `"std":[1,1,2,2]`, `"std":[1,NaN,2,2]`, 1)
		}, `metadata "csv_spec"`},
		{"too few columns", csvSpoil(t, func(s *data.CSVSpec) { s.Columns = s.Columns[:1] }), "1 columns, want at least 2"},
		{"negative feature index", csvSpoil(t, func(s *data.CSVSpec) { s.FeatureColumns[0] = -1 }), "feature 1 is column -1 of 5 columns"},
		{"feature past the end", csvSpoil(t, func(s *data.CSVSpec) { s.FeatureColumns[3] = 9 }), "feature 4 is column 9 of 5 columns"},
		{"label past the end", csvSpoil(t, func(s *data.CSVSpec) { s.LabelColumn = 5 }), "label column 5 of 5 columns"},
		{"duplicate feature", csvSpoil(t, func(s *data.CSVSpec) { s.FeatureColumns[2] = 1 }), "column 1 is a feature twice"},
		{"label as a feature", csvSpoil(t, func(s *data.CSVSpec) { s.FeatureColumns[3] = 4 }), "feature 4 is the label column 4"},
		{"no features", csvSpoil(t, func(s *data.CSVSpec) { s.FeatureColumns = nil }), "no feature columns"},
		{"image and csv", func(r *craftedRun) { r.meta[metaImageSpec] = `{"channels":1,"height":2,"width":2}` }, "both"},
		{"bad image channels", imageSpoil(`{"channels":2,"height":28,"width":28}`), `metadata "image_spec": data: image channels 2`},
		{"zero image size", imageSpoil(`{"channels":1,"height":0,"width":28}`), `metadata "image_spec": data: image size 0×28`},
		{"image not the input", imageSpoil(`{"channels":1,"height":2,"width":2}`), `images of shape [1 2 2], but "input_shape" is [4]`},
		{"image norm", imageSpoil(`{"channels":1,"height":2,"width":2,"norm":{"mean":[0],"std":[0]}}`), `metadata "image_spec"`},
	}
	for _, c := range cases {
		r := newCraftedRun(t)
		c.spoil(r)
		dir := r.save(t)
		path := filepath.Join(dir, train.CheckpointFile)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := loadSaved(dir)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 50<<20 {
			t.Errorf("%s: loadSaved allocated %d MB, want under 50", c.name, alloc>>20)
		}
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if m.model == nil {
				t.Errorf("%s: no model", c.name)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: loaded; want an error containing %q", c.name, c.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, path) || strings.Contains(msg, "\n") || len(msg) > 1000 {
			t.Errorf("%s: error %.300q; want one line naming %s and containing %q", c.name, msg, path, c.want)
		}
	}
}

// csvSpecJSON is the crafted run's CSV spec, edited.
func csvSpecJSON(t *testing.T, edit func(s *data.CSVSpec)) string {
	t.Helper()
	var s data.CSVSpec
	if err := json.Unmarshal([]byte(newCraftedRun(t).meta[metaCSVSpec]), &s); err != nil {
		t.Fatal(err)
	}
	edit(&s)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func csvSpoil(t *testing.T, edit func(s *data.CSVSpec)) func(r *craftedRun) {
	spec := csvSpecJSON(t, edit)
	return func(r *craftedRun) { r.meta[metaCSVSpec] = spec }
}

// imageSpoil replaces the CSV spec by an image spec.
func imageSpoil(spec string) func(r *craftedRun) {
	return func(r *craftedRun) {
		delete(r.meta, metaCSVSpec)
		r.meta[metaImageSpec] = spec
	}
}

// TestCommandsRefuseCraftedCheckpoint: eval, predict, summary and train
// --resume, run in-process on a checkpoint whose architecture names three
// 16384-wide layers (3 GB) or whose weights hold a NaN, exit 1 with one
// line naming the file, having allocated little.
func TestCommandsRefuseCraftedCheckpoint(t *testing.T) {
	huge := newCraftedRun(t)
	delete(huge.meta, metaCSVSpec)
	huge.meta[metaInputShape] = "[16384]"
	huge.meta[metaArchitecture] = "linear(16384) relu linear(16384) relu linear(16384)"
	huge.arch = huge.meta[metaArchitecture]
	hugeDir := huge.save(t)

	// train --resume builds train_config's architecture for the data.
	resumeHuge := newCraftedRun(t)
	resumeHuge.cfgArch = "linear(16384) relu linear(16384) relu linear(16384) relu linear(3)"
	resumeHugeDir := resumeHuge.save(t)

	nan := newCraftedRun(t)
	nan.model["0.weight"].Data()[5] = float32(math.NaN())
	nanDir := nan.save(t)

	csvFile := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(csvFile, []byte("1,2,3,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cmd  func(args []string, stdout, stderr *bytes.Buffer) int
		args []string
		dir  string
		want string
	}{
		{"eval", wrap(runEval), []string{hugeDir}, hugeDir, `but the model's is [16384 16384]`},
		{"predict", wrap(runPredict), []string{hugeDir, csvFile}, hugeDir, `but the model's is [16384 16384]`},
		{"summary", wrap(runSummary), []string{hugeDir}, hugeDir, `but the model's is [16384 16384]`},
		{"train", wrap(runTrain), []string{"--resume", resumeHugeDir, "--quiet"}, resumeHugeDir, `but the model's is [16384 4]`},
		{"eval", wrap(runEval), []string{nanDir}, nanDir, `tensor "0.weight" has NaN at index 5: the weights are corrupt`},
		{"predict", wrap(runPredict), []string{nanDir, csvFile}, nanDir, `has NaN at index 5`},
		{"summary", wrap(runSummary), []string{filepath.Join(nanDir, train.CheckpointFile)}, nanDir, `has NaN at index 5`},
		{"train", wrap(runTrain), []string{"--resume", nanDir, "--quiet"}, nanDir, `has NaN at index 5`},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		code := c.cmd(c.args, &stdout, &stderr)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 50<<20 {
			t.Errorf("%s %v: allocated %d MB, want under 50", c.name, c.args, alloc>>20)
		}
		msg := stderr.String()
		if code != 1 || !strings.HasPrefix(msg, "backprop "+c.name+": ") || strings.Count(msg, "\n") != 1 ||
			!strings.Contains(msg, filepath.Join(c.dir, train.CheckpointFile)) || !strings.Contains(msg, c.want) {
			t.Errorf("%s %v: exit %d, stderr %q; want exit 1 and one line naming the file and containing %q", c.name, c.args, code, msg, c.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("%s %v: printed %q on stdout", c.name, c.args, stdout.String())
		}
	}
}

func wrap(f func(args []string, stdout, stderr io.Writer) int) func(args []string, stdout, stderr *bytes.Buffer) int {
	return func(args []string, stdout, stderr *bytes.Buffer) int { return f(args, stdout, stderr) }
}

// TestCommandsLoadCheckpointWithoutNumBatchesTracked: a valid checkpoint
// whose BatchNorm lacks num_batches_tracked works with summary and
// predict.
func TestCommandsLoadCheckpointWithoutNumBatchesTracked(t *testing.T) {
	r := newCraftedRun(t)
	delete(r.model, "1.num_batches_tracked")
	dir := r.save(t)
	csvFile := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(csvFile, []byte("x1,x2,x3,x4\n1,2,3,4\n0,0,0,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runSummary([]string{dir}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "BatchNorm") {
		t.Errorf("summary: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := runPredict([]string{dir, csvFile}, &stdout, &stderr); code != 0 || strings.Count(stdout.String(), "\n") != 2 {
		t.Errorf("predict: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
