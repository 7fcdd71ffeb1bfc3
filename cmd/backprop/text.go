package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
	"github.com/backprop-go/backprop/train"
)

// Text tokenizers: bytes (vocabulary 256, nothing to fit, any language)
// or the characters of the training text.
const (
	tokenizerByte = "byte"
	tokenizerChar = "char"
)

// metaTextSpec is the checkpoint metadata of a language model: how text
// becomes its tokens.
const metaTextSpec = "text_spec"

// textSpec is how a language model reads text: a checkpoint stores it so
// that eval and generate tokenize as training did.
type textSpec struct {
	Tokenizer string `json:"tokenizer"` // byte or char
	Context   int    `json:"context"`   // input tokens per window
	Vocab     int    `json:"vocab"`     // token ids 0 … Vocab-1
	// Chars, for the char tokenizer, are the vocabulary's characters in id
	// order; the id after the last stands for any other character.
	Chars string `json:"chars,omitempty"`
}

// unit names what a token is, for "bits per byte".
func (s *textSpec) unit() string {
	if s.Tokenizer == tokenizerChar {
		return "char"
	}
	return "byte"
}

// vocabulary returns the char tokenizer's vocabulary (nil for bytes).
func (s *textSpec) vocabulary() (*data.CharVocabulary, error) {
	if s.Tokenizer != tokenizerChar {
		return nil, nil
	}
	return data.CharVocabularyOf([]rune(s.Chars))
}

// validate checks a spec read from a checkpoint.
func (s *textSpec) validate() error {
	switch {
	case s.Tokenizer != tokenizerByte && s.Tokenizer != tokenizerChar:
		return fmt.Errorf("tokenizer %q: want byte or char", shortText(s.Tokenizer))
	case s.Context < 1 || s.Context > data.MaxTextContext:
		return fmt.Errorf("context %d: want 1 to %d", s.Context, data.MaxTextContext)
	case s.Tokenizer == tokenizerByte && s.Vocab != data.TextVocabulary:
		return fmt.Errorf("byte tokens with a vocabulary of %d, want %d", s.Vocab, data.TextVocabulary)
	case s.Tokenizer == tokenizerChar && !utf8.ValidString(s.Chars):
		return fmt.Errorf("characters that are not UTF-8")
	case s.Tokenizer == tokenizerChar && utf8.RuneCountInString(s.Chars)+1 != s.Vocab:
		return fmt.Errorf("%d characters for a vocabulary of %d (want one fewer: the last id is the unknown character)", utf8.RuneCountInString(s.Chars), s.Vocab)
	}
	if s.Tokenizer == tokenizerChar {
		if _, err := s.vocabulary(); err != nil {
			return err
		}
	}
	return nil
}

// encode turns text into token ids.
func (s *textSpec) encode(text string, v *data.CharVocabulary) []int64 {
	return data.EncodeText(text, v)
}

// isTextData reports whether --data names text: a .txt file, or a folder
// of .txt files with no subfolders (an image folder has one per class).
func isTextData(path string) bool {
	info, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !info.IsDir() {
		return strings.EqualFold(filepath.Ext(path), ".txt")
	}
	files, err := textFiles(path)
	return err == nil && len(files) > 0
}

// textFiles lists a folder's .txt files in name order, or none when it has
// a subfolder.
func textFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			return nil, nil
		}
		if strings.EqualFold(filepath.Ext(e.Name()), ".txt") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// readText reads a .txt file, or a folder's .txt files one after another
// in name order, refusing more than data.DefaultMaxTextBytes in all.
func readText(path string) ([]byte, error) {
	files := []string{path}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		var err error
		if files, err = textFiles(path); err != nil {
			return nil, err
		}
	}
	var total int64
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			return nil, usagef("--data %s: not a regular file", f)
		}
		if total += info.Size(); total > data.DefaultMaxTextBytes {
			return nil, usagef("--data %s: over %d bytes of text; give a smaller text", path, int64(data.DefaultMaxTextBytes))
		}
	}
	buf := make([]byte, 0, total)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		buf = append(buf, b...)
	}
	return buf, nil
}

