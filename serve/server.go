// Package serve answers predictions of a trained model over HTTP: an
// http.Handler to mount in a program's own http.ServeMux, which backprop
// serve runs on its own.
//
// Endpoints:
//
//	POST /v1/predict   one image (raw body, or multipart/form-data files in
//	                   fields "image" or "file"), CSV rows (text/csv, header
//	                   optional), or JSON {"rows": [[...], ...]} (table rows)
//	                   or {"inputs": [[...], ...]} (feature vectors as the
//	                   model takes them); ?top=K classes (default 3). The
//	                   answer is {"predictions": [{"input", "top"|"value"}]}.
//	POST /v1/generate  for language models (Model.Language): JSON
//	                   {"prompt", "tokens", "temperature", "top_k", "seed"};
//	                   the answer streams as newline-delimited JSON, a
//	                   {"text"} line per token, then {"done": true, ...}.
//	                   Other models answer 404 with a JSON error.
//	GET  /v1/model     architecture, classes, input kind, shape and specs.
//	GET  /healthz      200 "ok" while the server is up (never needs a token).
//	GET  /metrics      Prometheus text format: requests by endpoint and
//	                   status, errors by reason, latency and batch size
//	                   histograms, inputs, in-flight requests.
//
// A body whose Content-Type is not JSON or multipart is read in the
// model's own format: an image for an image model, CSV rows for a table
// model. Every error is a 4xx (5xx for the server's own failures) with a
// JSON body {"error": "..."}, and the server goes on serving.
//
// Requests are batched dynamically: the inputs of concurrent requests are
// gathered into one forward pass of up to Config.MaxBatch inputs, sent
// when full or Config.MaxWait after the first arrived, and the batches run
// on Config.Workers goroutines that share the model (evaluation mode,
// ag.NoGraph inputs: no lock), prepared once by nn.NewInference (the
// Winograd weights of its 3×3 convolutions). Batching changes the numbers
// by rounding at most: the tests find an input's outputs the same alone
// and in batches of 7, 32 and 64 for the MLP and CNN presets to within
// 1e-6. (With AVX2 and FMA the convolution blocks give each image the
// bits it gets alone; the dense layers' products may sum in another order
// for a batch than for one input.) So an answer is, to that rounding, the
// one backprop predict prints for the same input.
package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
)

// Config configures a Server. The zero value of each field picks the
// default noted beside it.
type Config struct {
	MaxBatch int           // most inputs per forward pass; default 32
	MaxWait  time.Duration // longest a batch waits to fill; default 2ms, negative: never wait
	Workers  int           // goroutines running forward passes; default GOMAXPROCS
	// Token, when set, must be sent as "Authorization: Bearer TOKEN" on
	// every request but GET /healthz (compared in constant time).
	Token string

	MaxBodyBytes int64 // largest request body; default 16 MiB (413 above)
	MaxPixels    int   // largest image, width × height; default data.DefaultMaxPixels (413 above)
	MaxRows      int   // most inputs in one request; default 1024 (413 above)
	// CSVLimits bounds a CSV body's lines and fields; by default a line
	// of 64 bytes a column (4 KiB to 1 MiB) and twice the table's columns
	// and 16 more fields, so that a row of the wrong width is reported as
	// such and the reader's buffer stays small.
	CSVLimits data.CSVLimits
	QueueLen  int // jobs waiting for the batcher before requests block; default 64 × Workers
	MaxTokens int // most tokens one POST /v1/generate may ask for; default DefaultMaxTokens

	// The http.Server limits used by HTTPServer and Serve.
	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // the whole request, body included; default 30s
	WriteTimeout      time.Duration // default 60s
	IdleTimeout       time.Duration // keep-alive connections; default 120s
	MaxHeaderBytes    int           // default 64 KiB
	MaxConns          int           // open connections; more are answered 503 and closed; default 4096
	ShutdownTimeout   time.Duration // Serve's wait for in-flight requests; default 30s
}

