package data

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// CSVHeader says whether the first row of a CSV file names the columns.
type CSVHeader int

// The header modes. HeaderAuto takes the first row as a header when one of
// its fields is not a number where the second row has a number.
const (
	HeaderAuto CSVHeader = iota
	HeaderPresent
	HeaderAbsent
)

// CSVConfig configures CSV. The zero value reads a comma-separated file
// with header detection, the last column as class label, standardised
// features and a seeded 20% test split.
type CSVConfig struct {
	Comma  rune      // field separator; default ','
	Header CSVHeader // default HeaderAuto

	// Label is the target column: a name from the header, or else an index
	// (0 for the first column, -1 for the last). Default: the last column.
	// Every other column is a feature and must hold numbers.
	Label string

	// Regression makes the label column a numeric target (TargetSize 1);
	// otherwise its values, numbers or strings, are class names.
	Regression bool

	// NoStandardize keeps features (and a regression target) as they are;
	// otherwise each is standardised with the mean and standard deviation
	// of the training split only (never the test or validation rows). A
	// standardised target is what the network learns; CSVSpec.Target maps
	// its outputs back to the target's units.
	NoStandardize bool

	// Norm and TargetNorm, when set, standardise the features and the
	// regression target instead of the training split's statistics: to
	// evaluate a trained model on a new file as it was trained.
	Norm, TargetNorm *Normalization

	// Limits caps the bytes of a line and the fields of a row.
	Limits CSVLimits

	// Split chooses the test (and validation) rows; classification splits
	// are stratified by class.
	Split SplitConfig
}

// CSVSpec describes how a row of the training file becomes features: the
// columns, which are features and which the label, the class names and the
// standardisation of the training split. A checkpoint stores it so that
// prediction reads new rows as training did.
type CSVSpec struct {
	Columns        []string       `json:"columns"`         // names of all columns ("column 1"… without a header)
	FeatureColumns []int          `json:"feature_columns"` // indices of the feature columns, in feature order
	LabelColumn    int            `json:"label_column"`    // index of the label column
	Classes        []string       `json:"classes,omitempty"`
	Norm           *Normalization `json:"norm,omitempty"` // one channel per feature; nil when not standardised
	// Target is the standardisation of a regression target (one channel):
	// the network predicts (y - Mean) / Std, and TargetValue maps an output
	// back to y. Nil for classification or an unstandardised target.
	Target *Normalization `json:"target_norm,omitempty"`
}

// TargetValue maps a network output back to the regression target's
// units (the identity without a target standardisation).
func (s *CSVSpec) TargetValue(out float32) float32 {
	if s.Target == nil || len(s.Target.Mean) != 1 || len(s.Target.Std) != 1 {
		return out
	}
	return out*s.Target.Std[0] + s.Target.Mean[0]
}

// RowFeatures parses a row into x (len(FeatureColumns) values) and
// standardises it. The row may be a full row of the training file (its
// label column is ignored) or hold the feature columns only, in order.
func (s *CSVSpec) RowFeatures(row []string, x []float32) error {
	if len(x) != len(s.FeatureColumns) {
		return fmt.Errorf("data: CSVSpec.RowFeatures: x has %d elements, want %d", len(x), len(s.FeatureColumns))
	}
	cols := s.FeatureColumns
	for _, j := range cols {
		// A crafted checkpoint may name a column that is not there.
		if j < 0 || j >= len(s.Columns) {
			return fmt.Errorf("data: CSVSpec: feature column %d does not exist: the spec has %d columns", j, len(s.Columns))
		}
	}
	if s.Norm != nil && (len(s.Norm.Mean) != len(x) || len(s.Norm.Std) != len(x)) {
		return fmt.Errorf("data: CSVSpec: normalisation has %d means and %d standard deviations for %d features", len(s.Norm.Mean), len(s.Norm.Std), len(x))
	}
	switch len(row) {
	case len(s.Columns):
	case len(s.FeatureColumns):
		cols = nil
	default:
		return fmt.Errorf("data: row has %d fields, want %d (all columns) or %d (features only)", len(row), len(s.Columns), len(s.FeatureColumns))
	}
	for k := range x {
		j := k
		if cols != nil {
			j = cols[k]
		}
		v, err := parseNumber(row[j])
		if err != nil {
			return fmt.Errorf("data: field %d (column %q): %w", j+1, s.Columns[s.FeatureColumns[k]], err)
		}
		x[k] = v
	}
	if s.Norm != nil {
		s.Norm.Apply(x)
	}
	return nil
}

