package safetensors

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// metadataKey is the header key that holds the metadata instead of a tensor.
const metadataKey = "__metadata__"

// entry is one tensor's header record, checked against the buffer.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	n          int   // number of elements
	begin, end int64 // byte range in the data buffer
}

// header is a parsed and fully validated header.
type header struct {
	entries  []entry // sorted by position in the buffer
	metadata map[string]string
}

// parseHeader parses the JSON header and checks it against a data buffer of
// bufLen bytes. It is written with the token API rather than by decoding into
// a map because a map silently keeps the last of duplicate keys, and a
// struct silently accepts unknown fields and mis-cased names; an untrusted
// file must not be read two ways by two readers.
func parseHeader(data []byte, bufLen int64) (*header, error) {
	if !utf8.Valid(data) {
		return nil, errorf("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := expectDelim(dec, '{', "header"); err != nil {
		return nil, err
	}
	h := &header{metadata: map[string]string{}}
	seen := map[string]bool{}
	for dec.More() {
		key, err := stringToken(dec, "header key")
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, errorf("header has key %q twice", short(key))
		}
		seen[key] = true
		if key == metadataKey {
			if err := parseMetadata(dec, h.metadata); err != nil {
				return nil, err
			}
			continue
		}
		e, err := parseEntry(dec, key)
		if err != nil {
			return nil, err
		}
		h.entries = append(h.entries, e)
	}
	if err := expectDelim(dec, '}', "header"); err != nil {
		return nil, err
	}
	// Only the space padding may follow the object.
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf("header: unexpected data after the JSON object")
	}
	if err := checkLayout(h.entries, bufLen); err != nil {
		return nil, err
	}
	return h, nil
}

// parseMetadata reads the "__metadata__" value into m: an object whose
// values are all strings, or null.
func parseMetadata(dec *json.Decoder, m map[string]string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(metadataKey, err)
	}
	if tok == nil {
		return nil // null: no metadata, as serde's Option reads it
	}
	if tok != json.Delim('{') {
		return errorf("%s is %s, want an object of strings", metadataKey, describe(tok))
	}
	for dec.More() {
		key, err := stringToken(dec, metadataKey+" key")
		if err != nil {
			return err
		}
		if _, dup := m[key]; dup {
			return errorf("%s has key %q twice", metadataKey, short(key))
		}
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(metadataKey, err)
		}
		v, ok := tok.(string)
		if !ok {
			return errorf("%s[%q] is %s, want a string", metadataKey, short(key), describe(tok))
		}
		m[key] = v
	}
	return expectDelim(dec, '}', metadataKey)
}

// parseEntry reads one tensor's {"dtype", "shape", "data_offsets"} object
// and checks it on its own; checkLayout then checks the entries together.
func parseEntry(dec *json.Decoder, name string) (entry, error) {
	e := entry{name: name}
	what := fmt.Sprintf("tensor %q", short(name))
	if err := expectDelim(dec, '{', what); err != nil {
		return e, err
	}
	var dims, offsets []int64
	var haveDType bool
	for dec.More() {
		field, err := stringToken(dec, what+" field")
		if err != nil {
			return e, err
		}
		switch field {
		case "dtype":
			if haveDType {
				return e, errorf("%s: field dtype given twice", what)
			}
			haveDType = true
			s, err := stringToken(dec, what+" dtype")
			if err != nil {
				return e, err
			}
			e.dtype = DType(s)
		case "shape":
			if dims != nil {
				return e, errorf("%s: field shape given twice", what)
			}
			if dims, err = intArray(dec, what+" shape", MaxDims); err != nil {
				return e, err
			}
			if dims == nil {
				dims = []int64{} // a 0-d scalar
			}
		case "data_offsets":
			if offsets != nil {
				return e, errorf("%s: field data_offsets given twice", what)
			}
			if offsets, err = intArray(dec, what+" data_offsets", 2); err != nil {
				return e, err
			}
			if offsets == nil {
				offsets = []int64{}
			}
		default:
			return e, errorf("%s: unknown field %q (want dtype, shape, data_offsets)", what, short(field))
		}
	}
	if err := expectDelim(dec, '}', what); err != nil {
		return e, err
	}
	switch {
	case !haveDType:
		return e, errorf("%s: missing field dtype", what)
	case dims == nil:
		return e, errorf("%s: missing field shape", what)
	case offsets == nil:
		return e, errorf("%s: missing field data_offsets", what)
	}

	size := e.dtype.Size()
	if size == 0 {
		return e, errorf("%s: unknown dtype %q", what, short(string(e.dtype)))
	}
	if !e.dtype.IsFloat() && !e.dtype.IsInt() {
		return e, errorf("%s: dtype %s is not supported (want F32, F64, F16, BF16, an integer type or BOOL)", what, e.dtype)
	}
	if len(dims) > MaxDims {
		return e, errorf("%s: shape has more than %d dimensions", what, MaxDims)
	}
	if len(offsets) != 2 {
		return e, errorf("%s: data_offsets has %d numbers, want 2 ([begin, end])", what, len(offsets))
	}
	e.begin, e.end = offsets[0], offsets[1]
	if e.begin > e.end {
		return e, errorf("%s: data_offsets [%d, %d] end before they begin", what, e.begin, e.end)
	}
	// Multiply in order with overflow checks, as the reference does, so
	// that a shape like [2^40, 2^40, 0] is refused rather than trusted.
	// Every dimension and the count must also fit an int, which on 32-bit
	// platforms is the tighter limit.
	n := int64(1)
	for _, d := range dims {
		if d > math.MaxInt || d != 0 && n > math.MaxInt64/d {
			return e, errorf("%s: shape %s has too many elements", what, fmtDims(dims))
		}
		n *= d
	}
	if n > math.MaxInt || n > math.MaxInt64/int64(size) {
		return e, errorf("%s: shape %s has too many elements", what, fmtDims(dims))
	}
	e.n = int(n)
	e.shape = make([]int, len(dims))
	for i, d := range dims {
		e.shape[i] = int(d)
	}
	if want, got := n*int64(size), e.end-e.begin; want != got {
		return e, errorf("%s: dtype %s and shape %s need %d bytes, data_offsets [%d, %d] hold %d",
			what, e.dtype, fmtDims(dims), want, e.begin, e.end, got)
	}
	return e, nil
}