// openText opens a text for a language model: byte tokens, or the
// characters of the training part (or the saved vocabulary, for eval),
// windows of cfg.Context+1 tokens, the last --test-split of the text
// (default 0.1) as its test part.
func openText(cfg dataConfig, log io.Writer) (*dataSource, error) {
	if cfg.ValSplit > 0 {
		return nil, usagef("--val-split with a text: a language model reports its test part (--test-split); drop --val-split")
	}
	b, err := readText(cfg.Data)
	if err != nil {
		return nil, err
	}
	spec := &textSpec{Tokenizer: cfg.Tokenizer, Context: cfg.Context, Vocab: data.TextVocabulary}
	if spec.Tokenizer == "" {
		spec.Tokenizer = tokenizerByte
	}
	if spec.Context == 0 {
		spec.Context = data.DefaultTextContext
	}
	tc := data.TextConfig{Context: spec.Context, TestFraction: cfg.TestSplit, Seed: cfg.Seed}
	var splits *data.TextSplits
	var vocab *data.CharVocabulary
	if spec.Tokenizer == tokenizerChar {
		vocab = cfg.fixedChars
		if vocab == nil {
			// The vocabulary is the training part's: the test part's own
			// characters may be unknown to the model, as a new text's.
			runes := utf8.RuneCount(b)
			cut, off := data.TextCut(runes, cfg.TestSplit), 0
			for range cut {
				_, n := utf8.DecodeRune(b[off:])
				off += n
			}
			if vocab, err = data.NewCharVocabulary(b[:off]); err != nil {
				return nil, usagef("--tokenizer char: %v; use --tokenizer byte", err)
			}
		}
		spec.Vocab, spec.Chars = vocab.Size(), string(vocab.Chars)
		splits, err = data.NewTokenText(vocab.Encode(b), tc)
	} else {
		splits, err = data.NewText(b, tc)
	}
	if err != nil {
		return nil, usagef("--data %s: %v; give a longer text or a smaller --context", cfg.Data, err)
	}
	src := &dataSource{cfg: cfg, kind: "text", train: splits.Train, shape: []int{spec.Context}, text: spec, chars: vocab}
	if splits.Test != nil && splits.Test.Len() > 0 {
		src.test = splits.Test
	}
	testTokens := 0
	if splits.Test != nil {
		testTokens = splits.Test.Bytes()
	}
	fmt.Fprintf(log, "Text %s: %d %ss (%s tokens, vocabulary %d); %d training windows of %d+1 tokens, a test part of %d tokens.\n",
		cfg.Data, splits.Bytes, spec.unit(), spec.Tokenizer, spec.Vocab, splits.Train.Len(), spec.Context, testTokens)
	return src, nil
}

// languageModel reports whether a --model is a text preset.
func languageModel(model string) bool { return model == "gpt" || model == "lstm" }

// textArchitecture expands the gpt and lstm presets for a text's context
// and vocabulary.
func textArchitecture(model string, spec *textSpec) (string, bool) {
	return nn.LanguageModelPreset(model, spec.Context, spec.Vocab)
}

// textStep is a language model's step for Fit and Evaluate: next-token
// prediction over the windows' "ids" and "next" fields.
func textStep() train.StepFunc { return train.NextTokenStep(data.TextInputField, data.TextTargetField) }

// checkTextOutputs makes sure the model maps a window of token ids to one
// row of vocabulary logits per token.
func checkTextOutputs(model nn.Module, spec *textSpec) (err error) {
	defer func() {
		// A spec that does not start with an embedding fails inside the
		// first layer: say what a language model needs instead.
		if r := recover(); r != nil {
			err = usagef("the model cannot read token ids: %v; a language model starts with embedding(%d,DIM)", r, spec.Vocab)
		}
	}()
	x := ag.NoGraph(tensor.NewInt64(make([]int64, spec.Context), 1, spec.Context))
	got := model.Forward(x).Shape()
	if len(got) != 3 || got[1] != spec.Context || got[2] != spec.Vocab {
		return usagef("the model's output has shape %v for a window of %d tokens, but a language model gives [N %d %d]: one row of %d logits per token; end the architecture with linear(%d)",
			got, spec.Context, spec.Context, spec.Vocab, spec.Vocab, spec.Vocab)
	}
	return nil
}

// printTextResult prints a language model's test figures.
func printTextResult(w io.Writer, what string, spec *textSpec, r train.Result) {
	fmt.Fprintf(w, "%s: loss %.4f nats/token, %.4f bits per %s, perplexity %.3f, next-token accuracy %.2f%% on %d tokens.\n",
		what, r.Loss, r.BitsPerToken, spec.unit(), r.Perplexity, 100*r.Accuracy, r.Samples)
}

// checkTextMeta checks a checkpoint's text spec against its input shape.
func (m *savedModel) checkTextMeta() error {
	if m.text == nil {
		return nil
	}
	if err := m.text.validate(); err != nil {
		return fmt.Errorf("%s: metadata %q: %v", m.path, metaTextSpec, err)
	}
	if !slices.Equal(m.shape, []int{m.text.Context}) {
		return fmt.Errorf("%s: metadata %q: context %d, but %q is %v", m.path, metaTextSpec, m.text.Context, metaInputShape, m.shape)
	}
	return nil
}
