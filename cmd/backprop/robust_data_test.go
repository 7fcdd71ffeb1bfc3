package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/train"
)

// inProcess runs a command's function and returns stdout, stderr and the
// exit status.
func inProcess(t *testing.T, cmd func([]string, io.Writer, io.Writer) int, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cmd(args, &out, &errb)
	return out.String(), errb.String(), code
}

// oneLine fails the test unless msg is one line naming each of want.
func oneLine(t *testing.T, msg string, want ...string) {
	t.Helper()
	if strings.Count(strings.TrimSpace(msg), "\n") > 0 || strings.Contains(msg, "goroutine") {
		t.Errorf("message is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not say %q", msg, w)
		}
	}
}

// writeFile writes text to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// trainBlobs trains a small classifier of two blobs (x1, x2, x3 → species)
// and returns its run directory.
func trainBlobs(t *testing.T, dir string) string {
	t.Helper()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 200)
	out := filepath.Join(dir, "run")
	if _, stderr, code := inProcess(t, runTrain, "--data", csvPath, "--model", "mlp", "--epochs", "1", "--out", out, "--quiet"); code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	return out
}

func TestPredictAndEvalBadInputs(t *testing.T) {
	dir := t.TempDir()
	run := trainBlobs(t, dir)
	empty := writeFile(t, dir, "empty.csv", "")
	headerOnly := writeFile(t, dir, "header.csv", "x1,x2,x3\n")
	rows := writeFile(t, dir, "rows.csv", "x1,x2,x3\n0,0,0\n")
	var wide, three, numeric strings.Builder
	wide.WriteString("x1,x2,x3,x4,species\n")
	three.WriteString("x1,x2,x3,species\n")
	numeric.WriteString("x1,x2,x3,species\n")
	for i := range 60 {
		fmt.Fprintf(&wide, "%d,1,2,3,%s\n", i, []string{"a", "b"}[i%2])
		fmt.Fprintf(&three, "%d,1,2,%s\n", i, []string{"a", "b", "c"}[i%3])
		fmt.Fprintf(&numeric, "%d,1,2,%d.5\n", i, i)
	}
	wideCSV := writeFile(t, dir, "wide.csv", wide.String())
	threeCSV := writeFile(t, dir, "three.csv", three.String())
	numericCSV := writeFile(t, dir, "numeric.csv", numeric.String())

	tests := []struct {
		name string
		cmd  func([]string, io.Writer, io.Writer) int
		args []string
		code int
		want []string
	}{
		{"predict on an empty CSV", runPredict, []string{run, empty}, 1, []string{"empty.csv", "no data rows"}},
		{"predict on a header alone", runPredict, []string{run, headerOnly}, 1, []string{"header.csv", "no data rows"}},
		{"predict --top -1", runPredict, []string{run, rows, "--top", "-1"}, 2, []string{"--top -1"}},
		{"predict --top 0", runPredict, []string{run, rows, "--top", "0"}, 2, []string{"--top 0"}},
		{"eval on data of another shape", runEval, []string{run, "--data", wideCSV}, 2, []string{"wide.csv", "features"}},
		{"eval on more classes than the model has", runEval, []string{run, "--data", threeCSV}, 2, []string{"three.csv", "3 classes", "2 outputs"}},
		{"eval of a classifier on a regression target", runEval, []string{run, "--data", numericCSV}, 2, []string{"numeric.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := inProcess(t, tt.cmd, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			oneLine(t, stderr, tt.want...)
		})
	}
	// The good rows still predict, after an optional header.
	stdout, stderr, code := inProcess(t, runPredict, run, rows, "--top", "1")
	if code != 0 || !strings.HasPrefix(stdout, rows+":2: ") {
		t.Fatalf("predict exit %d: %q %s", code, stdout, stderr)
	}
}

