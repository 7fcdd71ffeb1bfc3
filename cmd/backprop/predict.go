package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	bpserve "github.com/backprop-go/backprop/serve"
	"github.com/backprop-go/backprop/tensor"
)

func init() {
	register("predict", "predict the class of new images or CSV rows with a trained model", runPredict)
}

// predictBatch is the number of inputs predict runs through the model at
// once: the memory of a prediction is this many inputs and their
// activations, whatever the number of rows or files.
const predictBatch = 256

// prediction is one input's result, as predict --json prints it. Numbers
// that are not finite (a model with NaN weights) are written as null.
type prediction struct {
	File  string      `json:"file"`
	Top   []classProb `json:"top,omitempty"`
	Value []jsonFloat `json:"value,omitempty"` // regression output, in the target's units
}

// classProb is a class and its probability; serve answers the same.
type classProb = bpserve.ClassProb

func runPredict(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: backprop predict CHECKPOINT FILE...\n\nCHECKPOINT is a directory written by backprop train, or its checkpoint file.\nFILE is an image (any size; resized as in training) or a CSV file of rows.\nPredictions are printed as they are made, 256 inputs at a time.\n\nFlags:")
		fs.PrintDefaults()
	}
	top := fs.Int("top", 3, "how many classes to show per input (at least 1)")
	jsonOut := fs.Bool("json", false, "print a JSON list on stdout")
	var maxPixels int
	fs.Var(maxPixelsFlag(&maxPixels), "max-pixels", maxPixelsUsage)
	weights := fs.String("weights", "", "a plain safetensors file of weights (for example one PyTorch wrote), instead of CHECKPOINT")
	arch := fs.String("arch", "", "with --weights: the architecture, a spec or a zoo name (resnet18: torchvision's names, classes from the file)")
	shape := fs.String("input-shape", "3,224,224", "with --weights: the shape of one sample")
	normalize := fs.String("normalize", "", "with --weights: imagenet, none, or MEAN,STD applied after scaling pixels to [0, 1]")
	if code, ok := parseFlags(fs, reorder(args)); !ok {
		return code
	}
	if *weights != "" {
		if *arch == "" || fs.NArg() < 1 {
			fmt.Fprintln(stderr, "backprop predict: --weights needs --arch and at least one FILE (and no CHECKPOINT)")
			return 2
		}
		m, err := loadWeights(*weights, *arch, *shape, *normalize)
		if err != nil {
			return fail(stderr, "predict", err)
		}
		return predictFiles(m, fs.Args(), *top, *jsonOut, maxPixels, stdout, stderr)
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return 2
	}
	if *top < 1 {
		return fail(stderr, "predict", usagef("--top %d: want at least 1 class per input", *top))
	}
	m, err := loadSaved(fs.Arg(0))
	if err != nil {
		return fail(stderr, "predict", err)
	}
	if m.text != nil {
		return fail(stderr, "predict", usagef("%s is a language model: backprop generate %s --prompt TEXT writes with it", m.path, fs.Arg(0)))
	}
	return predictFiles(m, fs.Args()[1:], *top, *jsonOut, maxPixels, stdout, stderr)
}

// predictFiles prints the model's predictions for files.
func predictFiles(m *savedModel, files []string, top int, jsonOut bool, maxPixels int, stdout, stderr io.Writer) int {
	p, err := newPredictor(m, top, jsonOut, stdout)
	if err != nil {
		return fail(stderr, "predict", err)
	}
	for _, file := range files {
		if err := p.file(file, maxPixels); err != nil {
			p.w.Flush() // what was predicted before the error stays printed
			return fail(stderr, "predict", err)
		}
	}
	if err := p.finish(); err != nil {
		return fail(stderr, "predict", err)
	}
	return 0
}

