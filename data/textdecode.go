package data

import "unicode/utf8"

// EncodeText returns the token ids of text: its bytes, or with a
// character vocabulary the ids of its characters.
func EncodeText(text string, vocab *CharVocabulary) []int64 {
	if vocab != nil {
		ids := vocab.Encode([]byte(text))
		out := make([]int64, len(ids))
		for i, id := range ids {
			out[i] = int64(id)
		}
		return out
	}
	out := make([]int64, len(text))
	for i := range len(text) {
		out[i] = int64(text[i])
	}
	return out
}

// TextDecoder turns a stream of generated token ids back into text that
// is always valid UTF-8, so that it can be written (or put in JSON) token
// by token: byte tokens that end in the middle of a character are held
// until the character is complete, and a byte that cannot start or
// continue one becomes U+FFFD. A TextDecoder is for one stream; it is not
// safe for concurrent use.
type TextDecoder struct {
	vocab   *CharVocabulary // nil: byte tokens
	pending []byte
}

// NewTextDecoder returns a decoder for byte tokens (vocab nil) or for the
// ids of a character vocabulary.
func NewTextDecoder(vocab *CharVocabulary) *TextDecoder { return &TextDecoder{vocab: vocab} }

// Token returns the text that token id completes: empty while a
// character's bytes are still arriving.
func (d *TextDecoder) Token(id int64) []byte {
	if d.vocab != nil {
		return []byte(d.vocab.Decode([]int64{id}))
	}
	d.pending = append(d.pending, byte(id))
	var out []byte
	for len(d.pending) > 0 && utf8.FullRune(d.pending) {
		r, size := utf8.DecodeRune(d.pending)
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, d.pending[:size]...)
		}
		d.pending = d.pending[size:]
	}
	if len(d.pending) == 0 {
		d.pending = nil
	}
	return out
}

// Flush returns what is still held at the end of the stream: an
// unfinished character, as U+FFFD (empty when nothing is held).
func (d *TextDecoder) Flush() []byte {
	if len(d.pending) == 0 {
		return nil
	}
	d.pending = nil
	return utf8.AppendRune(nil, utf8.RuneError)
}
