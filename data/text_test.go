package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTextWindowsAndFields(t *testing.T) {
	text := []byte(strings.Repeat("abcdefghij", 10)) // 100 bytes
	s, err := NewText(text, TextConfig{Context: 4, TestFraction: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	// Train is bytes [0, 80): (80-1)/4 = 19 windows; test [80, 100): 4.
	if s.Train.Len() != 19 || s.Test.Len() != 4 || s.Train.Bytes() != 80 || s.Test.Bytes() != 20 {
		t.Fatalf("train %d windows (%d bytes), test %d (%d)", s.Train.Len(), s.Train.Bytes(), s.Test.Len(), s.Test.Bytes())
	}
	if w := string(s.Train.Window(1)); w != "efghi" {
		t.Fatalf("window 1 %q", w)
	}
	if w := string(s.Test.Window(0)); w != "abcde" { // byte 80 is 'a'
		t.Fatalf("test window 0 %q", w)
	}
	l, err := NewLoader(s.Train, LoaderConfig{BatchSize: 8, Shuffle: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for b, err := range l.Epoch(1) {
		if err != nil {
			t.Fatal(err)
		}
		ids, next := b.Int("ids"), b.Int("next")
		if ids.Dim(1) != 4 || next.Dim(1) != 4 {
			t.Fatalf("shapes %v %v", ids.Shape(), next.Shape())
		}
		for k, i := range b.Indices {
			w := s.Train.Window(i)
			for j := range 4 {
				if ids.Int64s()[k*4+j] != int64(w[j]) || next.Int64s()[k*4+j] != int64(w[j+1]) || b.X.Data()[k*4+j] != float32(w[j]) {
					t.Fatalf("sample %d position %d", i, j)
				}
			}
		}
		seen += b.Len()
	}
	if seen != 19 {
		t.Fatalf("%d samples", seen)
	}
}

func TestTextEveryTestByteScoredOnce(t *testing.T) {
	text := make([]byte, 1000)
	for i := range text {
		text[i] = byte(i)
	}
	s, err := NewText(text, TextConfig{Context: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Test part: the last 100 bytes; targets cover bytes 901..(900+7k).
	want := 901
	for i := range s.Test.Len() {
		w := s.Test.Window(i)
		for _, c := range w[1:] {
			if c != byte(want) {
				t.Fatalf("window %d: target %d, want %d", i, c, byte(want))
			}
			want++
		}
	}
	if s.Test.Len() != 99/7 {
		t.Fatalf("%d test windows", s.Test.Len())
	}
}

func TestTextBlocksSplitIsSeededAndDisjoint(t *testing.T) {
	text := make([]byte, 10000)
	for i := range text {
		text[i] = byte(i * 7)
	}
	cfg := TextConfig{Context: 16, TestFraction: 0.25, Blocks: 8, Seed: 5}
	a, err := NewText(text, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewText(text, cfg)
	cfg.Seed = 6
	c, _ := NewText(text, cfg)
	same := func(x, y *Text) bool {
		if x.Len() != y.Len() {
			return false
		}
		for i := range x.Len() {
			if &x.Window(i)[0] != &y.Window(i)[0] {
				return false
			}
		}
		return true
	}
	if !same(a.Test, b.Test) || !same(a.Train, b.Train) {
		t.Fatal("the same seed gave another split")
	}
	if same(a.Test, c.Test) {
		t.Error("another seed gave the same split (possible, but not for these seeds)")
	}
	if a.Test.Bytes() != 2500 || a.Train.Bytes() != 7500 {
		t.Fatalf("test %d train %d bytes", a.Test.Bytes(), a.Train.Bytes())
	}
	// No training window touches a test byte.
	inTest := make([]bool, len(text))
	for _, s := range a.Test.segs {
		for i := s[0]; i < s[1]; i++ {
			inTest[i] = true
		}
	}
	for i := range a.Train.Len() {
		w := a.Train.Window(i)
		off := int(uintptrDiff(w, text))
		for j := range w {
			if inTest[off+j] {
				t.Fatalf("training window %d reads test byte %d", i, off+j)
			}
		}
	}
}

func uintptrDiff(w, text []byte) int {
	for off := range text {
		if &text[off] == &w[0] {
			return off
		}
	}
	return -1
}

func TestTextRefusals(t *testing.T) {
	dir := t.TempDir()
	if _, err := TextFile(dir, TextConfig{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a folder: %v", err)
	}
	p := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 500), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := TextFile(p, TextConfig{Context: 8, MaxBytes: 100}); !errors.Is(err, ErrTextTooLarge) || !strings.Contains(err.Error(), p) {
		t.Errorf("too large: %v", err)
	}
	if _, err := ReadText(bytes.NewReader(make([]byte, 500)), TextConfig{Context: 8, MaxBytes: 100}); !errors.Is(err, ErrTextTooLarge) {
		t.Errorf("reader too large: %v", err)
	}
	if s, err := TextFile(p, TextConfig{Context: 8}); err != nil || s.Train.Len() == 0 || s.Bytes != 500 {
		t.Errorf("a good file: %v", err)
	}
	if _, err := NewText([]byte("short"), TextConfig{Context: 8}); err == nil {
		t.Error("a text shorter than a window accepted")
	}
	for _, c := range []TextConfig{{Context: -1}, {TestFraction: 1}, {Blocks: -2}, {Context: MaxTextContext + 1}} {
		if _, err := NewText(make([]byte, 1000), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	s, err := NewText(make([]byte, 1000), TextConfig{Context: 8, TestFraction: -1})
	if err != nil || s.Test != nil || s.Train.Bytes() != 1000 {
		t.Errorf("no test part: %v", err)
	}
}

// TestTokenTextWindows: a text of character ids is windowed and split
// like bytes, and the vocabulary maps unseen characters to its last id.
func TestTokenTextWindows(t *testing.T) {
	v, err := NewCharVocabulary([]byte("héllo wörld"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Size() != len(v.Chars)+1 || v.Size() != 10 { // " dhlorwéö" and the unknown id
		t.Fatalf("vocabulary %q of size %d", string(v.Chars), v.Size())
	}
	ids := v.Encode([]byte("héllo wörld!"))
	if len(ids) != 12 || int64(ids[11]) != v.Unknown() {
		t.Fatalf("ids %v: want 12, the last the unknown %d", ids, v.Unknown())
	}
	if got := v.Decode([]int64{int64(ids[1]), int64(ids[7]), v.Unknown()}); got != "éö\uFFFD" {
		t.Fatalf("decode: %q", got)
	}
	s, err := NewTokenText(ids, TextConfig{Context: 3, TestFraction: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if cut := TextCut(12, 0.25); cut != 9 || s.Train.Bytes() != 9 || s.Test.Bytes() != 3 {
		t.Fatalf("cut %d: train %d, test %d tokens", cut, s.Train.Bytes(), s.Test.Bytes())
	}
	if s.Train.Len() != 2 || s.Train.Window(0) != nil {
		t.Fatalf("%d training windows (want (9-1)/3 = 2); Window of tokens %v, want nil", s.Train.Len(), s.Train.Window(0))
	}
	w := s.Train.TokenWindow(1)
	for j, id := range w {
		if id != int64(ids[3+j]) {
			t.Fatalf("window 1: %v, want ids[3:7] %v", w, ids[3:7])
		}
	}
	if _, err := CharVocabularyOf([]rune("aa")); err == nil {
		t.Fatal("a vocabulary with a character twice: no error")
	}
}
