package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/backprop-go/backprop/data"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// tinyGPT is a small causal transformer for windows of 16 bytes.
const tinyGPT = "embedding(256,16) posembedding(16) transformer(2,ff=32,causal=1,norm_first=1) layernorm(dims=1) linear(256)"

// textRun trains a model for one epoch on a small text and returns its
// run directory.
func textRun(t *testing.T, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	text := filepath.Join(dir, "words.txt")
	if err := os.WriteFile(text, wordText(4000, 2), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	args := append([]string{"train", "--data", text, "--context", "16", "--epochs", "1", "--out", out, "--quiet"}, extra...)
	if _, stderr, code := run(t, args...); code != 0 {
		t.Fatalf("train: status %d: %s", code, stderr)
	}
	return out
}

func TestGenerateFlags(t *testing.T) {
	runDir := textRun(t, "--model", tinyGPT)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no run", nil, 2, "want one RUN"},
		{"two runs", []string{runDir, runDir}, 2, "want one RUN"},
		{"no checkpoint", []string{t.TempDir()}, 2, "no checkpoint"},
		{"tokens 0", []string{runDir, "--tokens", "0"}, 2, "--tokens 0"},
		{"negative temperature", []string{runDir, "--temperature", "-1"}, 2, "--temperature"},
		{"NaN temperature", []string{runDir, "--temperature", "NaN"}, 2, "--temperature"},
		{"negative top-k", []string{runDir, "--top-k", "-2"}, 2, "--top-k"},
		{"empty prompt", []string{runDir, "--prompt", ""}, 2, "--prompt"},
		{"unknown flag", []string{runDir, "--temprature", "1"}, 2, "did you mean --temperature"},
		{"threads", []string{runDir, "--threads", "-1"}, 2, "--threads"},
		{"ok", []string{runDir, "--tokens", "5", "--prompt", "the "}, 0, "tokens/s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := run(t, append([]string{"generate"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("status %d (want %d), stderr %q (want it to say %q)", code, c.code, stderr, c.want)
			}
			if code == 0 && !strings.HasPrefix(stdout, "the ") {
				t.Fatalf("stdout %q does not start with the prompt", stdout)
			}
			if code != 0 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("a usage error in more than one line: %q", stderr)
			}
		})
	}
}

// TestGenerateSeedAndGreedy: a seed writes the same text twice and another
// seed another text; at temperature 0 every byte is the argmax of the
// model's logits for the text so far, with or without the cache.
func TestGenerateSeedAndGreedy(t *testing.T) {
	runDir := textRun(t, "--model", tinyGPT)
	gen := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := run(t, append([]string{"generate", runDir, "--prompt", "the ", "--quiet"}, args...)...)
		if code != 0 {
			t.Fatalf("generate %v: status %d: %s", args, code, stderr)
		}
		return stdout
	}
	a, b := gen("--seed", "3", "--temperature", "1", "--tokens", "40"), gen("--seed", "3", "--temperature", "1", "--tokens", "40")
	if a != b {
		t.Fatalf("seed 3 twice: %q then %q", a, b)
	}
	if c := gen("--seed", "4", "--temperature", "1", "--tokens", "40"); c == a {
		t.Fatalf("seeds 3 and 4 both wrote %q", a)
	}
	greedy := gen("--temperature", "0", "--tokens", "11")
	if nc := gen("--temperature", "0", "--tokens", "11", "--no-cache"); nc != greedy {
		t.Fatalf("greedy with the cache %q, without %q", greedy, nc)
	}
	m, err := loadSaved(runDir)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{'t', 'h', 'e', ' '}
	var want bytes.Buffer
	w := &textWriter{w: &want, dec: data.NewTextDecoder(nil)}
	for range 11 {
		x := tensor.NewInt64(append([]int64(nil), ids...), 1, len(ids))
		logits := m.model.Forward(ag.NoGraph(x)).Data.Data()
		last := logits[(len(ids)-1)*256:]
		best := 0
		for j, v := range last {
			if v > last[best] {
				best = j
			}
		}
		ids = append(ids, int64(best))
		if err := w.token(int64(best)); err != nil {
			t.Fatal(err)
		}
	}
	w.close()
	if greedy != "the "+want.String() {
		t.Fatalf("greedy %q, argmax %q", greedy, "the "+want.String())
	}
}