// DefaultMaxBodyBytes is the default request body limit.
const DefaultMaxBodyBytes = 16 << 20

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxBatch, 32)
	defD(&c.MaxWait, 2*time.Millisecond)
	def(&c.Workers, runtime.GOMAXPROCS(0))
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	def(&c.MaxPixels, data.DefaultMaxPixels)
	def(&c.MaxRows, 1024)
	def(&c.QueueLen, 64*c.Workers)
	def(&c.MaxTokens, DefaultMaxTokens)
	defD(&c.ReadHeaderTimeout, 5*time.Second)
	defD(&c.ReadTimeout, 30*time.Second)
	defD(&c.WriteTimeout, 60*time.Second)
	defD(&c.IdleTimeout, 120*time.Second)
	def(&c.MaxHeaderBytes, 64<<10)
	def(&c.MaxConns, 4096)
	defD(&c.ShutdownTimeout, 30*time.Second)
	return c
}

// Server is the http.Handler of a model. Create it with New; Close it
// after the http.Server that uses it has shut down.
type Server struct {
	model   Model
	cfg     Config
	size    int // values per input
	outSize int // values per output
	token   [32]byte

	queue    chan *job
	work     chan []*job
	stop     chan struct{} // closed by Close
	finished chan struct{} // closed when every worker has returned
	once     sync.Once
	workers  sync.WaitGroup
	metrics  *metrics

	gen      *nn.Generator // a language model's; nil for others
	genSlots chan struct{} // one per generation running

	// the model prepared once (its Winograd weights) for the workers
	inference *nn.Inference
}

// New checks the model, runs one zero input through it to learn its
// output size, and starts the batcher and workers.
func New(m Model, cfg Config) (*Server, error) {
	size, err := m.check()
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if m.CSV != nil {
		cols := len(m.CSV.Columns)
		if cfg.CSVLimits.MaxLineBytes <= 0 {
			cfg.CSVLimits.MaxLineBytes = min(max(64*cols, 4<<10), data.DefaultMaxLineBytes)
		}
		if cfg.CSVLimits.MaxFields <= 0 {
			cfg.CSVLimits.MaxFields = 2*cols + 16
		}
	}
	s := &Server{model: m, cfg: cfg, size: size, stop: make(chan struct{}), finished: make(chan struct{})}
	if m.Language != nil {
		if s.gen, err = newGenerator(m); err != nil {
			return nil, err
		}
		s.outSize = s.gen.Vocabulary()
		s.genSlots = make(chan struct{}, cfg.Workers)
	} else {
		s.inference = nn.NewInference(m.Module)
		out, err := s.forward(make([]float32, size), 1)
		if err != nil {
			return nil, fmt.Errorf("serve: running the model on one input: %w", err)
		}
		s.outSize = len(out)
	}
	if s.outSize == 0 {
		return nil, errors.New("serve: the model gives no outputs")
	}
	if m.Classes != nil && len(m.Classes) != s.outSize {
		return nil, fmt.Errorf("serve: %d class names for %d outputs", len(m.Classes), s.outSize)
	}
	if cfg.Token != "" {
		s.token = sha256.Sum256([]byte(cfg.Token))
	}
	s.metrics = newMetrics(cfg.MaxBatch)
	s.queue = make(chan *job, cfg.QueueLen)
	s.work = make(chan []*job)
	go s.batcher()
	s.workers.Add(cfg.Workers)
	for range cfg.Workers {
		go s.worker()
	}
	go func() { s.workers.Wait(); close(s.finished) }()
	return s, nil
}

// Close stops the batcher and the workers once they have finished the
// batches they hold; requests after it are answered 503. Call it after
// http.Server.Shutdown, so that in-flight requests finish first.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.finished
	return nil
}

// endpoints are the paths the server answers, and the metrics' labels.
var endpoints = map[string]string{
	"/v1/predict":  http.MethodPost,
	"/v1/generate": http.MethodPost,
	"/v1/model":    http.MethodGet,
	"/healthz":     http.MethodGet,
	"/metrics":     http.MethodGet,
}

