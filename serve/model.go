package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register the JPEG decoder with image.Decode
	_ "image/png"  // register the PNG decoder with image.Decode
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
)

// Model is a trained model with what is needed to feed it and read its
// outputs. backprop serve fills it from a checkpoint of backprop train;
// a program may fill it from its own model.
type Model struct {
	// Module is the network, in evaluation mode (nn.Eval). The workers
	// share it: Forward on an ag.NoGraph input only reads the weights,
	// and in evaluation mode BatchNorm uses its running statistics and
	// Dropout is the identity, so no layer keeps state between calls.
	Module nn.Module
	// Arch is the architecture spec, shown by GET /v1/model (may be "").
	Arch string
	// InputShape is the shape of one sample, without the batch dimension.
	InputShape []int
	// Classes names the outputs of a classifier; nil for a regression
	// model, whose outputs are answered as values.
	Classes []string
	// Image turns an image into features (decoded, resized and
	// normalised as in training); nil for a model that takes table rows.
	Image *data.ImageSpec
	// CSV turns a table row into features (and a regression output back
	// into the target's units); nil for a model that takes images. With
	// neither spec the model takes JSON "inputs" only.
	CSV *data.CSVSpec
	// Language makes the model a language model: its input is a window of
	// token ids and it answers POST /v1/generate; nil for other models.
	Language *LanguageModel
}

// check reports a Model that cannot be served, and returns the number of
// values of one sample.
func (m *Model) check() (int, error) {
	if m.Module == nil {
		return 0, errors.New("serve: Model.Module is nil")
	}
	if len(m.InputShape) == 0 {
		return 0, errors.New("serve: Model.InputShape is empty")
	}
	size := 1
	for _, d := range m.InputShape {
		if d < 1 || d > 1<<26 || size*d > 1<<26 {
			return 0, fmt.Errorf("serve: Model.InputShape %v: want positive dimensions, at most 2^26 values", m.InputShape)
		}
		size *= d
	}
	if l := m.Language; l != nil {
		if m.Image != nil || m.CSV != nil {
			return 0, errors.New("serve: Model is a language model with an image or CSV spec: a language model takes token ids only")
		}
		if len(m.InputShape) != 1 || m.InputShape[0] != l.Context {
			return 0, fmt.Errorf("serve: Model.Language has a context of %d tokens, the input shape is %v", l.Context, m.InputShape)
		}
	}
	if m.Image != nil && m.CSV != nil {
		return 0, errors.New("serve: Model has both an image and a CSV spec: a model takes images or table rows, not both")
	}
	if m.Image != nil {
		if err := m.Image.Validate(); err != nil {
			return 0, fmt.Errorf("serve: Model.Image: %w", err)
		}
		if !slices.Equal(m.Image.Shape(), m.InputShape) {
			return 0, fmt.Errorf("serve: Model.Image gives %v, the input shape is %v", m.Image.Shape(), m.InputShape)
		}
	}
	if c := m.CSV; c != nil {
		if len(c.FeatureColumns) != size {
			return 0, fmt.Errorf("serve: Model.CSV has %d feature columns, the input shape %v holds %d values", len(c.FeatureColumns), m.InputShape, size)
		}
		for _, j := range c.FeatureColumns {
			if j < 0 || j >= len(c.Columns) {
				return 0, fmt.Errorf("serve: Model.CSV names feature column %d of %d columns", j, len(c.Columns))
			}
		}
		if n := c.Norm; n != nil && (len(n.Mean) != size || len(n.Std) != size) {
			return 0, fmt.Errorf("serve: Model.CSV normalises %d features, the model takes %d", len(n.Mean), size)
		}
	}
	return size, nil
}

// kind names what the model takes, for /v1/model and errors.
func (m *Model) kind() string {
	switch {
	case m.Image != nil:
		return "image"
	case m.CSV != nil:
		return "csv"
	case m.Language != nil:
		return "tokens"
	}
	return "tensor"
}

