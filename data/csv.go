package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
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

	// NoStandardize keeps features as they are; otherwise each is
	// standardised with the mean and standard deviation of the training
	// split only (never the test or validation rows).
	NoStandardize bool

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
}

// RowFeatures parses a row into x (len(FeatureColumns) values) and
// standardises it. The row may be a full row of the training file (its
// label column is ignored) or hold the feature columns only, in order.
func (s *CSVSpec) RowFeatures(row []string, x []float32) error {
	if len(x) != len(s.FeatureColumns) {
		return fmt.Errorf("data: CSVSpec.RowFeatures: x has %d elements, want %d", len(x), len(s.FeatureColumns))
	}
	cols := s.FeatureColumns
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

func isNumber(field string) bool {
	_, err := parseNumber(field)
	return err == nil
}

// CSVData is what CSV returns: the splits and the CSVSpec of the table.
type CSVData struct {
	Splits
	Spec CSVSpec
}

// CSV reads a table from a CSV file: one sample per row, numeric feature
// columns (shape [F]) and one label column (see CSVConfig). Errors name the
// file, the line and the column, and say what was expected. Empty fields,
// "NA" and NaN are refused, not guessed at.
func CSV(path string, cfg CSVConfig) (*CSVData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ReadCSV(f, path, cfg)
}

// ReadCSV is CSV reading from r; name is used in error messages.
func ReadCSV(r io.Reader, name string, cfg CSVConfig) (*CSVData, error) {
	if err := cfg.Split.validate(); err != nil {
		return nil, err
	}
	cr := csv.NewReader(r)
	if cfg.Comma != 0 {
		cr.Comma = cfg.Comma
	}
	cr.ReuseRecord = false
	var rows [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &FileError{File: name, Line: pe.Line, Column: 0, Offset: -1, Err: pe.Err}
			}
			return nil, &FileError{File: name, Offset: -1, Err: err}
		}
		line, _ := cr.FieldPos(0)
		rows = append(rows, rec)
		lines = append(lines, line)
	}
	if len(rows) == 0 {
		return nil, &FileError{File: name, Offset: -1, Err: errors.New("no rows")}
	}
	ncols := len(rows[0])
	header := cfg.Header == HeaderPresent
	if cfg.Header == HeaderAuto && len(rows) > 1 {
		for j := range ncols {
			if !isNumber(rows[0][j]) && isNumber(rows[1][j]) {
				header = true
				break
			}
		}
	}
	cols := make([]string, ncols)
	for j := range cols {
		cols[j] = fmt.Sprintf("column %d", j+1)
		if header {
			cols[j] = strings.TrimSpace(rows[0][j])
		}
	}
	if header {
		rows, lines = rows[1:], lines[1:]
	}
	if len(rows) == 0 {
		return nil, &FileError{File: name, Offset: -1, Err: errors.New("no data rows after the header")}
	}
	if ncols < 2 {
		return nil, &FileError{File: name, Line: lines[0], Offset: -1, Err: fmt.Errorf("%d column: want at least one feature column and a label column", ncols)}
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
	tab := &csvTable{nf: nf, feats: make([]float32, len(rows)*nf)}
	for i, row := range rows {
		for k, j := range spec.FeatureColumns {
			v, err := parseNumber(row[j])
			if err != nil {
				return nil, &FileError{File: name, Line: lines[i], Column: j + 1, Offset: -1,
					Err: fmt.Errorf("feature %q: %w", cols[j], err)}
			}
			tab.feats[i*nf+k] = v
		}
	}
	if cfg.Regression {
		tab.targets = make([]float32, len(rows))
		for i, row := range rows {
			v, err := parseNumber(row[label])
			if err != nil {
				return nil, &FileError{File: name, Line: lines[i], Column: label + 1, Offset: -1,
					Err: fmt.Errorf("regression target %q: %w", cols[label], err)}
			}
			tab.targets[i] = v
		}
	} else {
		names := make([]string, len(rows))
		for i, row := range rows {
			names[i] = strings.TrimSpace(row[label])
			if names[i] == "" {
				return nil, &FileError{File: name, Line: lines[i], Column: label + 1, Offset: -1,
					Err: fmt.Errorf("label %q: empty", cols[label])}
			}
		}
		spec.Classes = sortClasses(names)
		index := make(map[string]int32, len(spec.Classes))
		for c, n := range spec.Classes {
			index[n] = int32(c)
		}
		tab.labels = make([]int32, len(rows))
		for i, n := range names {
			tab.labels[i] = index[n]
		}
	}

	all := make([]int, len(rows))
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
		return nil, &FileError{File: name, Offset: -1, Err: fmt.Errorf("%d data rows leave none for training after the split", len(rows))}
	}
	if !cfg.NoStandardize {
		spec.Norm = tab.standardization(train)
	}
	data := &CSVData{Spec: spec}
	mk := func(rows []int) Dataset {
		return &csvDataset{tab: tab, rows: rows, shape: []int{nf}, classes: spec.Classes, norm: spec.Norm}
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
		return 0, fmt.Errorf("label column index %s out of range for %d columns", label, len(cols))
	}
	if !header {
		return 0, fmt.Errorf("label column %q: the file has no header, give an index", label)
	}
	return 0, fmt.Errorf("label column %q not found; columns are %q", label, cols)
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
	feats   []float32
	labels  []int32
	targets []float32
}

// standardization computes each feature's mean and standard deviation over
// the given rows in two passes (float64); a constant feature gets std 1.
func (t *csvTable) standardization(rows []int) *Normalization {
	n := &Normalization{Mean: make([]float32, t.nf), Std: make([]float32, t.nf)}
	for k := range t.nf {
		var sum float64
		for _, r := range rows {
			sum += float64(t.feats[r*t.nf+k])
		}
		mean := sum / float64(len(rows))
		var ss float64
		for _, r := range rows {
			d := float64(t.feats[r*t.nf+k]) - mean
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

// csvDataset is one split of a CSV table.
type csvDataset struct {
	tab     *csvTable
	rows    []int
	shape   []int
	classes []string
	norm    *Normalization
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
	copy(x, d.tab.feats[r*d.tab.nf:(r+1)*d.tab.nf])
	if d.norm != nil {
		d.norm.Apply(x)
	}
	if d.tab.targets != nil {
		target[0] = d.tab.targets[r]
		return -1, nil
	}
	return int(d.tab.labels[r]), nil
}
