package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

func init() {
	register("predict", "predict the class of new images or CSV rows with a trained model", runPredict)
}

// prediction is one input's result, as predict --json prints it.
type prediction struct {
	File  string      `json:"file"`
	Top   []classProb `json:"top,omitempty"`
	Value []float32   `json:"value,omitempty"` // regression output
}

type classProb struct {
	Class       string  `json:"class"`
	Probability float64 `json:"probability"`
}

func runPredict(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: backprop predict CHECKPOINT FILE...\n\nCHECKPOINT is a directory written by backprop train, or its checkpoint file.\nFILE is an image (any size; resized as in training) or a CSV file of rows.\n\nFlags:")
		fs.PrintDefaults()
	}
	top := fs.Int("top", 3, "how many classes to show per input")
	jsonOut := fs.Bool("json", false, "print a JSON list on stdout")
	if code, ok := parseFlags(fs, reorder(args)); !ok {
		return code
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return 2
	}
	m, err := loadSaved(fs.Arg(0))
	if err != nil {
		return fail(stderr, "predict", err)
	}
	var names []string
	var inputs [][]float32
	for _, file := range fs.Args()[1:] {
		n, x, err := readInputs(m, file)
		if err != nil {
			return fail(stderr, "predict", err)
		}
		names, inputs = append(names, n...), append(inputs, x...)
	}
	size := tensor.Zeros(m.shape...).Size()
	batch := tensor.Zeros(append([]int{len(inputs)}, m.shape...)...)
	for i, x := range inputs {
		copy(batch.Data()[i*size:(i+1)*size], x)
	}
	var out *tensor.Tensor
	ag.NoGrad(func() { out = m.model.Forward(ag.Const(batch)).Data })
	preds := make([]prediction, len(inputs))
	k := out.Size() / max(len(inputs), 1)
	for i := range inputs {
		row := out.Data()[i*k : (i+1)*k]
		preds[i] = prediction{File: names[i]}
		if m.classes == nil {
			preds[i].Value = append([]float32(nil), row...)
			continue
		}
		preds[i].Top = topClasses(row, m.classes, *top)
	}
	if *jsonOut {
		if err := json.NewEncoder(stdout).Encode(preds); err != nil {
			return fail(stderr, "predict", err)
		}
		return 0
	}
	for _, p := range preds {
		if p.Value != nil {
			fmt.Fprintf(stdout, "%s: %v\n", p.File, p.Value)
			continue
		}
		var parts []string
		for _, c := range p.Top {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", c.Class, 100*c.Probability))
		}
		fmt.Fprintf(stdout, "%s: %s\n", p.File, strings.Join(parts, ", "))
	}
	return 0
}

// readInputs turns a file into model inputs: one per image, or one per row
// of a CSV file (named FILE:LINE).
func readInputs(m *savedModel, file string) ([]string, [][]float32, error) {
	if strings.EqualFold(filepath.Ext(file), ".csv") {
		if m.csv == nil {
			return nil, nil, usagef("%s: this model was trained on images, not a CSV table", file)
		}
		f, err := os.Open(file)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		var names []string
		var xs [][]float32
		for line := 1; ; line++ {
			row, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", file, err)
			}
			x := make([]float32, len(m.csv.FeatureColumns))
			if err := m.csv.RowFeatures(row, x); err != nil {
				if line == 1 {
					continue // a header row
				}
				return nil, nil, fmt.Errorf("%s:%d: %w", file, line, err)
			}
			names, xs = append(names, file+":"+strconv.Itoa(line)), append(xs, x)
		}
		return names, xs, nil
	}
	if m.image == nil {
		return nil, nil, usagef("%s: this model was trained on a CSV table; give it .csv rows", file)
	}
	x, err := m.image.FeaturesFromFile(file)
	if err != nil {
		return nil, nil, err
	}
	return []string{file}, [][]float32{x}, nil
}

// topClasses returns the k most probable classes under softmax(logits).
func topClasses(logits []float32, classes []string, k int) []classProb {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var sum float64
	probs := make([]float64, len(logits))
	for i, v := range logits {
		probs[i] = math.Exp(float64(v) - m)
		sum += probs[i]
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	var out []classProb
	for _, i := range idx[:min(k, len(idx))] {
		name := strconv.Itoa(i)
		if i < len(classes) {
			name = classes[i]
		}
		out = append(out, classProb{Class: name, Probability: probs[i] / sum})
	}
	return out
}
