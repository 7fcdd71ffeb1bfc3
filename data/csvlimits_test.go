package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// allocated returns the bytes allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestCSVLimits(t *testing.T) {
	long := "a,b,label\n1,2,x\n" + strings.Repeat("0", 99) + "1,2,y\n"
	tests := []struct {
		name   string
		text   string
		limits CSVLimits
		want   string // after the file name
	}{
		{"line over the byte cap", long, CSVLimits{MaxLineBytes: 64}, ":3: line longer than the limit of 64 bytes"},
		{"quoted record over the byte cap", "a,b,label\n1,2,\"x\n" + strings.Repeat("y\n", 40) + "\"\n", CSVLimits{MaxLineBytes: 64}, ":2: record longer than the limit of 64 bytes"},
		{"row over the field cap", "a,b,label\n1,2,x\n1,2,3,4,5,6,7,8,9,10,11,y\n", CSVLimits{MaxFields: 10}, ":3: more than the limit of 10 fields"},
		{"header over the field cap", "a,b,c,d,e,f,g,h,i,j,k\n", CSVLimits{MaxFields: 10}, ":1: more than the limit of 10 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeCSV(t, tt.text)
			_, err := CSV(p, CSVConfig{Limits: tt.limits})
			if err == nil || !strings.HasPrefix(err.Error(), p+tt.want) {
				t.Fatalf("error %v, want %q", err, p+tt.want)
			}
		})
	}
	// Within the caps, the same files read.
	if _, err := CSV(writeCSV(t, long), CSVConfig{Limits: CSVLimits{MaxLineBytes: 200}}); err != nil {
		t.Fatal(err)
	}
}

// TestCSVHugeLineBoundedMemory reads a file whose second line is 8 MiB of
// digits: the default 1 MiB cap refuses it having held no more than the
// cap.
func TestCSVHugeLineBoundedMemory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.csv")
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = '7'
	}
	if err := os.WriteFile(p, append([]byte("a,label\n"), append(big, ",x\n"...)...), 0o644); err != nil {
		t.Fatal(err)
	}
	big = nil
	var err error
	n := allocated(func() { _, err = CSV(p, CSVConfig{}) })
	if err == nil || !strings.Contains(err.Error(), p+":2: line longer than the limit of 1048576 bytes") {
		t.Fatalf("error %v", err)
	}
	if n > 3<<20 {
		t.Errorf("refusing an 8 MiB line allocated %d bytes, want under 3 MiB (the 1 MiB line buffer and little else)", n)
	}
}

