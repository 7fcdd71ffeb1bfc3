package dashboard

import (
	"embed"
	"encoding/json"
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
	streams    atomic.Int32 // open event streams
}

// NewHandler returns the handler for a dashboard of rec (may be nil) and
// a playground pg (may be nil). Close ends its event streams.
func NewHandler(rec *Recorder, pg *Playground) *Handler {
	return &Handler{rec: rec, pg: pg, done: make(chan struct{}), heartbeat: 15 * time.Second, minPushGap: 200 * time.Millisecond}
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
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h.streams.Add(1)
	defer h.streams.Add(-1)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	var cur Cursor
	beat := time.NewTicker(h.heartbeat)
	defer beat.Stop()
	for {
		changed := h.rec.Changed()
		if v := h.rec.Version(); v != cur.Version {
			s, next := h.rec.Since(cur)
			b, err := json.Marshal(s)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return
			}
			fl.Flush()
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
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
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