func parseNumber(field string) (float32, error) {
	f := strings.TrimSpace(field)
	v, err := strconv.ParseFloat(f, 32)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a finite number, got %q", field)
	}
	return float32(v), nil
}

// parseNumberBytes is parseNumber of a field the CSV scanner holds; it
// does not allocate (the string conversion of a short, non-escaping field
// is made on the stack).
func parseNumberBytes(field []byte) (float32, error) {
	f := bytes.TrimSpace(field)
	v, err := strconv.ParseFloat(string(f), 32)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a finite number, got %q", field)
	}
	return float32(v), nil
}

func isNumberBytes(field []byte) bool {
	_, err := parseNumberBytes(field)
	return err == nil
}

func isNumber(field string) bool {
	_, err := parseNumber(field)
	return err == nil
}

// CSVData is what CSV returns: the splits and the CSVSpec of the table.
type CSVData struct {
	Splits
	Spec CSVSpec
}

// Errors wrapped by CSV and ImageFolder for data that cannot train a
// classifier, so that a caller can tell them from a corrupt file (errors.Is).
var (
	// ErrLabelColumn: CSVConfig.Label names no column of the file.
	ErrLabelColumn = errors.New("no such label column")
	// ErrOneClass: every sample has the same class.
	ErrOneClass = errors.New("a classifier needs at least two classes")
	// ErrLabelLooksLikeID: the label column has more distinct values than
	// half the rows (and more than MaxIDLikeClasses), as an identifier has.
	ErrLabelLooksLikeID = errors.New("it looks like an identifier, not a class")
	// ErrFeatureCount: CSVConfig.Norm (a model's statistics) has another
	// number of features than the file.
	ErrFeatureCount = errors.New("the number of features differs from the model's")
)

// MaxIDLikeClasses is the number of classes up to which a label column is
// accepted however few rows share each class; above it, a column with more
// distinct values than half the rows is refused as an identifier
// (ErrLabelLooksLikeID). A small table with a class per few rows is
// plausible; 30,000 classes in 30,000 rows is a row number.
const MaxIDLikeClasses = 32

// labelError is a bad CSVConfig.Label; it matches ErrLabelColumn.
type labelError struct{ msg string }

func (e *labelError) Error() string        { return e.msg }
func (e *labelError) Is(target error) bool { return target == ErrLabelColumn }

// CSV reads a table from a CSV file: one sample per row, numeric feature
// columns (shape [F]) and one label column (see CSVConfig). Errors name the
// file, the line and the column, and say what was expected. Empty fields,
// "NA" and NaN are refused, not guessed at. The file must be a regular
// file (or a link to one).
func CSV(path string, cfg CSVConfig) (*CSVData, error) {
	f, err := openRegular(path)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ReadCSV(f, path, cfg)
}

