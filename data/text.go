package data

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
)

// Text defaults and limits.
const (
	// DefaultTextContext is the number of input tokens of a window.
	DefaultTextContext = 128
	// DefaultTextTestFraction is the fraction of a text held out as its
	// test part.
	DefaultTextTestFraction = 0.1
	// DefaultMaxTextBytes is the largest text read unless
	// TextConfig.MaxBytes says otherwise.
	DefaultMaxTextBytes = 1 << 30
	// TextVocabulary is the number of byte tokens.
	TextVocabulary = 256
	// MaxTextContext bounds TextConfig.Context.
	MaxTextContext = 1 << 16
	// MaxTextBlocks bounds TextConfig.Blocks.
	MaxTextBlocks = 1 << 16
)

// The names of a Text's integer fields.
const (
	TextInputField  = "ids"
	TextTargetField = "next"
)

// ErrTextTooLarge is wrapped by the error for a text over its size limit.
var ErrTextTooLarge = errors.New("text too large")

// TextConfig says how a text is cut into language-modelling windows.
type TextConfig struct {
	// Context is the number of input tokens per window (T): a window is
	// T+1 bytes, inputs w[:T] and targets w[1:]. 0 means
	// DefaultTextContext.
	Context int
	// TestFraction is the fraction of the text held out as the test part:
	// 0 means DefaultTextTestFraction, a negative value holds out nothing.
	TestFraction float64
	// Blocks cuts the text into this many contiguous blocks of equal size,
	// and the seed chooses which round(TestFraction·Blocks) of them are the
	// test part. 0 or 1: the test part is the last TestFraction of the
	// text. Windows never cross from a training block into a test block,
	// so nothing of the test text is trained on.
	Blocks int
	Seed   uint64
	// MaxBytes is the largest text accepted; 0 means DefaultMaxTextBytes.
	MaxBytes int64
}

func (c TextConfig) withDefaults() (TextConfig, error) {
	if c.Context == 0 {
		c.Context = DefaultTextContext
	}
	if c.TestFraction == 0 {
		c.TestFraction = DefaultTextTestFraction
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxTextBytes
	}
	switch {
	case c.Context < 1 || c.Context > MaxTextContext:
		return c, fmt.Errorf("data: text context %d: want 1 to %d tokens", c.Context, MaxTextContext)
	case !(c.TestFraction < 1) || math.IsNaN(c.TestFraction):
		return c, fmt.Errorf("data: text test fraction %g: want a fraction below 1", c.TestFraction)
	case c.Blocks < 0 || c.Blocks > MaxTextBlocks:
		return c, fmt.Errorf("data: text blocks %d: want 0 to %d", c.Blocks, MaxTextBlocks)
	case c.MaxBytes < 0:
		return c, fmt.Errorf("data: text size limit %d bytes", c.MaxBytes)
	}
	return c, nil
}

// TextSplits are the parts of a text. Test is nil when no test part was
// asked for.
type TextSplits struct {
	Train, Test *Text
	// Bytes is the size of the whole text.
	Bytes int
}

// Text is a byte-level language-modelling data set (vocabulary 256): sample
// i is a window of Context+1 bytes of the text, given as the Int64 fields
// "ids" (w[:T]) and "next" (w[1:]) of shape [T]; its features x are the
// same ids as floats. Consecutive windows start Context bytes apart, so
// every byte of a part but its first is a target exactly once; a last
// partial window is dropped. A Text keeps only the text's bytes and its
// segments' bounds: nothing per window. A Text made by [NewTokenText]
// holds token ids instead of bytes (a character vocabulary's), with the
// same windows counted in tokens.
type Text struct {
	buf     []byte
	ids     []uint16 // the tokens instead of buf's bytes, for NewTokenText
	segs    [][2]int // [start, end) byte ranges of this part
	cum     []int    // cum[s] is the number of windows before segment s
	n       int
	context int
}

// TextFile reads the text file at path (a regular file, at most
// cfg.MaxBytes bytes) and splits it.
func TextFile(path string, cfg TextConfig) (*TextSplits, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > c.MaxBytes {
		return nil, &FileError{File: path, Offset: -1, Err: fmt.Errorf("%w: %d bytes, over the limit of %d", ErrTextTooLarge, st.Size(), c.MaxBytes)}
	}
	s, err := ReadText(f, c)
	if err != nil {
		return nil, &FileError{File: path, Offset: -1, Err: err}
	}
	return s, nil
}

