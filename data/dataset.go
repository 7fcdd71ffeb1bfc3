// Package data brings real data into backprop: the MNIST and Fashion-MNIST
// data sets (IDX files fetched once into a checksummed cache), folders of
// images in torchvision's ImageFolder layout, and CSV tables; seeded splits;
// training-time augmentation; and a Loader that shuffles, batches and decodes
// in parallel goroutines.
//
// # Data sets
//
// Every data set implements [Dataset]: a fixed number of samples, each with
// features of one fixed shape (for example [1, 28, 28] for MNIST, [3, H, W]
// for colour images, [F] for a CSV table) and a target, either a class index
// (classification, [Dataset.Classes] non-nil) or a vector of floats
// (regression, [Dataset.TargetSize] > 0).
//
// Features come out as the network sees them: MNIST pixels scaled to [0, 1]
// (and nothing else, as torchvision's ToTensor does), image-folder pixels
// scaled to [0, 1] and then normalised with the per-channel statistics of
// the training split when asked for, CSV columns standardised with the
// statistics of the training split. The preprocessing a data set applies is
// described by a value that a checkpoint can store ([ImageSpec], [CSVSpec],
// [Normalization]) and that turns a new file or row into features exactly as
// at training time, for prediction.
//
// # Loading
//
// A [Loader] cuts a Dataset into [Batch]es: seeded shuffling each epoch,
// the last partial batch kept or dropped, samples decoded by a pool of
// goroutines a few batches ahead of the consumer. An epoch is a Go 1.23
// iterator: for b, err := range loader.Epoch(e). Batch buffers are
// allocated once per Loader and reused: a Batch is valid until the loop
// body that received it returns (Batch.Clone keeps one).
//
// # Randomness
//
// All randomness is seeded and does not depend on goroutine scheduling: the
// order of epoch e depends only on the Loader's seed and e, and the
// augmentation of a sample depends only on the seed, the epoch and the
// sample's index. Running the same seed twice gives the same batches bit for
// bit, and a run resumed at epoch e sees the batches the first run would
// have seen.
//
// # Limits
//
// What a small input can make the package allocate is bounded: a CSV line
// is refused beyond [DefaultMaxLineBytes] and a row beyond
// [DefaultMaxFields] fields ([CSVLimits]); CSV rows are parsed into float32
// as they are read, never held as strings; an image whose header declares
// more than [DefaultMaxPixels] pixels is refused before it is decoded
// ([ImageConfig].MaxPixels raises it); only regular files (or links to
// them) are opened, so a named pipe cannot block a read.
//
// # Errors
//
// Bad input is reported as error values that name the file and, where it
// makes sense, the line and column or byte offset, and what was expected
// ([FileError], [ChecksumError], [FetchError]).
package data

import (
	"fmt"
	"math/rand/v2"
)

// Dataset is an indexed collection of samples of one feature shape.
//
// Implementations must allow concurrent calls to Sample from several
// goroutines as long as each call has its own x and target buffers: the
// Loader decodes samples in parallel.
type Dataset interface {
	// Len returns the number of samples.
	Len() int

	// Shape returns the shape of one sample's features, without the batch
	// dimension (for example [1, 28, 28]). The caller must not modify it.
	Shape() []int

	// Classes returns the class names of a classification data set, indexed
	// by label, or nil for a regression data set.
	Classes() []string

	// TargetSize returns the number of regression targets per sample, or 0
	// for a classification data set.
	TargetSize() int

	// Sample writes the features of sample i into x, which must hold
	// exactly the product of Shape() elements, and for regression the
	// targets into target, which must hold TargetSize() elements (it may be
	// nil for classification). It returns the class label, or -1 for
	// regression.
	//
	// rng is the source for training-time augmentation: nil asks for the
	// deterministic sample (evaluation, prediction); a data set without
	// augmentation ignores it. The Loader passes a generator seeded from
	// (seed, epoch, i).
	Sample(i int, rng *rand.Rand, x, target []float32) (label int, err error)
}

// Field describes a named field of a FieldDataset's samples: a float or
// integer tensor of a fixed shape per sample (without the batch
// dimension). The names "x", "targets" and "labels" are taken by the
// fields every Dataset has.
type Field struct {
	Name  string
	Int   bool // int64 values (token ids, sequence targets), an Int64 tensor in Batch.Ints; float32 otherwise
	Shape []int
}

// FieldValues holds the buffers of one sample's named fields, which
// FieldDataset.SampleFields fills: each has exactly the product of its
// Field's Shape elements.
type FieldValues struct {
	Floats map[string][]float32
	Ints   map[string][]int64
}

// FieldDataset is a Dataset whose samples carry named fields besides the
// features and the target: masks, second inputs, integer token ids and
// sequence targets. A Loader over one fills Batch.Floats and Batch.Ints.
// (Sample must still work; the Loader calls only SampleFields.)
type FieldDataset interface {
	Dataset
	// Fields lists the named fields, in a fixed order.
	Fields() []Field
	// SampleFields is Sample that also writes the named fields of sample
	// i into f. The same concurrency rules apply.
	SampleFields(i int, rng *rand.Rand, x, target []float32, f FieldValues) (label int, err error)
}

// Numel returns the number of elements of a tensor of the given shape: the
// product of its dimensions (1 for an empty shape).
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// FileError reports bad content in a file: its name, where in it (a line
// and column for text files, a byte offset for binary ones), and what was
// wrong or expected.
type FileError struct {
	File   string // the file's name or path as given
	Line   int    // 1-based line for text files; 0 when not applicable
	Column int    // 1-based column (field) for CSV files; 0 when not applicable
	Offset int64  // byte offset for binary files; -1 when not applicable
	Err    error  // what was wrong
}

// Error formats the error as "file:line: column c: what", "file: byte n:
// what" or "file: what".
func (e *FileError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d: column %d: %v", e.File, e.Line, e.Column, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.Offset >= 0:
		return fmt.Sprintf("%s: byte %d: %v", e.File, e.Offset, e.Err)
	default:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

func fileErr(file string, offset int64, format string, args ...any) error {
	return &FileError{File: file, Offset: offset, Err: fmt.Errorf(format, args...)}
}

// checkBuffers panics when the caller's buffers do not fit the data set: a
// programming error, not bad data.
func checkBuffers(where string, i, n int, x []float32, size int, target []float32, tsize int) {
	if i < 0 || i >= n {
		panic(fmt.Sprintf("data: %s.Sample: index %d out of range [0, %d)", where, i, n))
	}
	if len(x) != size {
		panic(fmt.Sprintf("data: %s.Sample: x has %d elements, want %d", where, len(x), size))
	}
	if tsize > 0 && len(target) != tsize {
		panic(fmt.Sprintf("data: %s.Sample: target has %d elements, want %d", where, len(target), tsize))
	}
}