// ReadCSV is CSV reading from r; name is used in error messages. Rows are
// parsed into float32 as they are read, one record at a time: memory is the
// parsed table (4 bytes a value) and one record, whatever the file's size.
func ReadCSV(r io.Reader, name string, cfg CSVConfig) (*CSVData, error) {
	if err := cfg.Split.validate(); err != nil {
		return nil, err
	}
	sc, err := newCSVScanner(r, name, cfg.Comma, cfg.Limits)
	if err != nil {
		return nil, err
	}
	if err := sc.next(); err == io.EOF {
		return nil, &FileError{File: name, Offset: -1, Err: errors.New("no rows")}
	} else if err != nil {
		return nil, err
	}
	ncols := sc.fields()
	first := make([]string, ncols) // the first record, which may be the header
	for j := range first {
		first[j] = string(sc.field(j))
	}
	firstLine := sc.line
	second := sc.next()
	if second != nil && second != io.EOF {
		return nil, second
	}
	if second == nil && sc.fields() != ncols {
		return nil, &FileError{File: name, Line: sc.line, Offset: -1, Err: wrongFields(sc.fields(), ncols)}
	}
	header := cfg.Header == HeaderPresent
	if cfg.Header == HeaderAuto && second == nil {
		for j := range ncols {
			if !isNumber(first[j]) && isNumberBytes(sc.field(j)) {
				header = true
				break
			}
		}
	}
	cols := make([]string, ncols)
	for j := range cols {
		cols[j] = fmt.Sprintf("column %d", j+1)
		if header {
			cols[j] = strings.TrimSpace(first[j])
		}
	}
	if header && second == io.EOF {
		return nil, &FileError{File: name, Offset: -1, Err: errors.New("no data rows after the header")}
	}
	if ncols < 2 {
		return nil, &FileError{File: name, Line: firstLine, Offset: -1, Err: fmt.Errorf("%d column: want at least one feature column and a label column", ncols)}
	}
	label, err := labelColumn(cfg.Label, cols, header)
	if err != nil {
		return nil, &FileError{File: name, Offset: -1, Err: err}
	}
	spec := CSVSpec{Columns: cols, LabelColumn: label}
	for j := range ncols {
		if j != label {
			spec.FeatureColumns = append(spec.FeatureColumns, j)
		}
	}
	nf := len(spec.FeatureColumns)
	tab := &csvTable{nf: nf, feats: newChunked(nf)}
	// Class names in order of first appearance; sorted (and the labels
	// renumbered) once the file is read.
	classIndex := map[string]int32{}
	var classNames []string
	addRow := func(field func(int) []byte, line int) error {
		for _, j := range spec.FeatureColumns {
			v, err := parseNumberBytes(field(j))
			if err != nil {
				return &FileError{File: name, Line: line, Column: j + 1, Offset: -1,
					Err: fmt.Errorf("feature %q: %w", cols[j], err)}
			}
			tab.feats.append(v)
		}
		f := field(label)
		if cfg.Regression {
			if tab.targets == nil {
				tab.targets = newChunked(1)
			}
			v, err := parseNumberBytes(f)
			if err != nil {
				return &FileError{File: name, Line: line, Column: label + 1, Offset: -1,
					Err: fmt.Errorf("regression target %q: %w", cols[label], err)}
			}
			tab.targets.append(v)
			return nil
		}
		f = bytes.TrimSpace(f)
		if len(f) == 0 {
			return &FileError{File: name, Line: line, Column: label + 1, Offset: -1,
				Err: fmt.Errorf("label %q: empty", cols[label])}
		}
		c, ok := classIndex[string(f)] // the lookup does not allocate
		if !ok {
			c = int32(len(classNames))
			classNames = append(classNames, string(f))
			classIndex[classNames[c]] = c
		}
		tab.labels = append(tab.labels, c)
		return nil
	}
	if !header {
		if err := addRow(func(j int) []byte { return []byte(first[j]) }, firstLine); err != nil {
			return nil, err
		}
	}
	for err := second; err != io.EOF; err = sc.next() {
		if err != nil {
			return nil, err
		}
		if sc.fields() != ncols {
			return nil, &FileError{File: name, Line: sc.line, Offset: -1, Err: wrongFields(sc.fields(), ncols)}
		}
		if err := addRow(sc.field, sc.line); err != nil {
			return nil, err
		}
	}
	var nrows int
	if cfg.Regression {
		nrows = tab.targets.rows()
	} else {
		nrows = len(tab.labels)
		if err := checkClasses(name, cols[label], classNames, nrows); err != nil {
			return nil, err
		}
		spec.Classes = sortClasses(classNames)
		renumber := make([]int32, len(classNames))
		for c, n := range spec.Classes {
			renumber[classIndex[n]] = int32(c)
		}
		for i, l := range tab.labels {
			tab.labels[i] = renumber[l]
		}
	}

	all := make([]int, nrows)
	for i := range all {
		all[i] = i
	}
	var train, val, test []int
	if cfg.Regression {
		train, val, test = cfg.Split.split(all, false)
	} else {
		train, val, test = stratifiedSplit(cfg.Split, tab.labels, len(spec.Classes))
	}
	if len(train) == 0 {
		return nil, &FileError{File: name, Offset: -1, Err: fmt.Errorf("%d data rows leave none for training after the split", nrows)}
	}
	switch {
	case cfg.Norm != nil:
		if err := cfg.Norm.Validate(); err != nil {
			return nil, err
		}
		if len(cfg.Norm.Mean) != nf {
			return nil, &FileError{File: name, Offset: -1, Err: fmt.Errorf("%d feature columns, the given normalisation %d: %w", nf, len(cfg.Norm.Mean), ErrFeatureCount)}
		}
		spec.Norm = cfg.Norm
	case !cfg.NoStandardize:
		spec.Norm = tab.standardization(train)
	}
	if cfg.Regression {
		switch {
		case cfg.TargetNorm != nil:
			if err := cfg.TargetNorm.Validate(); err != nil {
				return nil, err
			}
			if len(cfg.TargetNorm.Mean) != 1 {
				return nil, fmt.Errorf("data: %s: the given target normalisation has %d values, want 1", name, len(cfg.TargetNorm.Mean))
			}
			spec.Target = cfg.TargetNorm
		case !cfg.NoStandardize:
			spec.Target = meanStd(tab.targets, train)
		}
	}
	data := &CSVData{Spec: spec}
	mk := func(rows []int) Dataset {
		return &csvDataset{tab: tab, rows: rows, shape: []int{nf}, classes: spec.Classes, norm: spec.Norm, target: spec.Target}
	}
	data.Train = mk(train)
	if val != nil {
		data.Val = mk(val)
	}
	if test != nil {
		data.Test = mk(test)
	}
	return data, nil
}

