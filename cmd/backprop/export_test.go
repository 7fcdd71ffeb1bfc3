package main

import (
	"bytes"
	bin "encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	pb "github.com/backprop-go/backprop/onnx/onnxpb"
	"github.com/backprop-go/backprop/tensor"
	"google.golang.org/protobuf/proto"
)

// exportForward runs a saved model on a batch without building a graph,
// as predict does.
func exportForward(m *savedModel, x []float32, n int) []float32 {
	return m.model.Forward(ag.NoGraph(tensor.New(x, append([]int{n}, m.shape...)...))).Data.Data()
}

// readONNX parses an exported file and returns it with its metadata.
func readONNX(t *testing.T, path string) (*pb.ModelProto, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m pb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	meta := map[string]string{}
	for _, p := range m.GetMetadataProps() {
		meta[p.GetKey()] = p.GetValue()
	}
	return &m, meta
}

// ortRun runs an ONNX file on x ([n, sample...]) in ONNX Runtime with the
// onnx package's test script, or skips the test when onnxruntime-node is
// not installed (see .ci/run).
func ortRun(t *testing.T, model string, x []float32, shape []int) []float32 {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipped the ONNX Runtime comparison: no node on PATH")
	}
	modules, _ := filepath.Abs(filepath.Join("..", "..", ".ort", "node_modules"))
	if _, err := os.Stat(filepath.Join(modules, "onnxruntime-node", "package.json")); err != nil {
		t.Skipf("skipped the ONNX Runtime comparison: onnxruntime-node is not installed in %s (see .ci/run)", modules)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "x"), filepath.Join(dir, "y")
	var raw []byte
	for _, v := range x {
		raw = bin.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	manifest, _ := json.Marshal([]map[string]any{{"model": model, "input": in, "dtype": "float32", "shape": shape, "output": out}})
	mf := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mf, manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(node, filepath.Join("..", "..", "onnx", "testdata", "run_ort.js"), modules, mf).Output()
	if err != nil {
		t.Fatalf("run_ort.js: %v", err)
	}
	var r map[string]struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(res, &r); err != nil || r[out].Error != "" {
		t.Fatalf("ONNX Runtime: %s (%v)", res, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, len(b)/4)
	for i := range y {
		y[i] = math.Float32frombits(bin.LittleEndian.Uint32(b[4*i:]))
	}
	return y
}

func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-4+1e-4*math.Abs(float64(want[i]))) {
			t.Errorf("%s: value %d is %g, backprop's %g", what, i, got[i], want[i])
		}
	}
}

// exportRun exports run to file and checks the file with
// onnx.checker.check_model(full_check=True) when Debian's python3-onnx is
// there.
func exportRun(t *testing.T, run, file string) {
	t.Helper()
	stdout, stderr, code := inProcess(t, runExport, run, "--onnx", file)
	if code != 0 {
		t.Fatalf("export exit %d: %s", code, stderr)
	}
	oneLine(t, stdout, "wrote "+file, "opset 17", `"input"`, `"output"`)
	if exec.Command("/usr/bin/python3", "-c", "import onnx").Run() != nil {
		t.Log("no onnx.checker check: /usr/bin/python3 cannot import onnx (Debian's python3-onnx)")
		return
	}
	out, err := exec.Command("/usr/bin/python3", filepath.Join("..", "..", "onnx", "testdata", "check_models.py"), file).Output()
	var res map[string]string
	if err != nil || json.Unmarshal(out, &res) != nil || res[file] != "" {
		t.Errorf("onnx.checker on %s: %s (%v)", file, out, err)
	}
}

func TestExportCSVClassifier(t *testing.T) {
	dir := t.TempDir()
	run := trainBlobs(t, dir)
	file := filepath.Join(dir, "blobs.onnx")
	exportRun(t, run, file)
	m, meta := readONNX(t, file)
	if meta[metaClasses] != `["setosa","virginica"]` || meta[metaInput] != "features" || meta[metaOutput] != "logits" ||
		meta[metaArchitecture] == "" || meta[metaCSVSpec] == "" {
		t.Errorf("metadata %v: want the classes, input features, output logits, the architecture and csv_spec", meta)
	}
	ops := m.GetGraph().GetNode()
	if len(ops) < 2 || ops[0].GetOpType() != "Sub" || ops[1].GetOpType() != "Mul" {
		t.Errorf("the graph does not start with the features' standardisation (Sub, Mul): %v", ops[:2])
	}

	// Raw rows in the file's model; standardised rows in backprop's, as
	// predict reads them.
	saved, err := loadSaved(run)
	if err != nil {
		t.Fatal(err)
	}
	rawRows := [][]float32{{0.5, -0.25, 1}, {3.2, -2.5, 0.1}, {-1, 4, 2.75}}
	var rawX, stdX []float32
	for _, r := range rawRows {
		row := []string{strconv.FormatFloat(float64(r[0]), 'g', -1, 32), strconv.FormatFloat(float64(r[1]), 'g', -1, 32),
			strconv.FormatFloat(float64(r[2]), 'g', -1, 32)}
		x := make([]float32, 3)
		if err := saved.csv.RowFeatures(row, x); err != nil {
			t.Fatal(err)
		}
		rawX, stdX = append(rawX, r...), append(stdX, x...)
	}
	if slices.Equal(rawX, stdX) {
		t.Fatal("the training standardised nothing: the test would not see the normalisation")
	}
	want := exportForward(saved, stdX, len(rawRows))
	closeTo(t, "logits", ortRun(t, file, rawX, []int{len(rawRows), 3}), want)
}

