package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The default limits of the CSV readers. A line longer than
// DefaultMaxLineBytes or a row with more than DefaultMaxFields fields is
// refused: either is far beyond any table a network is trained on, and
// without a cap one 500 MB line (a binary file given by mistake) would be
// held whole in memory.
const (
	DefaultMaxLineBytes = 1 << 20 // 1 MiB
	DefaultMaxFields    = 100_000
)

// CSVLimits bounds what a CSV reader holds in memory at once. A zero field
// picks its default.
type CSVLimits struct {
	MaxLineBytes int // bytes of one record (quoted newlines included); default DefaultMaxLineBytes
	MaxFields    int // fields of one record; default DefaultMaxFields
}

func (l CSVLimits) withDefaults() CSVLimits {
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	return l
}

// errQuote is the message encoding/csv gives for a broken quoted field; the
// same words are kept so that messages read as before.
var errQuote = errors.New(`extraneous or missing " in quoted-field`)

// csvScanner reads CSV records (RFC 4180, as encoding/csv with its default
// settings: quoted fields may hold separators, doubled quotes and newlines;
// empty lines are skipped; a trailing \r is dropped) into one reused buffer,
// so that reading a row allocates nothing. A record's fields are valid
// until the next call to next.
type csvScanner struct {
	br     *bufio.Reader
	name   string
	comma  []byte
	limits CSVLimits

	line     int // 1-based line where the current record starts
	nextLine int // line the next physical line read will be
	buf      []byte
	ends     []int // end offset in buf of each field
	first    bool  // no record read yet: strip a UTF-8 byte-order mark
}

// newCSVScanner reads from r; name is used in errors.
func newCSVScanner(r io.Reader, name string, comma rune, limits CSVLimits) (*csvScanner, error) {
	if comma == 0 {
		comma = ','
	}
	if comma == '"' || comma == '\r' || comma == '\n' || !utf8.ValidRune(comma) || comma == utf8.RuneError {
		return nil, fmt.Errorf("data: CSV separator %q cannot be used", comma)
	}
	limits = limits.withDefaults()
	// The buffer holds one physical line: ReadSlice fails with
	// ErrBufferFull on a longer one, which is how the line cap is kept
	// without ever holding more than the cap.
	return &csvScanner{br: bufio.NewReaderSize(r, limits.MaxLineBytes+2), name: name,
		comma: utf8.AppendRune(nil, comma), limits: limits, nextLine: 1, first: true}, nil
}

// physLine returns the next physical line without its \n (or \r\n).
func (s *csvScanner) physLine() ([]byte, error) {
	l, err := s.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, &FileError{File: s.name, Line: s.nextLine, Offset: -1,
			Err: fmt.Errorf("line longer than the limit of %d bytes (CSVLimits.MaxLineBytes): not a table of numbers?", s.limits.MaxLineBytes)}
	case err == io.EOF && len(l) == 0:
		return nil, io.EOF
	case err != nil && err != io.EOF:
		return nil, &FileError{File: s.name, Line: s.nextLine, Offset: -1, Err: err}
	}
	s.nextLine++
	l = bytes.TrimSuffix(l, []byte{'\n'})
	l = bytes.TrimSuffix(l, []byte{'\r'})
	if len(l) > s.limits.MaxLineBytes {
		// The buffer has room for the line ending past the cap.
		return nil, &FileError{File: s.name, Line: s.nextLine - 1, Offset: -1,
			Err: fmt.Errorf("line longer than the limit of %d bytes (CSVLimits.MaxLineBytes): not a table of numbers?", s.limits.MaxLineBytes)}
	}
	return l, nil
}