// errWrongFields is encoding/csv's word for a ragged row.
var errWrongFields = errors.New("wrong number of fields")

// wrongFields says how a ragged row differs from the first one.
func wrongFields(got, want int) error {
	return fmt.Errorf("%w: the row has %d, the first row %d", errWrongFields, got, want)
}

// checkClasses refuses a label column that cannot train a classifier: one
// class, or as many classes as an identifier column has.
func checkClasses(file, column string, names []string, rows int) error {
	switch {
	case len(names) == 1:
		return &FileError{File: file, Offset: -1,
			Err: fmt.Errorf("label column %q holds one value, %q, in all %d rows: %w", column, names[0], rows, ErrOneClass)}
	case len(names) > MaxIDLikeClasses && 2*len(names) > rows:
		return &FileError{File: file, Offset: -1,
			Err: fmt.Errorf("label column %q has %d distinct values in %d rows: %w", column, len(names), rows, ErrLabelLooksLikeID)}
	}
	return nil
}

// labelColumn resolves CSVConfig.Label.
func labelColumn(label string, cols []string, header bool) (int, error) {
	if label == "" {
		return len(cols) - 1, nil
	}
	if header {
		if j := slices.Index(cols, label); j >= 0 {
			return j, nil
		}
		for j, c := range cols {
			if strings.EqualFold(c, label) {
				return j, nil
			}
		}
	}
	if j, err := strconv.Atoi(label); err == nil {
		if j < 0 {
			j += len(cols)
		}
		if j >= 0 && j < len(cols) {
			return j, nil
		}
		return 0, &labelError{fmt.Sprintf("label column index %s out of range for %d columns", label, len(cols))}
	}
	if !header {
		return 0, &labelError{fmt.Sprintf("label column %q: the file has no header, give an index", label)}
	}
	return 0, &labelError{fmt.Sprintf("label column %q not found; columns are %q", label, cols)}
}

// sortClasses returns the distinct names, in numeric order when all are
// numbers (so that labels 0…9 keep their values), else in string order.
func sortClasses(names []string) []string {
	cls := slices.Clone(names)
	slices.Sort(cls)
	cls = slices.Compact(cls)
	numeric := true
	vals := map[string]float64{}
	for _, c := range cls {
		v, err := strconv.ParseFloat(c, 64)
		if err != nil {
			numeric = false
			break
		}
		vals[c] = v
	}
	if numeric {
		slices.SortStableFunc(cls, func(a, b string) int {
			switch {
			case vals[a] < vals[b]:
				return -1
			case vals[a] > vals[b]:
				return 1
			}
			return strings.Compare(a, b)
		})
	}
	return cls
}

