package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
)

// LanguageModel makes a Model a language model, whose input is a window
// of token ids: the server answers POST /v1/generate with it, and refuses
// POST /v1/predict.
type LanguageModel struct {
	// Vocabulary is the character vocabulary of a model trained with the
	// char tokenizer; nil for byte tokens.
	Vocabulary *data.CharVocabulary
	// Context is the model's window, in tokens (its input shape).
	Context int
}

// DefaultMaxTokens is the default of Config.MaxTokens.
const DefaultMaxTokens = 1024

// generateRequest is the body of POST /v1/generate.
type generateRequest struct {
	Prompt      string   `json:"prompt"`
	Tokens      *int     `json:"tokens"`      // default 128 (at most Config.MaxTokens)
	Temperature *float64 `json:"temperature"` // default 0.8; 0 is greedy
	TopK        int      `json:"top_k"`       // 0: every token
	Seed        *uint64  `json:"seed"`        // default 1
}

// generateChunk is one line of the answer of POST /v1/generate.
type generateChunk struct {
	Text            *string `json:"text,omitempty"`
	Done            bool    `json:"done,omitempty"`
	Tokens          int     `json:"tokens,omitempty"`
	Seconds         float64 `json:"seconds,omitempty"`
	TokensPerSecond float64 `json:"tokens_per_second,omitempty"`
	Error           string  `json:"error,omitempty"`
}

// newGenerator builds the generator of a language model: with a key-value
// cache where every layer has a step-by-step form, else re-running the
// window for each token.
func newGenerator(m Model) (*nn.Generator, error) {
	g, err := nn.NewGenerator(m.Module, nn.GeneratorOptions{})
	if err != nil {
		var err2 error
		if g, err2 = nn.NewGenerator(m.Module, nn.GeneratorOptions{NoCache: true, Context: m.Language.Context}); err2 != nil {
			return nil, fmt.Errorf("serve: the language model cannot generate: %w", err)
		}
	}
	return g, nil
}

// generate answers POST /v1/generate: newline-delimited JSON, one
// {"text": ...} line as each token is drawn (the text always whole UTF-8
// characters), then {"done": true, "tokens", "seconds",
// "tokens_per_second"}; an error after the first line is sent as an
// {"error": ...} line. Generations run on the request's goroutine, at most
// Config.Workers at once; the rest wait for a turn while their clients do.
func (s *Server) generate(w *recorder, r *http.Request) {
	if s.gen == nil {
		s.error(w, &requestError{http.StatusNotFound, "not_a_language_model", "this model is not a language model: /v1/generate needs one; use POST /v1/predict"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req generateRequest
	if err := dec.Decode(&req); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syn) || errors.As(err, &typ) || strings.HasPrefix(err.Error(), "json: unknown field") {
			s.error(w, badRequest("the body is not a JSON generation request (%v): want {\"prompt\": TEXT, \"tokens\": N, \"temperature\": T, \"top_k\": K, \"seed\": S}", err))
			return
		}
		s.error(w, bodyError(err)) // too large, too slow, cut short
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		s.error(w, badRequest("the body has more after its JSON object: send one request"))
		return
	}
	n, temp, seed := min(128, s.cfg.MaxTokens), 0.8, uint64(1)
	if req.Tokens != nil {
		n = *req.Tokens
	}
	if req.Temperature != nil {
		temp = *req.Temperature
	}
	if req.Seed != nil {
		seed = *req.Seed
	}
	switch {
	case n < 1 || n > s.cfg.MaxTokens:
		s.error(w, badRequest("tokens %d: want 1 to %d", n, s.cfg.MaxTokens))
		return
	case !(temp >= 0) || math.IsInf(temp, 0):
		s.error(w, badRequest("temperature %v: want 0 (greedy) or more", temp))
		return
	case req.TopK < 0:
		s.error(w, badRequest("top_k %d: want 0 (every token) or more", req.TopK))
		return
	}
	ids := data.EncodeText(req.Prompt, s.model.Language.Vocabulary)
	if len(ids) == 0 {
		s.error(w, badRequest("the prompt is empty: give at least one character to continue"))
		return
	}
	select {
	case s.genSlots <- struct{}{}:
		defer func() { <-s.genSlots }()
	case <-r.Context().Done():
		s.error(w, &requestError{499, "canceled", "the client went away"})
		return
	case <-s.stop:
		s.error(w, &requestError{http.StatusServiceUnavailable, "shutting_down", "the server is shutting down"})
		return
	}

	rc := http.NewResponseController(w)
	// The body is read: the server's read timeout, which bounds slow
	// uploads, would otherwise cancel a generation that outlasts it.
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	send := func(c generateChunk) error {
		// Each line gets the write timeout afresh: a long generation to a
		// client that reads is not cut off, a client that stops reading is.
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if err := enc.Encode(c); err != nil {
			return err
		}
		return rc.Flush()
	}
	text := data.NewTextDecoder(s.model.Language.Vocabulary)
	start, count := time.Now(), 0
	err := s.gen.Generate(r.Context(), ids, n, nn.Sampling{Temperature: temp, TopK: req.TopK, Seed: seed}, func(tok int64) error {
		count++
		if b := text.Token(tok); len(b) > 0 {
			t := string(b)
			return send(generateChunk{Text: &t})
		}
		return nil
	})
	if err == nil {
		if b := text.Flush(); len(b) > 0 {
			t := string(b)
			err = send(generateChunk{Text: &t})
		}
	}
	switch {
	case err != nil && r.Context().Err() != nil:
		w.reason = "canceled" // the client went away mid-stream
	case err != nil:
		w.reason = "generate"
		_ = send(generateChunk{Error: err.Error()})
	default:
		sec := time.Since(start).Seconds()
		_ = send(generateChunk{Done: true, Tokens: count, Seconds: sec, TokensPerSecond: float64(count) / sec})
	}
}
