package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// torchLMScript finds the PyTorch W-LM peer script: $BACKPROP_BENCH_DIR,
// or shared/bench in a folder above the package's.
func torchLMScript(t *testing.T) string {
	t.Helper()
	const name = "train_torch_lm.py"
	if d := os.Getenv("BACKPROP_BENCH_DIR"); d != "" {
		return filepath.Join(d, name)
	}
	dir, _ := os.Getwd()
	for range 6 {
		p := filepath.Join(dir, "shared", "bench", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		dir = filepath.Dir(dir)
	}
	t.Skipf("no shared/bench/%s above the package (set BACKPROP_BENCH_DIR): nothing to compare with", name)
	return ""
}

// wordText writes n bytes of pseudo-English: words drawn from a small
// list, so that a few steps of training already learn something.
func wordText(n int, seed uint64) []byte {
	words := strings.Fields("the a cat dog sat ran on under mat log and then it was happy quiet small big house garden")
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		if rng.IntN(9) == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// TestEvalTorchLanguageModels: a gpt and an lstm trained by PyTorch for a
// few steps and saved as safetensors load with eval --weights --arch and
// score PyTorch's own test loss on the same text to within 0.002 nats.
// The script cuts the text at int(0.9·n) and scores windows of 129 bytes
// 128 apart over the rest, the last partial one dropped, as eval does;
// the text's length is chosen so that both cuts fall on the same byte
// (the test checks it), so the script's figure is compared as it is.
func TestEvalTorchLanguageModels(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two PyTorch models")
	}
	script := torchLMScript(t)
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("%s cannot import torch: %v", py, err)
	}
	const n = 24000
	if int(float64(n)*0.9) != n-int(math.Round(0.1*float64(n))) {
		t.Fatalf("the text of %d bytes is cut at different bytes by the script and by eval", n)
	}
	dir := t.TempDir()
	text := filepath.Join(dir, "words.txt")
	if err := os.WriteFile(text, wordText(n, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"gpt", "lstm"} {
		t.Run(arch, func(t *testing.T) {
			weights := filepath.Join(dir, arch+".safetensors")
			out, err := exec.Command(py, script, arch, text, "2", "8", "--save", weights).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
			var peer struct {
				TestLoss float64 `json:"test_loss"`
			}
			_, line, ok := strings.Cut(string(out), "RESULT ")
			if !ok || json.Unmarshal([]byte(strings.TrimSpace(line)), &peer) != nil || peer.TestLoss == 0 {
				t.Fatalf("no RESULT line with a test_loss in:\n%s", out)
			}
			var stdout, stderr bytes.Buffer
			code := runMain([]string{"eval", "--weights", weights, "--arch", arch, "--data", text, "--json"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("eval: status %d: %s", code, stderr.String())
			}
			var got evalResult
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("eval --json: %v: %s", err, stdout.String())
			}
			if !got.LanguageModel || got.Samples != (n-int(0.9*n)-1)/128*128 {
				t.Fatalf("eval scored %d tokens (language model %v), want every target of the test part's full windows", got.Samples, got.LanguageModel)
			}
			if d := math.Abs(got.Loss - peer.TestLoss); d > 0.002 {
				t.Fatalf("test loss %.6f nats/token, PyTorch's %.6f: differ by %.4g", got.Loss, peer.TestLoss, d)
			}
			t.Logf("%s: test loss %.6f, PyTorch %.6f", arch, got.Loss, peer.TestLoss)
		})
	}
}