// TestPredictCraftedCSVSpec predicts with a checkpoint whose csv_spec
// names a column the spec does not have: a message, not a panic.
func TestPredictCraftedCSVSpec(t *testing.T) {
	dir := t.TempDir()
	run := trainBlobs(t, dir)
	ck, err := train.LoadCheckpoint(filepath.Join(run, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	json.Unmarshal([]byte(ck.Meta[metaCSVSpec]), &spec)
	spec["feature_columns"] = []int{0, 1, 9}
	b, _ := json.Marshal(spec)
	ck.Meta[metaCSVSpec] = string(b)
	crafted := filepath.Join(dir, "crafted.safetensors")
	if err := ck.Save(crafted); err != nil {
		t.Fatal(err)
	}
	rows := writeFile(t, dir, "rows.csv", "1,2,3,setosa\n")
	_, stderr, code := inProcess(t, runPredict, crafted, rows)
	if code != 1 && code != 2 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	oneLine(t, stderr, "9")
}

func TestDataFlagMistakes(t *testing.T) {
	dir := t.TempDir()
	blobs := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, blobs, 100)
	pets := filepath.Join(dir, "pets")
	writeImages(t, pets, 3)
	oneClass := filepath.Join(dir, "cats")
	writeImages(t, oneClass, 3)
	os.RemoveAll(filepath.Join(oneClass, "dog"))
	var same, ids strings.Builder
	same.WriteString("a,b,label\n")
	ids.WriteString("id,a,b\n")
	for i := range 100 {
		fmt.Fprintf(&same, "%d,%d,x\n", i, 2*i)
		fmt.Fprintf(&ids, "user%d,%d,%d\n", i, i, 2*i)
	}
	sameCSV := writeFile(t, dir, "same.csv", same.String())
	idCSV := writeFile(t, dir, "ids.csv", ids.String())
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"--label nosuch", []string{"--data", blobs, "--label", "nosuch"}, []string{"--label", "nosuch"}},
		{"--image-size 0", []string{"--data", pets, "--image-size", "0"}, []string{"image-size"}},
		{"--image-size -3", []string{"--data", pets, "--image-size", "-3"}, []string{"image-size"}},
		{"--image-size 100000", []string{"--data", pets, "--image-size", "100000"}, []string{"image-size"}},
		{"--channels 2", []string{"--data", pets, "--channels", "2"}, []string{"--channels 2"}},
		{"--test-split 1", []string{"--data", blobs, "--test-split", "1"}, []string{"test-split"}},
		{"--test-split -0.5", []string{"--data", blobs, "--test-split", "-0.5"}, []string{"test-split"}},
		{"--max-pixels 0", []string{"--data", pets, "--max-pixels", "0"}, []string{"max-pixels"}},
		{"a folder of one class", []string{"--data", oneClass, "--model", "mlp"}, []string{"cats", `"cat"`, "two classes"}},
		{"a CSV of one class", []string{"--data", sameCSV, "--model", "mlp"}, []string{"same.csv", `"x"`, "two classes"}},
		{"an identifier as label", []string{"--data", idCSV, "--label", "id", "--model", "mlp"}, []string{"ids.csv", `"id"`, "100 distinct values", "--regression"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--epochs", "1", "--out", filepath.Join(t.TempDir(), "run"), "--quiet")
			_, stderr, code := inProcess(t, runTrain, args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (usage): %s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
		})
	}
	// The mistakes in a checkpoint's data config, which no flag parser saw,
	// are caught before anything is opened.
	for _, dc := range []dataConfig{{Data: pets, ImageSize: -3}, {Data: pets, Channels: 2}, {Data: pets, ImageSize: 5000}} {
		if _, err := openData(dc, "", io.Discard); err == nil || fail(io.Discard, "eval", err) != 2 {
			t.Errorf("%+v: error %v, want a usage error", dc, err)
		}
	}
}