// checkLayout checks that the entries lie inside the buffer and tile it
// exactly: no overlap (two tensors sharing bytes), no gap, nothing after the
// last tensor. Overlap would let a write through one tensor change another
// in other readers; gaps are refused because the reference refuses them, and
// a file this reader accepts should load everywhere. It sorts the entries by
// offset, which is also the order in which reading them is sequential.
func checkLayout(entries []entry, bufLen int64) error {
	for _, e := range entries {
		if e.end > bufLen {
			return errorf("tensor %q: data_offsets [%d, %d] go past the end of the %d-byte data buffer",
				short(e.name), e.begin, e.end, bufLen)
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), cmp.Compare(a.name, b.name))
	})
	pos, prev := int64(0), ""
	for _, e := range entries {
		switch {
		case e.begin < pos:
			return errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d",
				short(e.name), e.begin, e.end, short(prev), pos)
		case e.begin > pos:
			return errorf("tensor %q: data_offsets [%d, %d] leave a gap of %d unused bytes before it (at %d)",
				short(e.name), e.begin, e.end, e.begin-pos, pos)
		}
		if e.end > e.begin {
			pos, prev = e.end, e.name
		}
	}
	if pos != bufLen {
		return errorf("data buffer has %d bytes, tensors cover only the first %d", bufLen, pos)
	}
	return nil
}

// intArray reads a JSON array of non-negative integers. It refuses one of
// more than limit+1, so that a hostile array of millions costs nothing; the
// caller refuses one of limit+1, with its own message.
func intArray(dec *json.Decoder, what string, limit int) ([]int64, error) {
	if err := expectDelim(dec, '[', what); err != nil {
		return nil, err
	}
	var out []int64
	for dec.More() {
		if len(out) > limit {
			return nil, errorf("%s has more than %d numbers", what, limit+1)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(what, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, errorf("%s: element %d is %s, want a non-negative integer", what, len(out), describe(tok))
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || v < 0 {
			return nil, errorf("%s: element %d is %s, want a non-negative integer below 2^63", what, len(out), num)
		}
		out = append(out, v)
	}
	if err := expectDelim(dec, ']', what); err != nil {
		return nil, err
	}
	return out, nil
}

// stringToken reads a token that must be a string (a value or an object key).
func stringToken(dec *json.Decoder, what string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxError(what, err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", errorf("%s is %s, want a string", what, describe(tok))
	}
	return s, nil
}

// expectDelim reads a token that must be the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(what, err)
	}
	if tok != d {
		want := map[json.Delim]string{'{': "an object", '[': "an array", '}': "the end of the object", ']': "the end of the array"}[d]
		return errorf("%s: found %s, want %s", what, describe(tok), want)
	}
	return nil
}

// syntaxError reports a JSON syntax error (or a header cut short).
func syntaxError(what string, err error) error {
	if errors.Is(err, io.EOF) {
		return errorf("header: JSON ends in the middle of %s", what)
	}
	return errorf("header: invalid JSON in %s: %v", what, err)
}

// describe names a JSON token's type for error messages.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + string(v)
	case string:
		return strconv.Quote(short(v))
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		default:
			return fmt.Sprintf("%q", string(v))
		}
	}
	return fmt.Sprintf("%v", tok)
}

// short truncates a string taken from the file for an error message, so
// that a hostile 100 MB tensor name does not become a 100 MB error.
func short(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// fmtDims formats a shape for an error message, eliding the middle of a
// hostile one with thousands of dimensions.
func fmtDims(dims []int64) string {
	if len(dims) > 8 {
		return fmt.Sprintf("%v ... %v (%d dimensions)", dims[:4], dims[len(dims)-2:], len(dims))
	}
	return fmt.Sprint(dims)
}