// predictor runs inputs through a model predictBatch at a time and writes
// each prediction as soon as its batch is done.
type predictor struct {
	m      *savedModel
	top    int
	json   bool
	w      *bufio.Writer
	size   int       // values per input
	buf    []float32 // predictBatch inputs
	names  []string  // of the inputs in buf
	listed int       // predictions written (for the JSON commas)
}

func newPredictor(m *savedModel, top int, jsonOut bool, stdout io.Writer) (*predictor, error) {
	size := data.Numel(m.shape)
	for _, d := range m.shape {
		if d < 1 {
			return nil, fmt.Errorf("%s: input shape %v: want positive dimensions", m.path, m.shape)
		}
	}
	// The spec that turns a file into features must give what the model
	// takes; a crafted checkpoint could disagree.
	if m.csv != nil && len(m.csv.FeatureColumns) != size {
		return nil, fmt.Errorf("%s: csv_spec has %d feature columns, but the input shape %v holds %d values", m.path, len(m.csv.FeatureColumns), m.shape, size)
	}
	if m.csv != nil {
		for _, j := range m.csv.FeatureColumns {
			if j < 0 || j >= len(m.csv.Columns) {
				return nil, fmt.Errorf("%s: csv_spec names feature column %d, but has %d columns: a damaged or crafted checkpoint", m.path, j, len(m.csv.Columns))
			}
		}
		if n := m.csv.Norm; n != nil && (len(n.Mean) != size || len(n.Std) != size) {
			return nil, fmt.Errorf("%s: csv_spec normalises %d features, the model takes %d: a damaged or crafted checkpoint", m.path, len(n.Mean), size)
		}
		if n := m.csv.Target; n != nil {
			if err := n.Validate(); err != nil || len(n.Mean) != 1 {
				return nil, fmt.Errorf("%s: csv_spec target_norm %v: want one finite mean and a positive std: a damaged or crafted checkpoint", m.path, *n)
			}
		}
	}
	if m.image != nil && data.Numel(m.image.Shape()) != size {
		return nil, fmt.Errorf("%s: image_spec gives %v, but the input shape is %v", m.path, m.image.Shape(), m.shape)
	}
	return &predictor{m: m, top: top, json: jsonOut, w: bufio.NewWriter(stdout), size: size, buf: make([]float32, 0, predictBatch*size)}, nil
}

// add queues one input, whose features fill writes, running the batch when
// it is full.
func (p *predictor) add(name string, fill func(x []float32) error) error {
	n := len(p.names)
	p.buf = p.buf[:(n+1)*p.size]
	if err := fill(p.buf[n*p.size:]); err != nil {
		p.buf = p.buf[:n*p.size]
		return err
	}
	p.names = append(p.names, name)
	if len(p.names) == predictBatch {
		return p.flush()
	}
	return nil
}

// flush runs the queued inputs through the model and writes their
// predictions.
func (p *predictor) flush() error {
	n := len(p.names)
	if n == 0 {
		return nil
	}
	out := p.m.model.Forward(ag.NoGraph(tensor.New(p.buf[:n*p.size], append([]int{n}, p.m.shape...)...))).Data
	k := out.Size() / n
	for i, name := range p.names {
		row := out.Data()[i*k : (i+1)*k]
		pr := prediction{File: name}
		if p.m.classes == nil {
			pr.Value = make([]jsonFloat, k)
			for j, v := range row {
				if p.m.csv != nil && k == 1 {
					v = p.m.csv.TargetValue(v) // back to the target's units
				}
				pr.Value[j] = jsonFloat(v)
			}
		} else {
			pr.Top = topClasses(row, p.m.classes, p.top)
		}
		if err := p.write(pr); err != nil {
			return err
		}
	}
	p.names, p.buf = p.names[:0], p.buf[:0]
	return nil
}