func TestCSVByteOrderMark(t *testing.T) {
	text := "\uFEFFsize,colour\n1,red\n2,blue\n3,red\n4,blue\n"
	d, err := CSV(writeCSV(t, text), CSVConfig{Label: "colour", Split: SplitConfig{TestFraction: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Spec.Columns, []string{"size", "colour"}) {
		t.Fatalf("columns %q: want the mark stripped from the first name", d.Spec.Columns)
	}
	// The first column can be named as the label too.
	if _, err := CSV(writeCSV(t, "\uFEFFcolour,size\nred,1\nblue,2\n"), CSVConfig{Label: "colour", Split: SplitConfig{TestFraction: -1}}); err != nil {
		t.Fatal(err)
	}
	// Without a header, the first value still parses as a number.
	d, err = CSV(writeCSV(t, "\uFEFF1.5,a\n2,b\n"), CSVConfig{Split: SplitConfig{TestFraction: -1}, NoStandardize: true})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 1)
	if _, err := d.Train.Sample(0, nil, x, nil); err != nil || x[0] != 1.5 {
		t.Fatalf("first value %v (%v), want 1.5", x[0], err)
	}
}

// TestCSVScannerMatchesEncodingCSV checks the scanner against encoding/csv
// on the quoting rules it keeps.
func TestCSVScannerMatchesEncodingCSV(t *testing.T) {
	inputs := []string{
		"a,b,c\n1,2,3\n",
		"a,b\r\n1,2\r\n",
		"\"x,y\",2\n\"say \"\"hi\"\"\",3\n",
		"\"multi\nline\",1\n2,3",
		"a,b,\n,,\n",
		"\n\na,b\n\n1,2\n",
		"\"\",\"\"\n",
		"a;b;c\n1;2;3\n",
	}
	for _, in := range inputs {
		comma := ','
		if strings.Contains(in, ";") {
			comma = ';'
		}
		want := csv.NewReader(strings.NewReader(in))
		want.Comma, want.FieldsPerRecord = comma, -1
		got, err := NewCSVReader(strings.NewReader(in), "t.csv", comma, CSVLimits{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			w, werr := want.Read()
			g, _, gerr := got.Read()
			if (werr == io.EOF) != (gerr == io.EOF) || (werr == nil) != (gerr == nil) {
				t.Fatalf("%q: encoding/csv %q %v, scanner %q %v", in, w, werr, g, gerr)
			}
			if werr != nil {
				break
			}
			if !slices.Equal(w, g) {
				t.Fatalf("%q: encoding/csv %q, scanner %q", in, w, g)
			}
		}
	}
	for _, bad := range []string{"a,\"b\n", "a,b\"c\n", "\"a\"b,c\n"} {
		r, _ := NewCSVReader(strings.NewReader(bad), "t.csv", ',', CSVLimits{})
		if _, _, err := r.Read(); err == nil || !strings.Contains(err.Error(), `"`) {
			t.Errorf("%q: error %v, want one about a quote", bad, err)
		}
	}
}

// TestCSVStreamsNumbers reads a generated ~20 MB table: what is allocated
// stays within 4× the float32 data it holds (the old reader kept every
// field as a string: several times the file).
func TestCSVStreamsNumbers(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 20 MB file")
	}
	const rows, feats = 200_000, 10
	p := filepath.Join(t.TempDir(), "big.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for k := range feats {
		fmt.Fprintf(&b, "f%d,", k)
	}
	b.WriteString("label\n")
	for i := range rows {
		for range feats {
			fmt.Fprintf(&b, "%.5f,", r.NormFloat64()*100)
		}
		fmt.Fprintf(&b, "c%d\n", i%7)
		if b.Len() > 1<<20 {
			f.WriteString(b.String())
			b.Reset()
		}
	}
	f.WriteString(b.String())
	info, _ := f.Stat()
	f.Close()
	floatBytes := uint64(rows * feats * 4)
	var d *CSVData
	n := allocated(func() { d, err = CSV(p, CSVConfig{}) })
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len()+d.Test.Len() != rows || len(d.Spec.Classes) != 7 {
		t.Fatalf("%d+%d rows, %d classes", d.Train.Len(), d.Test.Len(), len(d.Spec.Classes))
	}
	t.Logf("%d-byte CSV: %d bytes allocated for %d bytes of floats", info.Size(), n, floatBytes)
	if n > 4*floatBytes {
		t.Errorf("reading a %d-byte CSV allocated %d bytes, want under 4× its %d bytes of float32 values", info.Size(), n, floatBytes)
	}
}

func TestCSVRefusesUntrainableLabels(t *testing.T) {
	ids := "id,x\n"
	for i := range 200 {
		ids += fmt.Sprintf("row%d,%d\n", i, i)
	}
	tests := []struct {
		name, text string
		cfg        CSVConfig
		want       error
		msg        string
	}{
		{"one class", "a,b,label\n1,2,x\n3,4,x\n5,6,x\n", CSVConfig{}, ErrOneClass, `label column "label" holds one value, "x", in all 3 rows`},
		{"identifier column", ids, CSVConfig{Label: "id"}, ErrLabelLooksLikeID, `label column "id" has 200 distinct values in 200 rows`},
		{"no such column", iris, CSVConfig{Label: "nosuch"}, ErrLabelColumn, `label column "nosuch" not found`},
		{"index out of range", iris, CSVConfig{Label: "9"}, ErrLabelColumn, `out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeCSV(t, tt.text)
			_, err := CSV(p, tt.cfg)
			if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want %v naming %s and %q", err, tt.want, p, tt.msg)
			}
		})
	}
	// Many classes are fine when each has rows enough, and a numeric
	// identifier is fine as a regression target.
	if _, err := CSV(writeCSV(t, ids), CSVConfig{Label: "x", Regression: true, Split: SplitConfig{TestFraction: -1}}); err == nil {
		// "id" is then a non-numeric feature: refused as before.
		t.Fatal("a string feature column was accepted")
	}
}

func TestCSVRegressionTargetStandardised(t *testing.T) {
	var b strings.Builder
	b.WriteString("sqft,price\n")
	for i := range 100 {
		fmt.Fprintf(&b, "%d,%d\n", 1000+10*i, 50000+1200*i)
	}
	d, err := CSV(writeCSV(t, b.String()), CSVConfig{Label: "price", Regression: true, Split: SplitConfig{Seed: 4}})
	if err != nil {
		t.Fatal(err)
	}
	tg := d.Spec.Target
	if tg == nil || len(tg.Mean) != 1 || tg.Mean[0] < 90000 || tg.Mean[0] > 130000 || tg.Std[0] < 20000 {
		t.Fatalf("target normalisation %+v, want the training split's price mean and std", tg)
	}
	var sum float64
	x, y := make([]float32, 1), make([]float32, 1)
	for i := range d.Train.Len() {
		d.Train.Sample(i, nil, x, y)
		sum += float64(y[0])
		// Mapped back, the target is the price of the row.
		sqft := x[0]*d.Spec.Norm.Std[0] + d.Spec.Norm.Mean[0]
		if want := 50000 + 120*(sqft-1000); abs32(d.Spec.TargetValue(y[0])-want) > 1 {
			t.Fatalf("target %v for %v sqft, want %v", d.Spec.TargetValue(y[0]), sqft, want)
		}
	}
	if mean := sum / float64(d.Train.Len()); mean > 1e-4 || mean < -1e-4 {
		t.Errorf("standardised targets have mean %v over the training split, want 0", mean)
	}
	// NoStandardize leaves the target as it is.
	d, err = CSV(writeCSV(t, b.String()), CSVConfig{Label: "price", Regression: true, NoStandardize: true})
	if err != nil || d.Spec.Target != nil {
		t.Fatalf("NoStandardize: target norm %v (%v)", d.Spec.Target, err)
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func TestCSVSpecRowFeaturesRefusesBadSpecs(t *testing.T) {
	tests := []struct {
		name string
		spec CSVSpec
		want string
	}{
		{"feature column beyond the columns", CSVSpec{Columns: []string{"a", "b"}, FeatureColumns: []int{0, 5}, LabelColumn: 1}, "feature column 5 does not exist"},
		{"negative feature column", CSVSpec{Columns: []string{"a", "b"}, FeatureColumns: []int{-1, 0}, LabelColumn: 1}, "feature column -1 does not exist"},
		{"normalisation of the wrong length", CSVSpec{Columns: []string{"a", "b", "c"}, FeatureColumns: []int{0, 1}, LabelColumn: 2,
			Norm: &Normalization{Mean: []float32{0}, Std: []float32{1}}}, "1 means and 1 standard deviations for 2 features"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := make([]float32, len(tt.spec.FeatureColumns))
			err := tt.spec.RowFeatures([]string{"1", "2", "3"}[:len(tt.spec.Columns)], x)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestCSVRowParsingDoesNotAllocate reads numeric rows with the scanner:
// after its buffers have grown, a row costs no allocation.
func TestCSVRowParsingDoesNotAllocate(t *testing.T) {
	row := "1.5,-2.25,3e4,0.000125,42\n"
	r := strings.NewReader(strings.Repeat(row, 2000))
	sc, err := newCSVScanner(r, "t.csv", ',', CSVLimits{})
	if err != nil {
		t.Fatal(err)
	}
	var sum float32
	allocs := testing.AllocsPerRun(1000, func() {
		if err := sc.next(); err != nil {
			t.Fatal(err)
		}
		for j := range sc.fields() {
			v, err := parseNumberBytes(sc.field(j))
			if err != nil {
				t.Fatal(err)
			}
			sum += v
		}
	})
	if allocs != 0 || sum == 0 {
		t.Fatalf("%v allocations a row, want 0", allocs)
	}
}
