package dashboard

import (
	"encoding/json"
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
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch name {
	case "reset":
		var cfg playground.Config
		if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
			http.Error(w, "bad configuration: "+err.Error(), http.StatusBadRequest)
			return
		}
		e, err := playground.New(cfg)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.eng = e
	case "train":
		var req struct {
			Steps int `json:"steps"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Steps < 1 || req.Steps > maxTrainSteps {
			http.Error(w, "want {\"steps\": n} with n from 1 to 500", http.StatusBadRequest)
			return
		}
		p.eng.Train(req.Steps)
	case "advance":
		p.eng.Advance()
	case "tune":
		var req struct {
			LR float64 `json:"lr"`
			L2 float64 `json:"l2"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "want {\"lr\": x, \"l2\": y}", http.StatusBadRequest)
			return
		}
		if err := p.eng.Tune(req.LR, req.L2); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	writeJSON(w, p.eng.State())
}
