package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/backprop-go/backprop/dashboard/playground"
)

// Playground serves one playground engine to the page. The engine lives
// in memory only; requests that change it (reset, train, advance) are
// POSTs, and nothing is ever written to disk.
type Playground struct {
	mu  sync.Mutex
	eng *playground.Engine
}

// maxTrainSteps caps the steps of one train request, so that a request
// returns quickly whatever the page asks.
const maxTrainSteps = 500

// maxBodyBytes caps a playground request's body; the page sends a few
// hundred bytes.
const maxBodyBytes = 64 << 10

// readBody reads r's body, at most limit bytes. On failure it returns the
// status to answer: 413 for a body over the limit, 400 otherwise.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, int, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over %d bytes", limit)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request body: %v", err)
	}
	return b, 0, nil
}

// decodeStrict decodes one JSON value from b into v: an empty body is
// the empty object, and unknown fields or trailing data are errors, so
// that a mistyped setting is refused rather than silently ignored.
func decodeStrict(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// jsonError answers {"error": msg} with the status.
func jsonError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// NewPlayground returns a playground starting from cfg (zero for the
// defaults).
func NewPlayground(cfg playground.Config) (*Playground, error) {
	e, err := playground.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Playground{eng: e}, nil
}

// serveAPI answers /api/playground/NAME:
//
//	GET  state    the current State
//	POST reset    body: a playground.Config; a fresh network and data set
//	POST train    body: {"steps": n}; n whole training steps (1 to 500)
//	POST advance  the next stage of the step mode
//	POST tune     body: {"lr": x, "l2": y}; new rates from the next step on
//
// Every answer is the State after the request.
func (p *Playground) serveAPI(w http.ResponseWriter, r *http.Request, name string) {
	want := http.MethodPost
	if name == "state" {
		want = http.MethodGet
	}
	switch name {
	case "state", "reset", "train", "advance", "tune":
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != want && !(want == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", want)
		jsonError(w, http.StatusMethodNotAllowed, "method not allowed: use "+want)
		return
	}
	// The body is read whole before the engine's lock is taken: a client
	// that sends half a body and stops holds only its own request (until
	// the server's read timeout), never the engine for everyone else.
	body, status, err := readBody(w, r, maxBodyBytes)
	if err != nil {
		jsonError(w, status, err.Error())
		return
	}
	// Decode and check the request outside the lock too.
	var cfg playground.Config
	var steps struct {
		Steps int `json:"steps"`
	}
	var tune struct {
		LR *float64 `json:"lr"`
		L2 *float64 `json:"l2"`
	}
	switch name {
	case "reset":
		if err := decodeStrict(body, &cfg); err != nil {
			jsonError(w, http.StatusBadRequest, "bad configuration: "+err.Error())
			return
		}
	case "train":
		if err := decodeStrict(body, &steps); err != nil || steps.Steps < 1 || steps.Steps > maxTrainSteps {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("want {\"steps\": n} with n from 1 to %d", maxTrainSteps))
			return
		}
	case "tune":
		if err := decodeStrict(body, &tune); err != nil || tune.LR == nil || tune.L2 == nil {
			jsonError(w, http.StatusBadRequest, "want {\"lr\": x, \"l2\": y}")
			return
		}
	}
	var e *playground.Engine
	if name == "reset" {
		// A new engine is built outside the lock: its configuration is
		// checked against the playground's limits before anything is
		// allocated (playground.New refuses it otherwise).
		if e, err = playground.New(cfg); err != nil {
			jsonError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch name {
	case "reset":
		p.eng = e
	case "train":
		p.eng.Train(steps.Steps)
	case "advance":
		p.eng.Advance()
	case "tune":
		if err := p.eng.Tune(*tune.LR, *tune.L2); err != nil {
			jsonError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	writeJSON(w, p.eng.State())
}