// recorder remembers the status and error reason of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	reason string
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the connection's writer, for its
// deadlines and flushes.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// ServeHTTP answers one request; see the package documentation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	endpoint := r.URL.Path
	method, known := endpoints[endpoint]
	if !known {
		endpoint = "other" // bounded label values, whatever the paths asked
	}
	rec := &recorder{ResponseWriter: w}
	s.metrics.start()
	defer func() {
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.metrics.done(endpoint, rec.status, rec.reason, time.Since(start))
	}()
	switch {
	case !known:
		s.error(rec, &requestError{http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %q: want POST /v1/predict, POST /v1/generate, GET /v1/model, GET /healthz or GET /metrics", shortPath(r.URL.Path))})
		return
	case endpoint != "/healthz" && !s.authorized(r):
		rec.Header().Set("WWW-Authenticate", `Bearer realm="backprop"`)
		s.error(rec, &requestError{http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token: send Authorization: Bearer TOKEN"})
		return
	case r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead):
		rec.Header().Set("Allow", method)
		s.error(rec, &requestError{http.StatusMethodNotAllowed, "method", fmt.Sprintf("%s %s: want %s", r.Method, endpoint, method)})
		return
	}
	switch endpoint {
	case "/healthz":
		rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rec.Write([]byte("ok\n"))
	case "/metrics":
		rec.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.metrics.write(rec, len(s.queue))
	case "/v1/model":
		s.json(rec, http.StatusOK, s.describe())
	case "/v1/generate":
		s.generate(rec, r)
	case "/v1/predict":
		s.predict(rec, r)
	}
}

// authorized reports whether r carries the token, when one is set.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	// Hashes of equal length: the comparison's time says nothing of the
	// token, its length included.
	h := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(h[:], s.token[:]) == 1
}

// ModelInfo is the answer of GET /v1/model.
type ModelInfo struct {
	Architecture string          `json:"architecture,omitempty"`
	Input        string          `json:"input"` // "image", "csv", "tensor" or "tokens"
	InputShape   []int           `json:"input_shape"`
	Outputs      int             `json:"outputs"`
	Task         string          `json:"task"` // "classification", "regression" or "language_model"
	Classes      []string        `json:"classes,omitempty"`
	Image        *data.ImageSpec `json:"image_spec,omitempty"`
	CSV          *data.CSVSpec   `json:"csv_spec,omitempty"`
	Parameters   int             `json:"parameters"`
	MaxBatch     int             `json:"max_batch"`
	MaxRows      int             `json:"max_rows"`
	MaxBodyBytes int64           `json:"max_body_bytes"`
}

func (s *Server) describe() ModelInfo {
	task := "classification"
	switch {
	case s.model.Language != nil:
		task = "language_model"
	case s.model.Classes == nil:
		task = "regression"
	}
	params := 0
	for _, p := range nn.Parameters(s.model.Module) {
		params += p.Data.Size()
	}
	return ModelInfo{
		Architecture: s.model.Arch, Input: s.model.kind(), InputShape: s.model.InputShape,
		Outputs: s.outSize, Task: task, Classes: s.model.Classes, Image: s.model.Image, CSV: s.model.CSV,
		Parameters: params, MaxBatch: s.cfg.MaxBatch, MaxRows: s.cfg.MaxRows, MaxBodyBytes: s.cfg.MaxBodyBytes,
	}
}

// predictResponse is the answer of POST /v1/predict.
type predictResponse struct {
	Predictions []Prediction `json:"predictions"`
}

func (s *Server) predict(w *recorder, r *http.Request) {
	if s.gen != nil {
		s.error(w, &requestError{http.StatusNotFound, "language_model", "this model is a language model: it writes text; use POST /v1/generate"})
		return
	}
	top := 3
	if q := r.URL.Query().Get("top"); q != "" {
		k, err := strconv.Atoi(q)
		if err != nil || k < 1 {
			s.error(w, badRequest("?top=%q: want a whole number of classes, at least 1", shortPath(q)))
			return
		}
		top = k
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	in, err := s.read(r)
	if err != nil {
		s.error(w, err)
		return
	}
	n := len(in.names)
	out, err := s.infer(r.Context(), in.x, n)
	if err != nil {
		if r.Context().Err() != nil {
			err = &requestError{499, "canceled", "the request was canceled"}
		}
		s.error(w, err)
		return
	}
	resp := predictResponse{Predictions: make([]Prediction, n)}
	for i, name := range in.names {
		row := out[i*s.outSize : (i+1)*s.outSize]
		p := Prediction{Input: name}
		if s.model.Classes != nil {
			p.Top = TopClasses(row, s.model.Classes, top)
		} else {
			p.Value = make([]Float, len(row))
			for j, v := range row {
				if s.model.CSV != nil && len(row) == 1 {
					v = s.model.CSV.TargetValue(v) // back to the target's units
				}
				p.Value[j] = Float(v)
			}
		}
		resp.Predictions[i] = p
	}
	s.json(w, http.StatusOK, resp)
}

// read decodes a predict request's inputs by its Content-Type.
func (s *Server) read(r *http.Request) (*inputs, error) {
	in := &inputs{size: s.size, maxRows: s.cfg.MaxRows}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/json":
		return in, s.model.jsonBody(in, r.Body)
	case ct == "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, badRequest("multipart body: %v", err)
		}
		return in, s.multipart(in, mr)
	case s.model.Image != nil:
		return in, s.model.image(in, "image", r.Body, s.cfg.MaxPixels)
	case s.model.CSV != nil:
		return in, s.model.csvRows(in, "body", r.Body, s.cfg.CSVLimits)
	}
	return nil, &requestError{http.StatusUnsupportedMediaType, "media_type", fmt.Sprintf(`Content-Type %q: this model takes JSON {"inputs": [[...]]} of %d values each`, ct, s.size)}
}