func TestExportImageModel(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "pets")
	writeImages(t, root, 6)
	run := filepath.Join(dir, "run")
	if _, stderr, code := inProcess(t, runTrain, "--data", root, "--model", "conv(4,3,pad=1) batchnorm relu maxpool(2) flatten dropout(0.3) linear(2)",
		"--image-size", "8", "--epochs", "1", "--out", run, "--quiet"); code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	file := filepath.Join(dir, "pets.onnx")
	exportRun(t, run, file)
	_, meta := readONNX(t, file)
	if meta[metaClasses] != `["cat","dog"]` || meta[metaInput] != "pixels" || meta[metaImageSpec] == "" {
		t.Errorf("metadata %v: want classes cat and dog, input pixels and image_spec", meta)
	}
	saved, err := loadSaved(run)
	if err != nil {
		t.Fatal(err)
	}
	if saved.image.Norm == nil {
		t.Fatal("the image model has no normalisation: the test would not see it folded in")
	}
	raw := *saved.image
	raw.Norm = nil
	var pixels, features []float32
	for _, f := range []string{filepath.Join(root, "cat", "cat0.png"), filepath.Join(root, "dog", "dog1.png")} {
		p, err := raw.FeaturesFromFile(f)
		if err != nil {
			t.Fatal(err)
		}
		x, err := saved.image.FeaturesFromFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pixels, features = append(pixels, p...), append(features, x...)
	}
	want := exportForward(saved, features, 2)
	closeTo(t, "logits", ortRun(t, file, pixels, []int{2, 3, 8, 8}), want)
}

func TestExportRegressionInTargetUnits(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "houses.csv")
	houses(t, csvPath, 200, 1, true)
	run := filepath.Join(dir, "run")
	if _, stderr, code := inProcess(t, runTrain, "--data", csvPath, "--label", "price", "--regression", "--model", "linear(16) relu linear(1)",
		"--epochs", "2", "--out", run, "--quiet"); code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	file := filepath.Join(dir, "houses.onnx")
	exportRun(t, run, file)
	m, meta := readONNX(t, file)
	nodes := m.GetGraph().GetNode()
	if meta[metaOutput] != "value" || meta[metaClasses] != "" || nodes[len(nodes)-2].GetOpType() != "Mul" || nodes[len(nodes)-1].GetOpType() != "Add" {
		t.Errorf("metadata %v, last ops %s %s: want output value, no classes, and Mul, Add at the end", meta,
			nodes[len(nodes)-2].GetOpType(), nodes[len(nodes)-1].GetOpType())
	}
	saved, err := loadSaved(run)
	if err != nil {
		t.Fatal(err)
	}
	raw := []float32{1200, 3, 20.5, 2500, 1, 70}
	std := make([]float32, len(raw))
	for i := range 2 {
		row := []string{strconv.Itoa(int(raw[3*i])), strconv.Itoa(int(raw[3*i+1])), strconv.FormatFloat(float64(raw[3*i+2]), 'g', -1, 32)}
		if err := saved.csv.RowFeatures(row, std[3*i:3*i+3]); err != nil {
			t.Fatal(err)
		}
	}
	want := exportForward(saved, std, 2)
	for i := range want {
		want[i] = saved.csv.TargetValue(want[i]) // predict's value, in dollars
	}
	if want[0] < 1000 {
		t.Fatalf("predicted price %g: the target's units are not restored", want[0])
	}
	closeTo(t, "prices", ortRun(t, file, raw, []int{2, 3}), want)
}

func TestExportRefusals(t *testing.T) {
	dir := t.TempDir()
	run := trainBlobs(t, dir)
	existing := writeFile(t, dir, "old.onnx", "old")
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no run", []string{"--onnx", filepath.Join(dir, "a.onnx")}, 2, []string{"no RUN"}},
		{"no onnx", []string{run}, 2, []string{"--onnx"}},
		{"two runs", []string{run, run, "--onnx", filepath.Join(dir, "b.onnx")}, 2, []string{"unexpected argument"}},
		{"exists", []string{run, "--onnx", existing}, 2, []string{existing, "already exists", "--overwrite"}},
		{"directory", []string{run, "--onnx", dir}, 2, []string{"is a directory"}},
		{"missing run", []string{filepath.Join(dir, "nothing"), "--onnx", filepath.Join(dir, "c.onnx")}, 1, []string{"nothing"}},
		{"unknown flag", []string{run, "--onx", "x.onnx"}, 2, []string{"--onx", "did you mean --onnx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := inProcess(t, runExport, tt.args...)
			if code != tt.code || stdout != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, stdout, tt.code)
			}
			oneLine(t, stderr, tt.want...)
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "old" {
		t.Errorf("a refused export changed the existing file: %q", b)
	}
	for _, f := range []string{"a.onnx", "b.onnx", "c.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("a refused export wrote %s", f)
		}
	}
	// --overwrite, before or after RUN, replaces the file.
	for _, args := range [][]string{{"--overwrite", run, "--onnx", existing}, {run, "--onnx", existing, "--overwrite"}} {
		if _, stderr, code := inProcess(t, runExport, args...); code != 0 {
			t.Fatalf("export %v: exit %d: %s", args, code, stderr)
		}
		if _, meta := readONNX(t, existing); meta[metaClasses] == "" {
			t.Errorf("export %v did not write the model over the old file", args)
		}
		os.WriteFile(existing, []byte("old"), 0o644)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if bytes.Contains([]byte(e.Name()), []byte(".tmp")) {
			t.Errorf("a temporary file is left: %s", e.Name())
		}
	}
}
