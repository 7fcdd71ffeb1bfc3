package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchLM runs bench --workload lm on a small text: one JSON line
// with the W-LM fields, a test loss below that of a uniform guess over
// the 256 bytes after training, and usage errors for a bad model or
// step count, a failure for a text too short to split.
func TestBenchLM(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "bench", "--workload", "lm", "--model", "lstm", "--data", text, "--steps", "5", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &row); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	if row["workload"] != "lm" || row["model"] != "lstm" || row["steps"] != 5.0 || row["threads"] != 1.0 {
		t.Errorf("row %v", row)
	}
	if tps, _ := row["tokens_per_second"].(float64); !(tps > 0) {
		t.Errorf("tokens_per_second %v", row["tokens_per_second"])
	}
	if loss, _ := row["test_loss"].(float64); !(loss > 0 && loss < math.Log(256)) {
		t.Errorf("test loss %v: want it below a uniform guess's %.3f", row["test_loss"], math.Log(256))
	}
	short := filepath.Join(dir, "short.txt")
	if err := os.WriteFile(short, []byte("too short"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--model", "gru", "--data", text}, 2, "--model \"gru\""},
		{[]string{"--steps", "0", "--data", text}, 2, "--steps 0"},
		{[]string{"--data", short}, 1, "the text has 9 bytes"},
		{[]string{"--data", filepath.Join(dir, "missing.txt")}, 1, "missing.txt"},
	} {
		_, stderr, code := run(t, append([]string{"bench", "--workload", "lm"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) || !strings.HasPrefix(stderr, "backprop bench: ") {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}

// TestGoSourceText checks the default text: the Go source of the chosen
// packages, without their tests, when this machine has Go.
func TestGoSourceText(t *testing.T) {
	text, err := goSourceText()
	if err != nil {
		t.Skip(err)
	}
	if len(text) < 100_000 || !strings.Contains(string(text), "package fmt") || strings.Contains(string(text), "func Test") {
		t.Errorf("%d bytes of Go source: want the non-test source of %v", len(text), lmGoPackages)
	}
}

// BenchmarkLMStep times W-LM training steps of both presets on the Go
// source text (profile with -cpuprofile).
func BenchmarkLMStep(b *testing.B) {
	text, err := goSourceText()
	if err != nil {
		b.Skip(err)
	}
	for _, kind := range []string{"gpt", "lstm"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				if _, err := benchLM(kind, text[:20000], 3, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