// write prints one prediction: a line of text, or an element of the JSON
// list.
func (p *predictor) write(pr prediction) error {
	if p.json {
		b, err := json.Marshal(pr)
		if err != nil {
			return err
		}
		sep := ","
		if p.listed == 0 {
			sep = "["
		}
		p.listed++
		p.w.WriteString(sep)
		_, err = p.w.Write(b)
		return err
	}
	if pr.Value != nil {
		vals := make([]string, len(pr.Value))
		for i, v := range pr.Value {
			vals[i] = strconv.FormatFloat(float64(v), 'g', 6, 32)
		}
		if c := p.m.csv; len(vals) == 1 && c != nil && c.LabelColumn >= 0 && c.LabelColumn < len(c.Columns) {
			// One target: name it, as in "houses.csv:2: price 234765".
			_, err := fmt.Fprintf(p.w, "%s: %s %s\n", pr.File, c.Columns[c.LabelColumn], vals[0])
			return err
		}
		_, err := fmt.Fprintf(p.w, "%s: [%s]\n", pr.File, strings.Join(vals, " "))
		return err
	}
	parts := make([]string, len(pr.Top))
	for i, c := range pr.Top {
		parts[i] = fmt.Sprintf("%s %.1f%%", c.Class, 100*float64(c.Probability))
	}
	_, err := fmt.Fprintf(p.w, "%s: %s\n", pr.File, strings.Join(parts, ", "))
	return err
}

// finish runs the last partial batch and ends the output.
func (p *predictor) finish() error {
	if err := p.flush(); err != nil {
		return err
	}
	if p.json {
		if p.listed == 0 {
			p.w.WriteString("[")
		}
		p.w.WriteString("]\n")
	}
	return p.w.Flush()
}

// file queues the inputs of one file: one image, or each row of a CSV file
// (named FILE:LINE). The first row of a CSV file is skipped as a header
// when it does not read as numbers; a file with no data row is an error.
func (p *predictor) file(file string, maxPixels int) error {
	m := p.m
	if strings.EqualFold(filepath.Ext(file), ".csv") {
		if m.csv == nil {
			return usagef("%s: this model was trained on images, not a CSV table", file)
		}
		f, err := data.OpenRegular(file)
		if err != nil {
			return inputError(err)
		}
		defer f.Close()
		r, err := data.NewCSVReader(f, file, 0, data.CSVLimits{})
		if err != nil {
			return err
		}
		rows := 0
		for first := true; ; first = false {
			row, line, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			var rowErr error
			err = p.add(file+":"+strconv.Itoa(line), func(x []float32) error {
				rowErr = m.csv.RowFeatures(row, x)
				return rowErr
			})
			switch {
			case rowErr != nil && first:
				continue // a header row
			case rowErr != nil:
				return fmt.Errorf("%s:%d: %w", file, line, rowErr)
			case err != nil:
				return err
			}
			rows++
		}
		if rows == 0 {
			return fmt.Errorf("%s: no data rows (an empty file, or a header alone): want rows of the %d feature columns %q", file, len(m.csv.FeatureColumns), featureNames(m.csv))
		}
		return nil
	}
	if m.image == nil {
		return usagef("%s: this model was trained on a CSV table; give it .csv rows", file)
	}
	x, err := m.image.FeaturesFromFileLimit(file, maxPixels)
	if err != nil {
		return inputError(err)
	}
	return p.add(file, func(dst []float32) error { copy(dst, x); return nil })
}

// inputError makes a FILE argument that is not a regular file a usage
// error.
func inputError(err error) error {
	if errors.Is(err, data.ErrNotRegular) {
		return usageError{err}
	}
	return err
}

// featureNames returns the names of a CSV spec's feature columns.
func featureNames(s *data.CSVSpec) []string {
	var out []string
	for _, j := range s.FeatureColumns {
		if j >= 0 && j < len(s.Columns) {
			out = append(out, s.Columns[j])
		}
	}
	return out
}

// topClasses returns the k most probable classes under softmax(logits):
// the list backprop serve answers, from the same function.
func topClasses(logits []float32, classes []string, k int) []classProb {
	return bpserve.TopClasses(logits, classes, k)
}
