package dashboard

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"
)

//go:embed web
var webFS embed.FS

// asset is one embedded file, read once at start.
type asset struct {
	body        []byte
	contentType string
}

// assets maps each URL path that serves an embedded file to it. Requests
// are answered from this map only, by exact match, so no path a client
// sends can reach another file: there is no file system lookup at request
// time.
var assets = loadAssets()

func loadAssets() map[string]asset {
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".png":  "image/png",
	}
	out := map[string]asset{}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := types[path.Ext(p)]
		if !ok {
			ct = "text/plain; charset=utf-8" // licence files
		}
		out["/static/"+strings.TrimPrefix(p, "web/")] = asset{b, ct}
		return nil
	})
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	return out
}

// Handler serves the dashboard, the playground, or both.
type Handler struct {
	rec        *Recorder   // nil: no dashboard
	pg         *Playground // nil: no playground
	loopback   bool        // refuse Host headers that are not loopback
	done       chan struct{}
	heartbeat  time.Duration
	minPushGap time.Duration
	// maxStreams caps the open event streams; more are answered 503, so
	// that reloading pages or a hostile client cannot pile up goroutines
	// each holding a copy of the history.
	maxStreams int32
	// streamWrite is how long one event may take to reach the client: a
	// reader that stops reading is dropped after it, rather than holding
	// its stream (and its slot) forever.
	streamWrite time.Duration
	streams     atomic.Int32 // open event streams
}

// MaxStreams is the number of live event streams (open dashboard pages) a
// server keeps at once.
const MaxStreams = 64

// NewHandler returns the handler for a dashboard of rec (may be nil) and
// a playground pg (may be nil). Close ends its event streams.
func NewHandler(rec *Recorder, pg *Playground) *Handler {
	return &Handler{rec: rec, pg: pg, done: make(chan struct{}), heartbeat: 15 * time.Second, minPushGap: 200 * time.Millisecond,
		maxStreams: MaxStreams, streamWrite: 10 * time.Second}
}

// Close ends the open event streams, so that a server can shut down.
func (h *Handler) Close() {
	select {
	case <-h.done:
	default:
		close(h.done)
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	// No CDN, no inline script, nothing framed: the page uses only what
	// this server sends.
	hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if h.loopback && !loopbackHost(r.Host) {
		// A page on another site could point a DNS name at 127.0.0.1
		// (DNS rebinding); its requests carry that name as Host.
		http.Error(w, "forbidden host", http.StatusForbidden)
		return
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/playground/") && h.pg != nil {
		h.pg.serveAPI(w, r, strings.TrimPrefix(p, "/api/playground/"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case p == "/" || p == "/index.html":
		if h.rec != nil {
			h.serveAsset(w, r, "/static/index.html")
		} else {
			http.Redirect(w, r, "/playground", http.StatusFound)
		}
	case p == "/playground" && h.pg != nil:
		h.serveAsset(w, r, "/static/playground.html")
	case p == "/api/metrics" && h.rec != nil:
		s, _ := h.rec.Since(Cursor{})
		writeJSON(w, s)
	case p == "/api/events" && h.rec != nil:
		h.serveEvents(w, r)
	default:
		if _, ok := assets[p]; ok && !strings.HasSuffix(p, ".html") {
			h.serveAsset(w, r, p)
			return
		}
		http.NotFound(w, r)
	}
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, p string) {
	a := assets[p]
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(a.body)
}

// serveEvents streams the recorder's changes as server-sent events: the
// first event holds everything, later ones only what is new. Events are
// at least minPushGap apart, so a fast training loop does not flood the
// browser; the stream waits on the recorder's change channel rather than
// polling.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	if h.streams.Add(1) > h.maxStreams {
		h.streams.Add(-1)
		w.Header().Set("Retry-After", "10")
		http.Error(w, fmt.Sprintf("too many open dashboard pages (%d): close some and reload", h.maxStreams), http.StatusServiceUnavailable)
		return
	}
	defer h.streams.Add(-1)
	// The stream lasts as long as the page is open: it lifts the server's
	// read deadline (the request has no body), and replaces its write
	// deadline by one per event, so that a client which stops reading is
	// dropped after streamWrite instead of blocking its goroutine forever.
	// The recorder never waits for a stream: each one copies what is new
	// under the recorder's lock and writes outside it.
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return
	}
	deadline := func() bool {
		err := rc.SetWriteDeadline(time.Now().Add(h.streamWrite))
		return err == nil || errors.Is(err, http.ErrNotSupported)
	}
	if !deadline() {
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	var cur Cursor
	beat := time.NewTicker(h.heartbeat)
	defer beat.Stop()
	for {
		changed := h.rec.Changed()
		if v := h.rec.Version(); v != cur.Version {
			s, next := h.rec.Since(cur)
			b, err := json.Marshal(s)
			if err != nil || !deadline() {
				return
			}
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			cur = next
			select {
			case <-time.After(h.minPushGap):
			case <-r.Context().Done():
				return
			case <-h.done:
				return
			}
			continue
		}
		select {
		case <-changed:
		case <-beat.C:
			if !deadline() {
				return
			}
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// loopbackHost reports whether a Host header names this machine's
// loopback interface.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