// TestTextCharTokenizerRoundTrip: a char-tokenized lstm saves its
// vocabulary; eval and generate load it back, and resume continues the
// run.
func TestTextCharTokenizerRoundTrip(t *testing.T) {
	runDir := textRun(t, "--tokenizer", "char", "--model", "lstm")
	stdout, stderr, code := run(t, "eval", runDir, "--json")
	if code != 0 {
		t.Fatalf("eval: status %d: %s", code, stderr)
	}
	var r evalResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Tokenizer != "char" || !r.LanguageModel || !(r.Perplexity > 1) {
		t.Fatalf("eval --json %s (%v): want a char language model's figures", stdout, err)
	}
	stdout, stderr, code = run(t, "generate", runDir, "--prompt", "the dog", "--tokens", "30", "--quiet")
	if code != 0 || !utf8.ValidString(stdout) || utf8.RuneCountInString(stdout) != len("the dog")+30+1 {
		t.Fatalf("generate: status %d, %q (%s): want the prompt, 30 characters and a newline", code, stdout, stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", runDir, "--epochs", "2", "--quiet"); code != 0 {
		t.Fatalf("resume: status %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", runDir, "--epochs", "3", "--tokenizer", "byte"); code != 2 || !strings.Contains(stderr, "--tokenizer") {
		t.Fatalf("resume with another tokenizer: status %d: %s", code, stderr)
	}
}

func TestTextTrainErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(text, wordText(3000, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"vocabulary", []string{"--model", "embedding(256,8) lstm(8) linear(10)"}, "linear(256)"},
		{"not a language model", []string{"--model", "flatten linear(256)"}, "embedding"},
		{"tokenizer", []string{"--tokenizer", "word"}, "--tokenizer"},
		{"context", []string{"--context", "0"}, "--context"},
		{"too short", []string{"--context", "5000"}, "longer text"},
		{"val split", []string{"--val-split", "0.1"}, "--val-split"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"train", "--data", text, "--epochs", "1", "--out", filepath.Join(t.TempDir(), "r"), "--quiet"}, c.args...)
			_, stderr, code := run(t, args...)
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Fatalf("status %d, stderr %q: want status 2 and %q", code, stderr, c.want)
			}
		})
	}
	if _, stderr, code := run(t, "train", "--data", "mnist", "--model", "gpt", "--epochs", "1"); code != 2 || !strings.Contains(stderr, "language model") {
		t.Fatalf("--model gpt on mnist: status %d: %s", code, stderr)
	}
}

// TestGenerateInterrupt: SIGINT stops a long generation with status 130.
func TestGenerateInterrupt(t *testing.T) {
	runDir := textRun(t, "--model", tinyGPT)
	cmd := exec.Command(binary, "generate", runDir, "--tokens", "1000000", "--no-cache", "--prompt", "x")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := io.ReadAtLeast(out, buf, 8); err != nil { // tokens are streaming
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGINT)
	go io.Copy(io.Discard, out)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("still running a minute after SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("status %d, stderr %q: want 130 and an interrupted message", code, stderr.String())
	}
}

func TestTextWriterHoldsIncompleteUTF8(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want []string // what has been written after each byte
	}{
		{"ascii", []byte("ab"), []string{"a", "ab"}},
		{"two-byte", []byte("é"), []string{"", "é"}},
		{"four-byte", []byte("😀"), []string{"", "", "", "😀"}},
		{"invalid", []byte{0xff, 'a'}, []string{"\uFFFD", "\uFFFDa"}},
		{"broken sequence", []byte{0xc3, 'a'}, []string{"", "\uFFFDa"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			w := &textWriter{w: &b, dec: data.NewTextDecoder(nil)}
			for i, x := range c.in {
				if err := w.token(int64(x)); err != nil {
					t.Fatal(err)
				}
				if b.String() != c.want[i] {
					t.Fatalf("after byte %d: %q, want %q", i, b.String(), c.want[i])
				}
			}
		})
	}
	var b bytes.Buffer
	w := &textWriter{w: &b, dec: data.NewTextDecoder(nil)}
	w.token(0xe2)
	w.close()
	if b.String() != "\uFFFD\n" {
		t.Fatalf("an unfinished character at the end: %q, want U+FFFD and a newline", b.String())
	}
}

func TestSummaryTextPresets(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"gpt"}, []string{"posembedding(128)", "Input shape: [N, 128]", "Total params: 875,520"}},
		{[]string{"lstm", "--context", "64", "--vocab", "80"}, []string{"embedding(80,64) lstm(256) linear(80)", "[N, 64, 80]"}},
	}
	for _, c := range cases {
		stdout, stderr, code := run(t, append([]string{"summary"}, c.args...)...)
		for _, w := range c.want {
			if code != 0 || !strings.Contains(stdout, w) {
				t.Fatalf("summary %v: status %d, %q %s: want %q", c.args, code, stdout, stderr, w)
			}
		}
	}
	if _, stderr, code := run(t, "summary", "gpt", "--context", "0"); code != 2 || !strings.Contains(stderr, "--context") {
		t.Fatalf("summary gpt --context 0: status %d: %s", code, stderr)
	}
}