// TestTestSplitZeroMeansNone trains with --test-split 0: nothing is held
// out, and the run says so.
func TestTestSplitZeroMeansNone(t *testing.T) {
	dir := t.TempDir()
	blobs := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, blobs, 100)
	out := filepath.Join(dir, "run")
	stdout, stderr, code := inProcess(t, runTrain, "--data", blobs, "--model", "mlp", "--epochs", "1", "--test-split", "0", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "100 training samples") || !strings.Contains(stderr, "No test set (--test-split 0)") {
		t.Fatalf("stderr %q: want all 100 rows trained on and the missing test set said", stderr)
	}
	var res trainResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	// eval of that run has no test part to measure.
	if _, stderr, code := inProcess(t, runEval, out); code != 2 || !strings.Contains(stderr, "no test part") {
		t.Fatalf("eval: exit %d, %s", code, stderr)
	}
	// The default still holds out a fifth.
	if _, stderr, _ := inProcess(t, runTrain, "--data", blobs, "--model", "mlp", "--epochs", "1", "--out", filepath.Join(dir, "run2")); !strings.Contains(stderr, "80 training samples") {
		t.Fatalf("default split: %s", stderr)
	}
}

// pngBomb returns a one-pixel PNG whose header claims w×h pixels.
func pngBomb(t *testing.T, w, h uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	put := func(at int, v uint32) {
		b[at], b[at+1], b[at+2], b[at+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(16, w)
	put(20, h)
	put(29, crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestPNGBombRefusedByPredictAndTrain(t *testing.T) {
	dir := t.TempDir()
	pets := filepath.Join(dir, "pets")
	writeImages(t, pets, 4)
	out := filepath.Join(dir, "run")
	if _, stderr, code := inProcess(t, runTrain, "--data", pets, "--model", "mlp", "--image-size", "8", "--epochs", "1", "--out", out, "--quiet"); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	bomb := writeFile(t, dir, "bomb.png", string(pngBomb(t, 100000, 100000)))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, stderr, code := inProcess(t, runPredict, out, bomb)
	runtime.ReadMemStats(&after)
	if code != 1 {
		t.Fatalf("predict exit %d: %s", code, stderr)
	}
	oneLine(t, stderr, "bomb.png", "100000×100000", "50000000", "--max-pixels")
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("predict on the bomb allocated %d bytes, want under 64 MiB (loading the model and little else)", n)
	}
	// In a training folder, the run fails naming it.
	os.WriteFile(filepath.Join(pets, "dog", "bomb.png"), pngBomb(t, 100000, 100000), 0o644)
	_, stderr, code = inProcess(t, runTrain, "--data", pets, "--model", "mlp", "--image-size", "8", "--epochs", "1", "--out", filepath.Join(dir, "run2"), "--quiet")
	if code != 1 || !strings.Contains(stderr, "bomb.png") || !strings.Contains(stderr, "--max-pixels") {
		t.Fatalf("train on a folder with the bomb: exit %d, %s", code, stderr)
	}
}

// houses writes n rows of a houses table: price = 50000 + 120·sqft +
// 8000·bedrooms - 300·age (+ noise when noisy).
func houses(t *testing.T, path string, n int, seed uint64, noisy bool) []float64 {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 11))
	var b strings.Builder
	b.WriteString("sqft,bedrooms,age,price\n")
	var prices []float64
	for range n {
		sqft, bed, age := 600+r.Float64()*2900, 1+r.IntN(5), r.Float64()*80
		price := 50000 + 120*math.Round(sqft) + 8000*float64(bed) - 300*math.Round(age*10)/10
		prices = append(prices, price)
		if noisy {
			price += 10000 * r.NormFloat64()
		}
		fmt.Fprintf(&b, "%.0f,%d,%.1f,%.0f\n", sqft, bed, age, price)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return prices
}

// TestREADMERegressionExample runs the README's regression command: it
// converges, predicts prices in dollars, and eval reports R².
func TestREADMERegressionExample(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "houses.csv")
	houses(t, data, 600, 1, true)
	out := filepath.Join(dir, "run")
	_, stderr, code := inProcess(t, runTrain, "--data", data, "--label", "price", "--regression", "--model", "linear(64) relu linear(1)", "--out", out)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "standardised") || !strings.Contains(stderr, "R²") {
		t.Errorf("the training log does not say the loss is standardised or give R²: %s", stderr)
	}

	fresh := filepath.Join(dir, "new.csv")
	truth := houses(t, fresh, 50, 2, false)
	stdout, stderr, code := inProcess(t, runPredict, out, fresh, "--json")
	if code != 0 {
		t.Fatalf("predict exit %d: %s", code, stderr)
	}
	var preds []prediction
	if err := json.Unmarshal([]byte(stdout), &preds); err != nil || len(preds) != len(truth) {
		t.Fatalf("predict printed %q (%v)", stdout, err)
	}
	var relErr float64
	for i, p := range preds {
		relErr += math.Abs(float64(p.Value[0])-truth[i]) / truth[i]
	}
	if relErr /= float64(len(preds)); relErr > 0.1 {
		t.Errorf("predictions are off by %.1f%% on average, want under 10%% (first: %v for %v)", 100*relErr, preds[0].Value, truth[0])
	}

	stdout, stderr, code = inProcess(t, runEval, out, "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatalf("eval --json printed %q: %v", stdout, err)
	}
	if r2, ok := ev["r2"].(float64); !ok || r2 < 0.9 || ev["accuracy"] != nil || ev["mse"] == nil || ev["mae"] == nil {
		t.Fatalf("eval --json %v: want r2 above 0.9, mse and mae, and no accuracy", ev)
	}
	stdout, _, _ = inProcess(t, runEval, out)
	if !strings.Contains(stdout, "R²") || strings.Contains(stdout, "accuracy") {
		t.Errorf("eval printed %q: want MSE/MAE/R², not accuracy", stdout)
	}
}

