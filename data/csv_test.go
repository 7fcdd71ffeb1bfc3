package data

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeCSV(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "table.csv")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const iris = `sepal_length,sepal_width,species
5.1,3.5,setosa
4.9,3.0,setosa
7.0,3.2,versicolor
6.4,3.2,versicolor
6.3,3.3,virginica
5.8,2.7,virginica
`

func TestCSVRead(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		cfg      CSVConfig
		columns  []string
		features []int
		classes  []string
		label    []int // labels of the rows in file order (no split)
	}{
		{"header, string labels, last column", iris, CSVConfig{},
			[]string{"sepal_length", "sepal_width", "species"}, []int{0, 1},
			[]string{"setosa", "versicolor", "virginica"}, []int{0, 0, 1, 1, 2, 2}},
		{"label by name, regression", "a,b,c\n1,2,3\n4,5,6\n", CSVConfig{Label: "b", Regression: true},
			[]string{"a", "b", "c"}, []int{0, 2}, nil, nil},
		{"label by name, any case", iris, CSVConfig{Label: "Species"},
			[]string{"sepal_length", "sepal_width", "species"}, []int{0, 1},
			[]string{"setosa", "versicolor", "virginica"}, []int{0, 0, 1, 1, 2, 2}},
		{"no header, numeric labels sorted by value", "1,2,10\n3,4,2\n5,6,10\n", CSVConfig{},
			[]string{"column 1", "column 2", "column 3"}, []int{0, 1}, []string{"2", "10"}, []int{1, 0, 1}},
		{"label by index 0", "a,x,y\nyes,1,2\nno,3,4\n", CSVConfig{Label: "0"},
			[]string{"a", "x", "y"}, []int{1, 2}, []string{"no", "yes"}, []int{1, 0}},
		{"label by negative index, semicolons", "x;y;z\n1;2;3\n4;5;6\n", CSVConfig{Label: "-2", Comma: ';'},
			[]string{"x", "y", "z"}, []int{0, 2}, []string{"2", "5"}, []int{0, 1}},
		{"header forced, numeric names", "1,2,3\n4,5,6\n7,8,9\n", CSVConfig{Header: HeaderPresent},
			[]string{"1", "2", "3"}, []int{0, 1}, []string{"6", "9"}, []int{0, 1}},
		{"header refused", "a,b,c\n4,5,6\n", CSVConfig{Header: HeaderAbsent, Label: "0", NoStandardize: true},
			nil, nil, nil, nil}, // "b" is not a number: error below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Split.TestFraction = -1
			d, err := CSV(writeCSV(t, tt.text), cfg)
			if tt.columns == nil {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := d.Spec
			if !slices.Equal(s.Columns, tt.columns) || !slices.Equal(s.FeatureColumns, tt.features) || !slices.Equal(s.Classes, tt.classes) {
				t.Fatalf("spec %+v", s)
			}
			if !slices.Equal(d.Train.Classes(), tt.classes) || !slices.Equal(d.Train.Shape(), []int{len(tt.features)}) {
				t.Fatalf("classes %v shape %v", d.Train.Classes(), d.Train.Shape())
			}
			if tt.label != nil {
				x := make([]float32, len(tt.features))
				for i, want := range tt.label {
					if l, _ := d.Train.Sample(i, nil, x, nil); l != want {
						t.Fatalf("row %d label %d, want %d", i, l, want)
					}
				}
			}
		})
	}
}

func TestCSVErrors(t *testing.T) {
	tests := []struct {
		name, text string
		cfg        CSVConfig
		want       string // after "table.csv"
	}{
		{"non-numeric value", "a,b,label\n1,2,x\n3,oops,y\n", CSVConfig{}, `:3: column 2: feature "b": want a finite number, got "oops"`},
		{"empty value", "1,2,x\n3,,y\n", CSVConfig{}, `:2: column 2: feature "column 2": want a finite number, got ""`},
		{"NaN value", "a,b,label\n1,NaN,x\n", CSVConfig{}, `:2: column 2`},
		{"ragged row", "a,b,label\n1,2,x\n3,y\n", CSVConfig{}, `:3: wrong number of fields`},
		{"bad quote", "a,b,label\n1,\"2,x\n", CSVConfig{}, `extraneous or missing " in quoted-field`},
		{"bad regression target", "a,t\n1,2\n3,big\n", CSVConfig{Regression: true}, `:3: column 2: regression target "t": want a finite number, got "big"`},
		{"unknown label column", iris, CSVConfig{Label: "petal"}, `label column "petal" not found`},
		{"label index out of range", iris, CSVConfig{Label: "7"}, `index 7 out of range`},
		{"empty label", "a,l\n1,x\n2, \n", CSVConfig{}, `:3: column 2: label "l": empty`},
		{"empty file", "", CSVConfig{}, `no rows`},
		{"header only", "a,b\n", CSVConfig{Header: HeaderPresent}, `no data rows`},
		{"one column", "l\n1\n", CSVConfig{}, `want at least one feature column`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeCSV(t, tt.text)
			_, err := CSV(p, tt.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want %q%s", err, p, tt.want)
			}
		})
	}
}

