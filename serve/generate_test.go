package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
)

// lmContext is the window of the test's language model.
const lmContext = 16

// languageModel is a small byte-level GPT with random weights.
func languageModel(t testing.TB) Model {
	t.Helper()
	spec := nn.GPTSpec(nn.GPTConfig{Layers: 1, Dim: 16, Heads: 2, FeedForward: 32, Context: lmContext, Vocab: data.TextVocabulary})
	m, err := nn.Build(spec, []int{lmContext}, nn.Seed(7))
	if err != nil {
		t.Fatal(err)
	}
	nn.Eval(m)
	return Model{Module: m, Arch: spec, InputShape: []int{lmContext}, Language: &LanguageModel{Context: lmContext}}
}

// wantText is what the library generates for the request, decoded as the
// server decodes it.
func wantText(t testing.TB, m Model, prompt string, n int, s nn.Sampling) string {
	t.Helper()
	g, err := nn.NewGenerator(m.Module, nn.GeneratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dec := data.NewTextDecoder(nil)
	var b strings.Builder
	err = g.Generate(context.Background(), data.EncodeText(prompt, nil), n, s, func(tok int64) error {
		b.Write(dec.Token(tok))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Write(dec.Flush())
	return b.String()
}

// readStream reads an answer of /v1/generate: the text of its lines, and
// its last line.
func readStream(t testing.TB, resp *http.Response) (string, generateChunk) {
	t.Helper()
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("Content-Type %q, want application/x-ndjson", ct)
	}
	var text strings.Builder
	var last generateChunk
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var c generateChunk
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if c.Text != nil {
			text.WriteString(*c.Text)
		}
		last = c
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return text.String(), last
}

func TestGenerateStreamsTheLibrarysText(t *testing.T) {
	m := languageModel(t)
	cfg := testConfig()
	cfg.ReadTimeout = 20 * time.Millisecond // a generation outlasting it is not cut off
	url, _ := start(t, m, cfg)
	cases := []struct {
		name string
		body string
		want nn.Sampling
		n    int
	}{
		{"defaults", `{"prompt": "func main"}`, nn.Sampling{Temperature: 0.8, Seed: 1}, 128},
		{"greedy", `{"prompt": "package", "tokens": 40, "temperature": 0}`, nn.Sampling{Seed: 1}, 40},
		{"top-k and seed", `{"prompt": "x", "tokens": 300, "top_k": 5, "seed": 9}`, nn.Sampling{Temperature: 0.8, TopK: 5, Seed: 9}, 300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var req generateRequest
			if err := json.Unmarshal([]byte(c.body), &req); err != nil {
				t.Fatal(err)
			}
			want := wantText(t, m, req.Prompt, c.n, c.want)
			// Concurrent requests get the same text as one alone.
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					resp, err := http.Post(url+"/v1/generate", "application/json", strings.NewReader(c.body))
					if err != nil {
						t.Error(err)
						return
					}
					if resp.StatusCode != http.StatusOK {
						t.Errorf("status %d", resp.StatusCode)
						resp.Body.Close()
						return
					}
					got, last := readStream(t, resp)
					if got != want {
						t.Errorf("text %q, want %q", got, want)
					}
					if !last.Done || last.Tokens != c.n || last.Error != "" {
						t.Errorf("last line %+v, want done after %d tokens", last, c.n)
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestGenerateRefusals(t *testing.T) {
	m := languageModel(t)
	cfg := testConfig()
	cfg.MaxTokens = 50
	url, _ := start(t, m, cfg)
	imageURL, _ := start(t, imageModel(t), testConfig())
	cases := []struct {
		name, url, path, body string
		status                int
		msg                   string
	}{
		{"malformed JSON", url, "/v1/generate", `{"prompt": 3}`, 400, "not a JSON generation request"},
		{"truncated JSON", url, "/v1/generate", `{"prompt": `, 400, "unexpected EOF"},
		{"unknown field", url, "/v1/generate", `{"prompt": "a", "max_tokens": 3}`, 400, "unknown field"},
		{"two objects", url, "/v1/generate", `{"prompt": "a"} {}`, 400, "more after its JSON object"},
		{"no tokens", url, "/v1/generate", `{"prompt": "a", "tokens": 0}`, 400, "tokens 0: want 1 to 50"},
		{"too many tokens", url, "/v1/generate", `{"prompt": "a", "tokens": 51}`, 400, "want 1 to 50"},
		{"negative temperature", url, "/v1/generate", `{"prompt": "a", "temperature": -1}`, 400, "temperature -1"},
		{"negative top-k", url, "/v1/generate", `{"prompt": "a", "top_k": -2}`, 400, "top_k -2"},
		{"empty prompt", url, "/v1/generate", `{"prompt": ""}`, 400, "prompt is empty"},
		{"body over the limit", url, "/v1/generate", `{"prompt": "` + strings.Repeat("a", 2<<20) + `"}`, 413, ""},
		{"predict on a language model", url, "/v1/predict", `{"inputs": [[1]]}`, 404, "use POST /v1/generate"},
		{"generate on an image model", imageURL, "/v1/generate", `{"prompt": "a"}`, 404, "not a language model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(c.url+c.path, "application/json", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("status %d, body not a JSON error: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != c.status || !strings.Contains(e.Error, c.msg) {
				t.Errorf("status %d %q, want %d with %q", resp.StatusCode, e.Error, c.status, c.msg)
			}
		})
	}
	// And the server goes on writing.
	resp, err := http.Post(url+"/v1/generate", "application/json", strings.NewReader(`{"prompt": "ok", "tokens": 5}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, last := readStream(t, resp); !last.Done || last.Tokens != 5 {
		t.Errorf("after the refusals: last line %+v", last)
	}
	var info ModelInfo
	r, err := http.Get(url + "/v1/model")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if err := json.NewDecoder(r.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.Task != "language_model" || info.Input != "tokens" || info.Outputs != data.TextVocabulary {
		t.Errorf("/v1/model: task %q, input %q, outputs %d; want language_model, tokens, %d", info.Task, info.Input, info.Outputs, data.TextVocabulary)
	}
}

// TestGenerateClientGoesAway: a client that stops reading mid-stream
// frees its generation slot; the next request is answered.
func TestGenerateClientGoesAway(t *testing.T) {
	m := languageModel(t)
	cfg := testConfig()
	cfg.Workers = 1 // one slot: a leaked one would block the next request
	cfg.MaxTokens = 100000
	url, _ := start(t, m, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/generate", strings.NewReader(`{"prompt": "a", "tokens": 100000}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 1)
	if _, err := resp.Body.Read(line); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	resp, err = http.Post(url+"/v1/generate", "application/json", strings.NewReader(`{"prompt": "b", "tokens": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, last := readStream(t, resp); !last.Done || last.Tokens != 3 {
		t.Errorf("after a client went away: last line %+v", last)
	}
}