// csvTable holds the parsed rows: nf features each, and a label or a target.
type csvTable struct {
	nf      int
	feats   *chunked
	labels  []int32
	targets *chunked // nil for classification
}

// standardization computes each feature's mean and standard deviation over
// the given rows (see meanStd).
func (t *csvTable) standardization(rows []int) *Normalization {
	return meanStd(t.feats, rows)
}

// meanStd returns the mean and standard deviation of each column of vals
// over the given rows, in two passes (float64); a constant column gets
// std 1.
func meanStd(vals *chunked, rows []int) *Normalization {
	nf := vals.width
	n := &Normalization{Mean: make([]float32, nf), Std: make([]float32, nf)}
	for k := range nf {
		var sum float64
		for _, r := range rows {
			sum += float64(vals.row(r)[k])
		}
		mean := sum / float64(len(rows))
		var ss float64
		for _, r := range rows {
			d := float64(vals.row(r)[k]) - mean
			ss += d * d
		}
		std := math.Sqrt(ss / float64(len(rows)))
		s32 := float32(std)
		if !(std > 1e-12) || s32 == 0 || math.IsInf(float64(s32), 0) {
			s32 = 1
		}
		n.Mean[k], n.Std[k] = float32(mean), s32
	}
	return n
}

// chunked is a growing table of float32 rows of a fixed width, kept in
// chunks of a fixed size so that growing it never copies: a slice grown by
// append allocates about 5× its final size on the way (it grows by 1.25×
// when large), which for a 100 MB CSV is the difference that matters.
type chunked struct {
	width, perChunk int // values a row, rows a chunk
	chunks          [][]float32
	n               int // rows
}

// chunkValues is the number of values a chunk holds (256 KiB).
const chunkValues = 1 << 16

func newChunked(width int) *chunked {
	return &chunked{width: width, perChunk: max(1, chunkValues/max(width, 1))}
}

// append adds one value; width of them make a row.
func (c *chunked) append(v float32) {
	last := len(c.chunks) - 1
	if last < 0 || len(c.chunks[last]) == cap(c.chunks[last]) {
		c.chunks = append(c.chunks, make([]float32, 0, c.perChunk*c.width))
		last++
	}
	c.chunks[last] = append(c.chunks[last], v)
	if len(c.chunks[last])%c.width == 0 {
		c.n++
	}
}

// rows returns the number of complete rows.
func (c *chunked) rows() int { return c.n }

// row returns row r; the caller must not modify it.
func (c *chunked) row(r int) []float32 {
	ch, off := r/c.perChunk, (r%c.perChunk)*c.width
	return c.chunks[ch][off : off+c.width : off+c.width]
}

// csvDataset is one split of a CSV table.
type csvDataset struct {
	tab     *csvTable
	rows    []int
	shape   []int
	classes []string
	norm    *Normalization
	target  *Normalization // regression: the target's standardisation, or nil
}

func (d *csvDataset) Len() int          { return len(d.rows) }
func (d *csvDataset) Shape() []int      { return d.shape }
func (d *csvDataset) Classes() []string { return d.classes }
func (d *csvDataset) TargetSize() int {
	if d.tab.targets != nil {
		return 1
	}
	return 0
}

func (d *csvDataset) Sample(i int, rng *rand.Rand, x, target []float32) (int, error) {
	checkBuffers("CSV", i, len(d.rows), x, d.tab.nf, target, d.TargetSize())
	r := d.rows[i]
	copy(x, d.tab.feats.row(r))
	if d.norm != nil {
		d.norm.Apply(x)
	}
	if d.tab.targets != nil {
		target[0] = d.tab.targets.row(r)[0]
		if d.target != nil {
			target[0] = (target[0] - d.target.Mean[0]) / d.target.Std[0]
		}
		return -1, nil
	}
	return int(d.tab.labels[r]), nil
}
