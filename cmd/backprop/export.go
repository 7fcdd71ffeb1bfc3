package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/backprop-go/backprop/internal/fsutil"
	"github.com/backprop-go/backprop/onnx"
)

func init() {
	register("export", "write a trained model as an ONNX file for ONNX Runtime and other runtimes", runExport)
}

// Metadata keys export writes into the ONNX file beside architecture,
// classes, input_shape, image_spec and csv_spec (the checkpoint's JSON).
const (
	// metaOutput says what the output holds: "logits" (classification:
	// softmax gives the probabilities predict shows) or "value" (a
	// regression value, in the target's units).
	metaOutput = "output"
	// metaInput says what the input holds: "pixels" (scaled to [0, 1],
	// [C, H, W], resized as image_spec says), "features" (a CSV row's raw
	// feature columns, in csv_spec's feature order) or "values" (the
	// model's own input, not normalised inside).
	metaInput = "input"
)

const exportUsage = `Usage: backprop export RUN --onnx FILE [--overwrite]

RUN is a directory written by backprop train, or its checkpoint file.
The model is written as ONNX (opset 17) with one input "input" of shape
[N, sample shape...] (N, the batch, is dynamic) and one output "output".
The checkpoint's input normalisation is folded in as nodes: an image model
takes pixels scaled to [0, 1] ([N, C, H, W], resized to the training size),
a CSV model the raw feature columns in training order; a regression model
answers in the target's units; a classifier gives logits (softmax gives
predict's probabilities) and lists its classes in the metadata.

Flags:`

func runExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), exportUsage)
		fs.PrintDefaults()
	}
	out := fs.String("onnx", "", "the ONNX file to write (required)")
	overwrite := fs.Bool("overwrite", false, "replace the file when it exists")
	if code, ok := parseFlags(fs, exportArgs(args)); !ok {
		return code
	}
	switch {
	case fs.NArg() == 0:
		return fail(stderr, "export", usagef("no RUN given: backprop export RUN --onnx FILE"))
	case fs.NArg() > 1:
		return fail(stderr, "export", usagef("unexpected argument %q after RUN %q", fs.Arg(1), fs.Arg(0)))
	case *out == "":
		return fail(stderr, "export", usagef("no --onnx FILE given: say where to write the model"))
	}
	if err := checkExportTarget(*out, *overwrite); err != nil {
		return fail(stderr, "export", err)
	}
	m, err := loadSaved(fs.Arg(0))
	if err != nil {
		return fail(stderr, "export", err)
	}
	opts, input, err := exportOptions(m)
	if err != nil {
		return fail(stderr, "export", err)
	}
	var buf bytes.Buffer
	if err := onnx.Export(&buf, m.model, m.shape, opts...); err != nil {
		return fail(stderr, "export", fmt.Errorf("%s: %w", m.path, err))
	}
	if err := writeExport(*out, buf.Bytes(), *overwrite); err != nil {
		return fail(stderr, "export", err)
	}
	what := fmt.Sprintf("%d classes", len(m.classes))
	if m.text != nil {
		what = fmt.Sprintf("[N %d %d] (a row of logits per token)", m.text.Context, m.text.Vocab)
	} else if m.classes == nil {
		what = "regression values"
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes, ONNX opset %d): input %q [N %s] %s, output %q %s\n",
		*out, buf.Len(), onnx.Opset, onnx.InputName, strings.Trim(fmt.Sprint(m.shape), "[]"), input, onnx.OutputName, what)
	return 0
}

// exportArgs lets the flags come after RUN, as predict's do; reorder
// would read the boolean --overwrite as taking the next argument.
func exportArgs(args []string) []string {
	var bools, rest []string
	for i, a := range args {
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if name := strings.TrimLeft(a, "-"); strings.HasPrefix(a, "-") && (name == "overwrite" || strings.HasPrefix(name, "overwrite=")) {
			bools = append(bools, a)
			continue
		}
		rest = append(rest, a)
	}
	return append(bools, reorder(rest)...)
}

// exportOptions turns the checkpoint's preprocessing into export options:
// the normalisation as nodes, the regression target's de-standardisation
// at the end, and the metadata. It returns what the input holds.
func exportOptions(m *savedModel) ([]onnx.Option, string, error) {
	meta := map[string]string{metaArchitecture: m.arch}
	put := func(k string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s: metadata %q: %w", m.path, k, err)
		}
		meta[k] = string(b)
		return nil
	}
	var opts []onnx.Option
	input := "values"
	if err := put(metaInputShape, m.shape); err != nil {
		return nil, "", err
	}
	meta[metaOutput] = "logits"
	if m.classes == nil {
		meta[metaOutput] = "value"
	} else if err := put(metaClasses, m.classes); err != nil {
		return nil, "", err
	}
	switch {
	case m.image != nil:
		input = "pixels"
		if n := m.image.Norm; n != nil {
			opts = append(opts, onnx.Normalize(n.Mean, n.Std))
		}
		if err := put(metaImageSpec, m.image); err != nil {
			return nil, "", err
		}
	case m.text != nil:
		// A language model: token ids in, one row of logits per token
		// out; the tokenizer travels in the metadata.
		input, meta[metaOutput] = "token ids", "next-token logits"
		if err := put(metaTextSpec, m.text); err != nil {
			return nil, "", err
		}
	case m.csv != nil:
		input = "features"
		if n := m.csv.Norm; n != nil {
			opts = append(opts, onnx.Normalize(n.Mean, n.Std))
		}
		// A regression model's network predicts the standardised target;
		// predict maps it back with TargetValue, the file does it with
		// Mul and Add.
		if t := m.csv.Target; t != nil && m.classes == nil {
			if err := t.Validate(); err != nil || len(t.Mean) != 1 {
				return nil, "", fmt.Errorf("%s: csv_spec target_norm %v: want one finite mean and a positive std: a damaged or crafted checkpoint", m.path, *t)
			}
			opts = append(opts, onnx.Denormalize(t.Mean, t.Std))
		}
		if err := put(metaCSVSpec, m.csv); err != nil {
			return nil, "", err
		}
	}
	meta[metaInput] = input
	return append(opts, onnx.Metadata(meta)), input, nil
}

// checkExportTarget refuses, before the checkpoint is read, a file that
// exists (without overwrite) or a directory.
func checkExportTarget(path string, overwrite bool) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--onnx %s: %w", path, err)
	case info.IsDir():
		return usagef("--onnx %s is a directory: give a file name such as %s", path, filepath.Join(path, "model.onnx"))
	case !overwrite:
		return usagef("--onnx %s already exists: replace it with --overwrite, or choose another file", path)
	}
	return nil
}

// writeExport writes the file whole or not at all: to a temporary file
// beside it, renamed over it; without overwrite, the name is claimed by
// creating it exclusively, so that a file made since the check survives.
func writeExport(path string, b []byte, overwrite bool) error {
	if !overwrite {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			return usagef("--onnx %s already exists: replace it with --overwrite, or choose another file", path)
		}
		if err != nil {
			return fmt.Errorf("--onnx: %w", err)
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return fmt.Errorf("--onnx: %w", err)
		}
		return nil
	}
	err := fsutil.WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("--onnx: %w", err)
	}
	return nil
}