// next reads the next record; it returns io.EOF at the end.
func (s *csvScanner) next() error {
	var l []byte
	var err error
	for {
		if l, err = s.physLine(); err != nil {
			return err
		}
		if s.first {
			l = bytes.TrimPrefix(l, []byte("\uFEFF"))
			s.first = false
		}
		if len(l) > 0 {
			break
		}
	}
	s.line = s.nextLine - 1
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	tooMany := func() error {
		return &FileError{File: s.name, Line: s.line, Offset: -1,
			Err: fmt.Errorf("more than the limit of %d fields in a row (CSVLimits.MaxFields)", s.limits.MaxFields)}
	}
	for {
		if len(s.ends) >= s.limits.MaxFields {
			return tooMany()
		}
		if len(l) == 0 || l[0] != '"' {
			// An unquoted field: up to the separator.
			i := bytes.Index(l, s.comma)
			f := l
			if i >= 0 {
				f = l[:i]
			}
			if bytes.IndexByte(f, '"') >= 0 {
				return &FileError{File: s.name, Line: s.line, Column: len(s.ends) + 1, Offset: -1, Err: errors.New(`bare " in non-quoted-field`)}
			}
			s.buf = append(s.buf, f...)
			s.ends = append(s.ends, len(s.buf))
			if i < 0 {
				return nil
			}
			l = l[i+len(s.comma):]
			continue
		}
		// A quoted field, which may run over several physical lines.
		l = l[1:]
		for {
			i := bytes.IndexByte(l, '"')
			if i < 0 {
				s.buf = append(s.buf, l...)
				s.buf = append(s.buf, '\n')
				if len(s.buf) > s.limits.MaxLineBytes {
					return &FileError{File: s.name, Line: s.line, Offset: -1,
						Err: fmt.Errorf("record longer than the limit of %d bytes (CSVLimits.MaxLineBytes)", s.limits.MaxLineBytes)}
				}
				if l, err = s.physLine(); err != nil {
					if err == io.EOF {
						return &FileError{File: s.name, Line: s.line, Column: len(s.ends) + 1, Offset: -1, Err: errQuote}
					}
					return err
				}
				continue
			}
			s.buf = append(s.buf, l[:i]...)
			l = l[i+1:]
			switch {
			case len(l) > 0 && l[0] == '"': // a doubled quote
				s.buf = append(s.buf, '"')
				l = l[1:]
				continue
			case len(l) == 0: // end of the record
				s.ends = append(s.ends, len(s.buf))
				return nil
			case bytes.HasPrefix(l, s.comma):
				s.ends = append(s.ends, len(s.buf))
				l = l[len(s.comma):]
			default:
				return &FileError{File: s.name, Line: s.line, Column: len(s.ends) + 1, Offset: -1, Err: errQuote}
			}
			break
		}
		if len(l) == 0 {
			// A separator ended the line: one last, empty field.
			if len(s.ends) >= s.limits.MaxFields {
				return tooMany()
			}
			s.ends = append(s.ends, len(s.buf))
			return nil
		}
	}
}

// fields returns the number of fields of the current record.
func (s *csvScanner) fields() int { return len(s.ends) }

// field returns field j of the current record; it is valid until next.
func (s *csvScanner) field(j int) []byte {
	start := 0
	if j > 0 {
		start = s.ends[j-1]
	}
	return s.buf[start:s.ends[j]]
}

// CSVReader reads the records of a CSV file one at a time, in bounded
// memory (see CSVLimits), stripping a UTF-8 byte-order mark. It is the
// reader for prediction; training reads with CSV, which parses numbers as
// it goes.
type CSVReader struct{ s *csvScanner }

// NewCSVReader returns a reader of r; name is used in errors, comma is the
// separator (0 for ',').
func NewCSVReader(r io.Reader, name string, comma rune, limits CSVLimits) (*CSVReader, error) {
	s, err := newCSVScanner(r, name, comma, limits)
	if err != nil {
		return nil, err
	}
	return &CSVReader{s: s}, nil
}

// Read returns the next record and the line it starts on, or io.EOF after
// the last one. Errors are *FileError values naming the file and line.
func (r *CSVReader) Read() (record []string, line int, err error) {
	if err := r.s.next(); err != nil {
		return nil, 0, err
	}
	rec := make([]string, r.s.fields())
	all := string(r.s.buf) // one allocation for the record's fields
	start := 0
	for j, end := range r.s.ends {
		rec[j] = all[start:end]
		start = end
	}
	return rec, r.s.line, nil
}