// ReadText reads a text from r, at most cfg.MaxBytes bytes, and splits it.
func ReadText(r io.Reader, cfg TextConfig) (*TextSplits, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(r, c.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > c.MaxBytes {
		return nil, fmt.Errorf("%w: over the limit of %d bytes", ErrTextTooLarge, c.MaxBytes)
	}
	return NewText(b, c)
}

// NewText splits the text b (which it keeps, not copies) into a training
// and a test part.
func NewText(b []byte, cfg TextConfig) (*TextSplits, error) {
	return newSplits(b, nil, len(b), cfg)
}

// NewTokenText splits a text already turned into token ids (such as
// [CharVocabulary.Encode]'s, which it keeps, not copies) as NewText splits
// bytes: the same windows, parts and limits, counted in tokens.
// TextSplits.Bytes is then the number of tokens.
func NewTokenText(ids []uint16, cfg TextConfig) (*TextSplits, error) {
	return newSplits(nil, ids, len(ids), cfg)
}

// TextCut returns the number of tokens of a text of n tokens that go to
// the training part when the test part is the last fraction (Blocks 0 or
// 1): the rule NewText applies, for callers that need the cut before the
// text is split (a vocabulary built from the training part).
func TextCut(n int, testFraction float64) int {
	if testFraction == 0 {
		testFraction = DefaultTextTestFraction
	}
	return n - int(math.Round(max(testFraction, 0)*float64(n)))
}

func newSplits(b []byte, ids []uint16, n int, cfg TextConfig) (*TextSplits, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	frac := max(c.TestFraction, 0)
	var trainSegs, testSegs [][2]int
	if c.Blocks <= 1 {
		cut := TextCut(n, c.TestFraction)
		trainSegs = [][2]int{{0, cut}}
		if c.TestFraction > 0 {
			testSegs = [][2]int{{cut, n}}
		}
	} else {
		k := c.Blocks
		_, held := SplitIndices(k, frac, c.Seed)
		isTest := make([]bool, k)
		for _, j := range held {
			isTest[j] = true
		}
		for j := 0; j < k; {
			e := j + 1
			for e < k && isTest[e] == isTest[j] {
				e++
			}
			seg := [2]int{j * n / k, e * n / k}
			if isTest[j] {
				testSegs = append(testSegs, seg)
			} else {
				trainSegs = append(trainSegs, seg)
			}
			j = e
		}
	}
	s := &TextSplits{Train: newTextPart(b, ids, trainSegs, c.Context), Bytes: n}
	if c.TestFraction > 0 {
		s.Test = newTextPart(b, ids, testSegs, c.Context)
	}
	if s.Train.Len() == 0 {
		return nil, fmt.Errorf("data: a text of %d tokens has no training window of %d+1 tokens", n, c.Context)
	}
	return s, nil
}

func newTextPart(b []byte, ids []uint16, segs [][2]int, context int) *Text {
	t := &Text{buf: b, ids: ids, segs: segs, context: context, cum: make([]int, len(segs))}
	for i, s := range segs {
		t.cum[i] = t.n
		if l := s[1] - s[0]; l > context {
			t.n += (l - 1) / context
		}
	}
	return t
}

// Context returns the number of input tokens of a window.
func (t *Text) Context() int { return t.context }

// Bytes returns the number of bytes (tokens, for NewTokenText) of the
// text in this part.
func (t *Text) Bytes() int {
	n := 0
	for _, s := range t.segs {
		n += s[1] - s[0]
	}
	return n
}

// Window returns the T+1 bytes of window i (a view of the text: do not
// modify it); nil for a text of tokens (NewTokenText).
func (t *Text) Window(i int) []byte {
	start := t.start(i)
	if t.ids != nil {
		return nil
	}
	return t.buf[start : start+t.context+1]
}

// TokenWindow returns the T+1 token ids of window i.
func (t *Text) TokenWindow(i int) []int64 {
	start := t.start(i)
	out := make([]int64, t.context+1)
	for j := range out {
		out[j] = t.token(start + j)
	}
	return out
}

func (t *Text) token(j int) int64 {
	if t.ids != nil {
		return int64(t.ids[j])
	}
	return int64(t.buf[j])
}

// start returns the offset of window i's first token.
func (t *Text) start(i int) int {
	if i < 0 || i >= t.n {
		panic(fmt.Sprintf("data: Text.Window(%d) of %d windows", i, t.n))
	}
	// The last segment whose first window is ≤ i.
	lo, hi := 0, len(t.segs)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if t.cum[mid] <= i {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return t.segs[lo][0] + (i-t.cum[lo])*t.context
}

// Len returns the number of windows.
func (t *Text) Len() int { return t.n }

// Shape is [Context].
func (t *Text) Shape() []int { return []int{t.context} }

// Classes is nil: a text has no classes.
func (t *Text) Classes() []string { return nil }

// TargetSize is 0.
func (t *Text) TargetSize() int { return 0 }

// Sample writes window i's input ids as floats into x.
func (t *Text) Sample(i int, rng *rand.Rand, x, target []float32) (int, error) {
	s := t.start(i)
	for j := range t.context {
		x[j] = float32(t.token(s + j))
	}
	return -1, nil
}

// Fields are "ids" and "next", Int64 [Context].
func (t *Text) Fields() []Field {
	return []Field{{Name: TextInputField, Int: true, Shape: []int{t.context}}, {Name: TextTargetField, Int: true, Shape: []int{t.context}}}
}

// SampleFields writes window i: inputs w[:T], targets w[1:].
func (t *Text) SampleFields(i int, rng *rand.Rand, x, target []float32, f FieldValues) (int, error) {
	s := t.start(i)
	ids, next := f.Ints[TextInputField], f.Ints[TextTargetField]
	for j := range t.context {
		ids[j], next[j] = t.token(s+j), t.token(s+j+1)
		x[j] = float32(ids[j])
	}
	return -1, nil
}