// multipart reads the files of fields "image" and "file", each in the
// model's format; other fields are skipped.
func (s *Server) multipart(in *inputs, mr *multipart.Reader) error {
	files := 0
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bodyError(err)
		}
		if name := p.FormName(); name != "image" && name != "file" {
			p.Close()
			continue
		}
		name := p.FileName()
		if name == "" {
			name = p.FormName()
		}
		if s.model.Image != nil {
			err = s.model.image(in, name, p, s.cfg.MaxPixels)
		} else {
			err = s.model.csvRows(in, name, p, s.cfg.CSVLimits)
		}
		p.Close()
		if err != nil {
			return err
		}
		files++
	}
	if files == 0 {
		return badRequest(`multipart body: no file in a field named "image" or "file"`)
	}
	return nil
}

// error answers a request error (any other error is a 500) as JSON.
func (s *Server) error(w *recorder, err error) {
	var re *requestError
	if !errors.As(err, &re) {
		re = &requestError{http.StatusInternalServerError, "internal", err.Error()}
	}
	w.reason = re.reason
	if re.status == http.StatusRequestEntityTooLarge || re.status == http.StatusRequestTimeout {
		w.Header().Set("Connection", "close") // the rest of the body is not read
	}
	status := re.status
	if status == 499 { // no one reads it; record the canceled request
		w.status = status
		return
	}
	s.json(w, status, map[string]string{"error": re.msg})
}

func (s *Server) json(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer: `+strings.ReplaceAll(err.Error(), `"`, `'`)+`"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// shortPath cuts a client's string to a length fit for an error message.
func shortPath(p string) string {
	if len(p) > 80 {
		return strings.ToValidUTF8(p[:80], "") + "..."
	}
	return p
}

// HTTPServer returns an http.Server for addr with the Config's timeouts
// and header limit, serving s.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
	}
}

// Serve serves s on ln, at most Config.MaxConns connections at once, until
// ctx is done; then it stops accepting, waits up to
// Config.ShutdownTimeout for in-flight requests to finish and closes s.
// It returns nil after a graceful shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := s.HTTPServer(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(LimitListener(ln, s.cfg.MaxConns)) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close()
		err = fmt.Errorf("serve: shutting down: %w", err)
	}
	<-errc // http.ErrServerClosed
	s.Close()
	return err
}
