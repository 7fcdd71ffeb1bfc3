package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestServeGenerateAsGenerate: POST /v1/generate on a run trained on a
// text streams the text backprop generate prints for the same prompt,
// tokens, temperature and seed, for byte and char tokens.
func TestServeGenerateAsGenerate(t *testing.T) {
	for _, c := range []struct{ tokenizer, model string }{{"byte", tinyGPT}, {"char", "lstm"}} {
		t.Run(c.tokenizer, func(t *testing.T) {
			runDir := textRun(t, "--model", c.model, "--tokenizer", c.tokenizer)
			stdout, stderr, code := run(t, "generate", runDir, "--prompt", "the ", "--tokens", "60", "--temperature", "0.7", "--seed", "4", "--quiet")
			if code != 0 {
				t.Fatalf("generate: status %d: %s", code, stderr)
			}
			want := strings.TrimSuffix(strings.TrimPrefix(stdout, "the "), "\n")
			url := startServe(t, runDir)
			resp, err := http.Post(url+"/v1/generate", "application/json", strings.NewReader(`{"prompt": "the ", "tokens": 60, "temperature": 0.7, "seed": 4}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got strings.Builder
			var last struct {
				Text   *string
				Done   bool
				Tokens int
			}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				last.Text, last.Done = nil, false
				if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				if last.Text != nil {
					got.WriteString(*last.Text)
				}
			}
			if got.String() != want || !last.Done || last.Tokens != 60 {
				t.Errorf("served %q (done %v, %d tokens), generate printed %q", got.String(), last.Done, last.Tokens, want)
			}
		})
	}
}