// requestError is a bad request: its status, a short reason for the
// metrics and the message of the JSON error.
type requestError struct {
	status int
	reason string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{http.StatusBadRequest, "bad_input", fmt.Sprintf(format, args...)}
}

func tooLarge(format string, args ...any) error {
	return &requestError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf(format, args...)}
}

// bodyError turns an error reading a request body into a request error: a
// body over the limit is 413, a client that stopped sending 408.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	var re *requestError
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &mbe):
		return tooLarge("request body is over the limit of %d bytes", mbe.Limit)
	case isTimeout(err):
		return &requestError{http.StatusRequestTimeout, "timeout", "reading the request body timed out"}
	}
	return badRequest("reading the request body: %v", err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// inputs collects the feature vectors of one request, at most maxRows.
type inputs struct {
	size    int
	maxRows int
	x       []float32
	names   []string
}

// next returns room for one more input, or a 413 past the row limit.
func (in *inputs) next(name string) ([]float32, error) {
	if len(in.names) >= in.maxRows {
		return nil, tooLarge("more than %d inputs in one request", in.maxRows)
	}
	n := len(in.x)
	in.x = slices.Grow(in.x, in.size)[:n+in.size]
	in.names = append(in.names, name)
	return in.x[n:], nil
}

// drop removes the last input (a CSV header row).
func (in *inputs) drop() {
	in.x = in.x[:len(in.x)-in.size]
	in.names = in.names[:len(in.names)-1]
}

// image decodes one PNG or JPEG image into features, refusing one whose
// header declares more than maxPixels pixels before decoding it.
func (m *Model) image(in *inputs, name string, r io.Reader, maxPixels int) error {
	if m.Image == nil {
		return badRequest("%s: this model takes %s input, not images", name, m.kind())
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return bodyError(err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return badRequest("%s: not a PNG or JPEG image: %v", name, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return tooLarge("%s: image declares %d×%d pixels, above the limit of %d", name, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return badRequest("%s: decoding image: %v", name, err)
	}
	x, err := in.next(name)
	if err != nil {
		return err
	}
	m.Image.Features(img, x)
	return nil
}

// csvRows reads CSV rows into features as backprop predict does: the
// first row is skipped as a header when it does not read as numbers.
func (m *Model) csvRows(in *inputs, name string, r io.Reader, limits data.CSVLimits) error {
	if m.CSV == nil {
		return badRequest("%s: this model takes %s input, not CSV rows", name, m.kind())
	}
	cr, err := data.NewCSVReader(r, name, 0, limits)
	if err != nil {
		return bodyError(err)
	}
	rows := 0
	for first := true; ; first = false {
		row, line, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bodyError(err)
		}
		x, err := in.next(name + ":" + strconv.Itoa(line))
		if err != nil {
			return err
		}
		if err := m.CSV.RowFeatures(row, x); err != nil {
			in.drop()
			if first {
				continue // a header row
			}
			return badRequest("%s:%d: %v", name, line, err)
		}
		rows++
	}
	if rows == 0 {
		return badRequest("%s: no data rows: want rows of the %d feature columns (or all %d columns)", name, len(m.CSV.FeatureColumns), len(m.CSV.Columns))
	}
	return nil
}

// jsonBody reads {"rows": [[...], ...]} (table rows, preprocessed as CSV
// rows are: numbers, or strings for a label column that is given) or
// {"inputs": [...]} (feature vectors fed to the model as they are, each
// flat or nested, of the input shape's size). It streams the tokens, so
// that a large body never becomes a tree of interface values.
func (m *Model) jsonBody(in *inputs, r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	tok := func() (json.Token, error) {
		t, err := dec.Token()
		if err != nil && !errors.Is(err, io.EOF) {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, badRequest("malformed JSON at byte %d: %v", se.Offset, err)
			}
			return nil, bodyError(err)
		}
		if err != nil {
			return nil, badRequest("malformed JSON: unexpected end of the body")
		}
		return t, nil
	}
	want := func(d json.Delim, what string) error {
		t, err := tok()
		if err != nil {
			return err
		}
		if t != d {
			return badRequest("malformed request: want %s, got %v", what, t)
		}
		return nil
	}
	if err := want('{', `a JSON object {"rows": [[...]]} or {"inputs": [[...]]}`); err != nil {
		return err
	}
	seen := false
	for dec.More() {
		t, err := tok()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if seen || (key != "rows" && key != "inputs") {
			return badRequest(`malformed request: want one key, "rows" or "inputs", got %q`, key)
		}
		seen = true
		if err := want('[', "a list of "+key); err != nil {
			return err
		}
		for i := 0; dec.More(); i++ {
			name := fmt.Sprintf("%s[%d]", key, i)
			if key == "rows" {
				err = m.jsonRow(in, name, tok)
			} else {
				err = m.jsonInput(in, name, tok)
			}
			if err != nil {
				return err
			}
		}
		if _, err := tok(); err != nil { // the list's ]
			return err
		}
	}
	if _, err := tok(); err != nil { // the object's }
		return err
	}
	if !seen || len(in.names) == 0 {
		return badRequest(`malformed request: no inputs: want {"rows": [[...]]} or {"inputs": [[...]]}`)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("malformed JSON: data after the object")
	}
	return nil
}

// jsonRow reads one table row of numbers (or strings) into features.
func (m *Model) jsonRow(in *inputs, name string, tok func() (json.Token, error)) error {
	if m.CSV == nil {
		return badRequest(`%s: this model takes %s input, not table rows: send {"inputs": [...]} of %d values each`, name, m.kind(), in.size)
	}
	t, err := tok()
	if err != nil {
		return err
	}
	if t != json.Delim('[') {
		return badRequest("%s: want a list of fields, got %v", name, t)
	}
	var row []string
	for {
		t, err := tok()
		if err != nil {
			return err
		}
		if t == json.Delim(']') {
			break
		}
		switch v := t.(type) {
		case json.Number:
			row = append(row, string(v))
		case string:
			row = append(row, v)
		default:
			return badRequest("%s: field %d: want a number or a string, got %v", name, len(row)+1, t)
		}
		if len(row) > len(m.CSV.Columns) {
			return badRequest("%s: more than the %d columns of the table", name, len(m.CSV.Columns))
		}
	}
	x, err := in.next(name)
	if err != nil {
		return err
	}
	if err := m.CSV.RowFeatures(row, x); err != nil {
		return badRequest("%s: %v", name, err)
	}
	return nil
}

// jsonInput reads one feature vector, a list nested to any depth whose
// numbers, in order, are the sample's values.
func (m *Model) jsonInput(in *inputs, name string, tok func() (json.Token, error)) error {
	x, err := in.next(name)
	if err != nil {
		return err
	}
	n, depth := 0, 0
	for {
		t, err := tok()
		if err != nil {
			return err
		}
		switch v := t.(type) {
		case json.Delim:
			if v == '[' {
				depth++
				if depth > 16 {
					return badRequest("%s: lists nested more than 16 deep", name)
				}
			} else if v == ']' {
				depth--
			} else {
				return badRequest("%s: want numbers in lists, got %v", name, v)
			}
		case json.Number:
			if depth == 0 || n == len(x) {
				return badRequest("%s: want a list of %d numbers (input shape %v)", name, len(x), m.InputShape)
			}
			f, err := strconv.ParseFloat(string(v), 32)
			if err != nil {
				return badRequest("%s: value %d: %v", name, n+1, err)
			}
			x[n] = float32(f)
			n++
		default:
			return badRequest("%s: want numbers, got %v", name, t)
		}
		if depth == 0 {
			break
		}
	}
	if n != len(x) {
		return badRequest("%s: %d numbers, want %d (input shape %v)", name, n, len(x), m.InputShape)
	}
	return nil
}