func TestCSVSplitAndStandardize(t *testing.T) {
	var b strings.Builder
	b.WriteString("x1,x2,x3,y\n")
	for i := range 100 {
		// x3 is constant: std 1, only centred.
		b.WriteString(itoaN(i) + "," + itoaN(1000+3*i) + ",7," + itoaN(2*i) + "\n")
	}
	d, err := CSV(writeCSV(t, b.String()), CSVConfig{Regression: true, Split: SplitConfig{Seed: 3, ValFraction: 0.125}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 70 || d.Val.Len() != 10 || d.Test.Len() != 20 || d.Train.TargetSize() != 1 || d.Train.Classes() != nil {
		t.Fatalf("train %d val %d test %d", d.Train.Len(), d.Val.Len(), d.Test.Len())
	}
	// Over the training split, features have mean 0 and std 1 (x3: 0, 0),
	// which shows the statistics came from it alone.
	var sum, sq [3]float64
	x, tg := make([]float32, 3), make([]float32, 1)
	for i := range d.Train.Len() {
		if l, err := d.Train.Sample(i, nil, x, tg); err != nil || l != -1 {
			t.Fatal(l, err)
		}
		for k := range 3 {
			sum[k] += float64(x[k])
			sq[k] += float64(x[k]) * float64(x[k])
		}
		// The target is standardised too; mapped back, it is 2·x1 in the
		// raw values.
		raw := x[0]*d.Spec.Norm.Std[0] + d.Spec.Norm.Mean[0]
		if y := d.Spec.TargetValue(tg[0]); math.Abs(float64(y-2*raw)) > 1e-3 {
			t.Fatalf("target %v (%v standardised) for x1 %v", y, tg[0], raw)
		}
	}
	for k, want := range []float64{1, 1, 0} {
		mean, std := sum[k]/70, math.Sqrt(sq[k]/70)
		if math.Abs(mean) > 1e-5 || math.Abs(std-want) > 1e-5 {
			t.Errorf("feature %d: mean %v std %v over train", k, mean, std)
		}
	}
	if d.Spec.Norm.Std[2] != 1 || d.Spec.Norm.Mean[2] != 7 {
		t.Errorf("constant feature normalisation %v %v", d.Spec.Norm.Mean[2], d.Spec.Norm.Std[2])
	}
	// Prediction: a full row or the features alone give the same features.
	full, feats := make([]float32, 3), make([]float32, 3)
	if err := d.Spec.RowFeatures([]string{"5", "1015", "7", "?"}, full); err != nil {
		t.Fatal(err)
	}
	if err := d.Spec.RowFeatures([]string{"5", "1015", "7"}, feats); err != nil || !slices.Equal(full, feats) {
		t.Fatalf("%v vs %v (%v)", full, feats, err)
	}
	if err := d.Spec.RowFeatures([]string{"5", "x", "7"}, feats); err == nil || !strings.Contains(err.Error(), `column "x2"`) {
		t.Fatalf("bad field: %v", err)
	}
}

func TestCSVStratified(t *testing.T) {
	var b strings.Builder
	for i := range 50 {
		cls := "rare"
		if i%10 != 0 {
			cls = "common"
		}
		b.WriteString(itoaN(i) + "," + cls + "\n")
	}
	d, err := CSV(writeCSV(t, b.String()), CSVConfig{Split: SplitConfig{Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	count := func(ds Dataset) (n [2]int) {
		x := make([]float32, 1)
		for i := range ds.Len() {
			l, _ := ds.Sample(i, nil, x, nil)
			n[l]++
		}
		return
	}
	if got := count(d.Test); got != [2]int{9, 1} {
		t.Fatalf("test split per class %v, want [9 1] (common, rare)", got)
	}
}

func itoaN(i int) string {
	if i == 0 {
		return "0"
	}
	var s []byte
	for ; i > 0; i /= 10 {
		s = append([]byte{byte('0' + i%10)}, s...)
	}
	return string(s)
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte(iris), "", false)
	f.Add([]byte("1,2,3\n4,5,6\n"), "0", true)
	f.Add([]byte("a;b\n1;x\n"), "b", false)
	f.Add([]byte("x,y\n\"1\",2\n3,\"4\"\n"), "-1", true)
	f.Add([]byte("a,b,c\n1,2\n"), "", false)
	f.Add([]byte("1e40,2,3\n-1e40,2,3\n"), "", false)
	f.Fuzz(func(t *testing.T, b []byte, label string, regression bool) {
		d, err := ReadCSV(strings.NewReader(string(b)), "fuzz.csv", CSVConfig{Label: label, Regression: regression, Split: SplitConfig{ValFraction: 0.1}})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		nf := len(d.Spec.FeatureColumns)
		if nf == 0 || len(d.Spec.Columns) != nf+1 {
			t.Fatalf("spec %+v", d.Spec)
		}
		for _, ds := range []Dataset{d.Train, d.Val, d.Test} {
			if ds == nil {
				continue
			}
			x, tg := make([]float32, nf), make([]float32, ds.TargetSize())
			for i := range ds.Len() {
				l, err := ds.Sample(i, nil, x, tg)
				if err != nil || (regression && l != -1) || (!regression && (l < 0 || l >= len(ds.Classes()))) {
					t.Fatalf("sample %d: label %d err %v", i, l, err)
				}
			}
		}
	})
}
