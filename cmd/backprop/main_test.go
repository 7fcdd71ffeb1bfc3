package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backprop-go/backprop/safetensors"
	"github.com/backprop-go/backprop/train"
)

// binary is the backprop command built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "backprop-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "backprop")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the command: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs the command and returns stdout, stderr and the exit status.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// writeBlobs writes a CSV of two well-separated Gaussian classes.
func writeBlobs(t *testing.T, path string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 5))
	var b strings.Builder
	b.WriteString("x1,x2,x3,species\n")
	for i := range n {
		c := i % 2
		name := []string{"setosa", "virginica"}[c]
		fmt.Fprintf(&b, "%.3f,%.3f,%.3f,%s\n", r.NormFloat64()+3*float64(c), r.NormFloat64()-2*float64(c), r.NormFloat64(), name)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeImages writes a folder of "cats" (reddish) and "dogs" (bluish)
// images of assorted sizes.
func writeImages(t *testing.T, root string, perClass int) {
	t.Helper()
	r := rand.New(rand.NewPCG(6, 6))
	for c, class := range []string{"cat", "dog"} {
		if err := os.MkdirAll(filepath.Join(root, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range perClass {
			w, h := 10+r.IntN(10), 10+r.IntN(10)
			img := image.NewRGBA(image.Rect(0, 0, w, h))
			for y := range h {
				for x := range w {
					v := uint8(r.IntN(80))
					if c == 0 {
						img.Set(x, y, color.RGBA{R: 170 + v, G: v, B: v, A: 255})
					} else {
						img.Set(x, y, color.RGBA{R: v, G: v, B: 170 + v, A: 255})
					}
				}
			}
			f, err := os.Create(filepath.Join(root, class, fmt.Sprintf("%s%d.png", class, i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
}

func TestTrainEvalPredictCSV(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 400)
	out := filepath.Join(dir, "run")
	stdout, stderr, code := run(t, "train", "--data", csvPath, "--model", "mlp", "--epochs", "3", "--optimizer", "adam", "--lr", "0.01",
		"--out", out, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	var res trainResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("train --json printed %q: %v", stdout, err)
	}
	if res.TestAccuracy == nil || *res.TestAccuracy < 0.9 || res.Epochs != 3 || res.Out != out {
		t.Fatalf("train result %+v, want test accuracy >= 0.9 after 3 epochs in %s", res, out)
	}
	for _, f := range []string{train.CheckpointFile, train.MetricsFile, train.CurvesFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}

	stdout, stderr, code = run(t, "eval", out, "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var ev evalResult
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatalf("eval --json printed %q: %v", stdout, err)
	}
	if ev.Accuracy != float64(*res.TestAccuracy) || ev.Samples != 80 || len(ev.ConfusionMatrix) != 2 {
		t.Fatalf("eval %+v, want the training run's test accuracy %v on 80 samples", ev, *res.TestAccuracy)
	}

	rows := filepath.Join(dir, "new.csv")
	os.WriteFile(rows, []byte("x1,x2,x3\n-0.1,0.2,0\n3.2,-2.1,0.3\n"), 0o644)
	stdout, stderr, code = run(t, "predict", out, rows, "--json")
	if code != 0 {
		t.Fatalf("predict exit %d: %s", code, stderr)
	}
	var preds []prediction
	if err := json.Unmarshal([]byte(stdout), &preds); err != nil {
		t.Fatalf("predict --json printed %q: %v", stdout, err)
	}
	if len(preds) != 2 || preds[0].Top[0].Class != "setosa" || preds[1].Top[0].Class != "virginica" {
		t.Fatalf("predictions %+v, want setosa then virginica", preds)
	}
}

func TestTrainPredictImageFolder(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "pets")
	writeImages(t, root, 20)
	out := filepath.Join(dir, "run")
	_, stderr, code := run(t, "train", "--data", root, "--model", "mlp", "--image-size", "8", "--epochs", "4",
		"--optimizer", "adam", "--lr", "0.01", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	stdout, stderr, code := run(t, "predict", out, filepath.Join(root, "cat", "cat0.png"), filepath.Join(root, "dog", "dog3.png"), "--json")
	if code != 0 {
		t.Fatalf("predict exit %d: %s", code, stderr)
	}
	var preds []prediction
	if err := json.Unmarshal([]byte(stdout), &preds); err != nil {
		t.Fatal(err)
	}
	if preds[0].Top[0].Class != "cat" || preds[1].Top[0].Class != "dog" {
		t.Fatalf("predictions %+v, want cat then dog", preds)
	}
}

// modelTensors reads a checkpoint's weights and optimiser state.
func modelTensors(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.Load(filepath.Join(dir, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for k, v := range f.Tensors {
		out[k] = v.Data()
	}
	return out
}

func sameBits(t *testing.T, a, b map[string][]float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d tensors against %d", len(a), len(b))
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || len(va) != len(vb) {
			t.Fatalf("tensor %s missing or resized", k)
		}
		for i := range va {
			if va[i] != vb[i] {
				t.Fatalf("tensor %s element %d: %v against %v", k, i, va[i], vb[i])
			}
		}
	}
}

func TestResumeMatchesUninterruptedRun(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 300)
	// A constant rate: extending --epochs on resume would otherwise stretch
	// the cosine schedule of the first part.
	common := []string{"--data", csvPath, "--model", "flatten linear(16) relu dropout(0.2) linear(2)", "--seed", "7", "--batch-size", "16", "--quiet", "--schedule", "none"}
	full, part := filepath.Join(dir, "full"), filepath.Join(dir, "part")
	if _, stderr, code := run(t, append([]string{"train", "--epochs", "3", "--out", full}, common...)...); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	if _, stderr, code := run(t, append([]string{"train", "--epochs", "1", "--out", part}, common...)...); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", part, "--epochs", "3", "--quiet"); code != 0 {
		t.Fatalf("resume: %s", stderr)
	}
	sameBits(t, modelTensors(t, full), modelTensors(t, part))
}

func TestInterruptSavesAndResumes(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 4000)
	common := []string{"--data", csvPath, "--model", "flatten linear(512) relu linear(512) relu linear(2)", "--seed", "3", "--batch-size", "8", "--epochs", "2"}
	full, cut := filepath.Join(dir, "full"), filepath.Join(dir, "cut")
	if _, stderr, code := run(t, append([]string{"train", "--quiet", "--out", full}, common...)...); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	cmd := exec.Command(binary, append([]string{"train", "--out", cut}, common...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once training is under way (the progress bar has started).
	sc := bufio.NewScanner(stderr)
	sc.Split(bufio.ScanRunes)
	var seen strings.Builder
	deadline := time.Now().Add(60 * time.Second)
	for sc.Scan() && time.Now().Before(deadline) {
		seen.WriteString(sc.Text())
		if strings.Contains(seen.String(), "samples/s") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		seen.WriteString(sc.Text())
	}
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted run: %v, want exit status 130; stderr:\n%s", err, seen.String())
	}
	if !strings.Contains(seen.String(), "backprop train --resume "+cut) {
		t.Fatalf("interrupted run did not say how to resume:\n%s", seen.String())
	}
	ck, err := train.LoadCheckpoint(filepath.Join(cut, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Step == 0 || ck.Epoch >= 2 {
		t.Fatalf("checkpoint at epoch %d step %d: want a run cut short", ck.Epoch, ck.Step)
	}
	if _, stderr, code := run(t, "train", "--resume", cut, "--quiet"); code != 0 {
		t.Fatalf("resume: %s", stderr)
	}
	sameBits(t, modelTensors(t, full), modelTensors(t, cut))
}

func TestBadInputsExitStatus(t *testing.T) {
	dir := t.TempDir()
	badCSV := filepath.Join(dir, "bad.csv")
	os.WriteFile(badCSV, []byte("a,b,label\n1,2,x\n3,oops,y\n"), 0o644)
	emptyClass := filepath.Join(dir, "pets")
	writeImages(t, emptyClass, 3)
	os.MkdirAll(filepath.Join(emptyClass, "bird"), 0o755)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"train", "--bogus"}, 2, "bogus"},
		{"bad spec", []string{"train", "--data", badCSV, "--model", "linear(10"}, 2, "linear(10"},
		{"missing data", []string{"train", "--data", filepath.Join(dir, "nope")}, 2, "nope"},
		{"bad optimizer", []string{"train", "--data", badCSV, "--optimizer", "lbfgs"}, 2, "lbfgs"},
		{"non-numeric csv", []string{"train", "--data", badCSV, "--model", "mlp"}, 1, "bad.csv:3"},
		{"empty class folder", []string{"train", "--data", emptyClass, "--model", "mlp"}, 1, "bird"},
		{"corrupt checkpoint", []string{"eval", badCSV}, 1, "bad.csv"},
		{"unknown command", []string{"fly"}, 2, "fly"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := run(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and a message naming %q", code, stderr, c.code, c.want)
			}
		})
	}
}

func TestDivergedTrainingStops(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 200)
	_, stderr, code := run(t, "train", "--data", csvPath, "--model", "mlp", "--lr", "1e30", "--quiet", "--out", filepath.Join(dir, "run"))
	if code != 1 || !strings.Contains(stderr, "lower learning rate") || !strings.Contains(stderr, "step") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming the step and suggesting a lower learning rate", code, stderr)
	}
}

// TestThreadsDoNotChangeResults trains the same small CNN with augmentation
// on 1 and on 2 threads: the weights must be equal bit for bit.
func TestThreadsDoNotChangeResults(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "pets")
	writeImages(t, root, 40)
	// 28×28 images in batches of 32 make products big enough for the
	// GEMM to split them over threads.
	common := []string{"train", "--data", root, "--model", "cnn", "--image-size", "28", "--augment", "--epochs", "2",
		"--batch-size", "32", "--seed", "11", "--quiet"}
	one, two := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	if _, stderr, code := run(t, append(common, "--threads", "1", "--out", one)...); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	if _, stderr, code := run(t, append(common, "--threads", "2", "--out", two)...); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	sameBits(t, modelTensors(t, one), modelTensors(t, two))
}