// TestEvalJSONWithManyClassesAndNaN checks that eval --json of 300
// classes gives the sparse confusion cells, and that NaN figures encode.
func TestEvalJSONWithManyClassesAndNaN(t *testing.T) {
	r := evalResult{Accuracy: math.NaN(), Loss: math.Inf(1), TopK: 0.5, Samples: 3, ConfusionPairs: []train.ConfusionPair{{True: 299, Pred: 1, Count: 2}}, ConfusionNote: "300 classes"}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back["accuracy"] != nil || back["loss"] != nil || back["top5_accuracy"] != 0.5 {
		t.Fatalf("%s: %v", b, err)
	}
	if _, ok := back["confusion_matrix"]; ok || back["confusion_pairs"] == nil {
		t.Fatalf("%s: want confusion_pairs and no dense matrix", b)
	}
	p := prediction{File: "x", Value: []jsonFloat{jsonFloat(math.NaN())}, Top: []classProb{{Class: "a", Probability: jsonFloat(math.NaN())}}}
	if b, err := json.Marshal(p); err != nil || !json.Valid(b) {
		t.Fatalf("prediction with NaN: %s %v", b, err)
	}
}

// TestPredictStreamsInBatches predicts 100,000 rows: the heap in use while
// the predictions are written stays bounded (the old predict held every
// row, its name and one forward pass over all of them), and every row is
// predicted.
func TestPredictStreamsInBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("predicts 100,000 rows")
	}
	dir := t.TempDir()
	run := trainBlobs(t, dir)
	var b strings.Builder
	b.WriteString("x1,x2,x3\n")
	const rows = 100_000
	for i := range rows {
		fmt.Fprintf(&b, "%d.25,-%d.5,0.%d\n", i%7, i%5, i%10)
	}
	file := writeFile(t, dir, "many.csv", b.String())
	b.Reset()
	w := &heapWatcher{}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var errb bytes.Buffer
	if code := runPredict([]string{run, file, "--top", "1"}, w, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if w.lines != rows {
		t.Fatalf("%d predictions, want %d", w.lines, rows)
	}
	grew := int64(w.peak) - int64(base.HeapAlloc)
	t.Logf("heap grew by at most %d bytes while writing %d predictions", grew, rows)
	if grew > 24<<20 {
		t.Errorf("the heap grew by %d bytes while predicting, want under 24 MiB", grew)
	}
}

// heapWatcher is a stdout that counts lines and records the largest heap
// seen at each write.
type heapWatcher struct {
	lines, writes int
	peak          uint64
}

func (h *heapWatcher) Write(p []byte) (int, error) {
	h.lines += bytes.Count(p, []byte{'\n'})
	if h.writes++; h.writes%8 == 1 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.peak = max(h.peak, m.HeapAlloc)
	}
	return len(p), nil
}
