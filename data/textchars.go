package data

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxCharVocabulary bounds a character vocabulary: ids are uint16.
const MaxCharVocabulary = 1 << 16

// CharVocabulary is a character-level tokenizer: token i is Chars[i], and
// the last id, len(Chars), stands for any character outside Chars (and
// for bytes that are not UTF-8), so that any text encodes. Build one from
// a training text with [NewCharVocabulary]; a checkpoint stores Chars.
type CharVocabulary struct {
	Chars []rune
	index map[rune]uint16
}

// NewCharVocabulary returns the vocabulary of the distinct characters of
// text, in code point order.
func NewCharVocabulary(text []byte) (*CharVocabulary, error) {
	seen := map[rune]bool{}
	for len(text) > 0 {
		r, n := utf8.DecodeRune(text)
		text = text[n:]
		if r != utf8.RuneError || n > 1 {
			seen[r] = true
		}
	}
	chars := make([]rune, 0, len(seen))
	for r := range seen {
		chars = append(chars, r)
	}
	slices.Sort(chars)
	return CharVocabularyOf(chars)
}

// CharVocabularyOf returns the vocabulary of chars (distinct, as saved).
func CharVocabularyOf(chars []rune) (*CharVocabulary, error) {
	if len(chars)+1 > MaxCharVocabulary {
		return nil, fmt.Errorf("data: %d distinct characters: a character vocabulary holds at most %d", len(chars), MaxCharVocabulary-1)
	}
	v := &CharVocabulary{Chars: chars, index: make(map[rune]uint16, len(chars))}
	for i, r := range chars {
		if _, dup := v.index[r]; dup {
			return nil, fmt.Errorf("data: character %q twice in a vocabulary", r)
		}
		v.index[r] = uint16(i)
	}
	return v, nil
}

// Size is the number of token ids: the characters and the unknown one.
func (v *CharVocabulary) Size() int { return len(v.Chars) + 1 }

// Unknown is the id of characters outside the vocabulary.
func (v *CharVocabulary) Unknown() int64 { return int64(len(v.Chars)) }

// Encode returns the ids of text's characters.
func (v *CharVocabulary) Encode(text []byte) []uint16 {
	out := make([]uint16, 0, len(text))
	for len(text) > 0 {
		r, n := utf8.DecodeRune(text)
		text = text[n:]
		id, ok := v.index[r]
		if !ok {
			id = uint16(len(v.Chars))
		}
		out = append(out, id)
	}
	return out
}

// Decode returns the text of ids; the unknown id (and any id outside the
// vocabulary) is written as U+FFFD.
func (v *CharVocabulary) Decode(ids []int64) string {
	var b strings.Builder
	for _, id := range ids {
		if id >= 0 && id < int64(len(v.Chars)) {
			b.WriteRune(v.Chars[id])
		} else {
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}
