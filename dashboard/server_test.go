package dashboard

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backprop-go/backprop/dashboard/playground"
)

// startTestServer serves a recorder that saw a short run, and the
// playground, on a free loopback port.
func startTestServer(t *testing.T) (*Server, *Recorder) {
	t.Helper()
	model := tinyModel(t)
	rec := NewRecorder(model, "flatten linear(16) relu linear(3)", []int{1, 8, 8}, stripes{}.Classes(), stripes{n: 60, seed: 9}, "", Options{})
	fit(t, model, 2, 96, rec)
	pg, err := NewPlayground(playground.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen("", NewHandler(rec, pg), io.Discard, "Dashboard")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, rec
}

// rawGet sends path exactly as written (no client-side cleaning) and
// returns the status line's code and the body.
func rawGet(t *testing.T, srv *Server, method, path, host string) (int, string) {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.URL(), "http://"), "/")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if host == "" {
		host = addr
	}
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", method, path, host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServerServesOnlyItsOwnPaths(t *testing.T) {
	srv, _ := startTestServer(t)
	tests := []struct {
		name, method, path, host string
		want                     int
		contains                 string
	}{
		{"dashboard page", "GET", "/", "", 200, "training dashboard"},
		{"playground page", "GET", "/playground", "", 200, "playground"},
		{"script", "GET", "/static/dashboard.js", "", 200, "EventSource"},
		{"vendored chart library", "GET", "/static/vendor/uPlot.iife.min.js", "", 200, "uPlot"},
		{"its licence", "GET", "/static/vendor/uPlot.LICENSE", "", 200, "MIT"},
		{"metrics", "GET", "/api/metrics", "", 200, `"epochs":[{`},
		{"head", "HEAD", "/static/style.css", "", 200, ""},
		{"parent directory", "GET", "/../../etc/passwd", "", 404, ""},
		{"traversal under static", "GET", "/static/../server.go", "", 404, ""},
		{"encoded traversal", "GET", "/static/%2e%2e/%2e%2e/etc/passwd", "", 404, ""},
		{"encoded slash", "GET", "/static/vendor%2f..%2f..%2fserver.go", "", 404, ""},
		{"source file", "GET", "/static/../dashboard.go", "", 404, ""},
		{"embedded directory", "GET", "/static/vendor/", "", 404, ""},
		{"html through static", "GET", "/static/index.html", "", 404, ""},
		{"absolute path", "GET", "/etc/passwd", "", 404, ""},
		{"double slash", "GET", "//etc/passwd", "", 404, ""},
		{"backslashes", "GET", "/static/..\\..\\server.go", "", 404, ""},
		{"the run's files", "GET", "/dashboard.json", "", 404, ""},
		{"unknown api", "GET", "/api/nothing", "", 404, ""},
		{"unknown playground api", "POST", "/api/playground/../../etc", "", 404, ""},
		{"write", "PUT", "/static/style.css", "", 405, ""},
		{"post to metrics", "POST", "/api/metrics", "", 405, ""},
		{"playground state by post", "POST", "/api/playground/state", "", 405, ""},
		{"playground reset by get", "GET", "/api/playground/reset", "", 405, ""},
		{"rebinding host", "GET", "/api/metrics", "evil.example:80", 403, ""},
		{"localhost host", "GET", "/api/metrics", "localhost", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := rawGet(t, srv, tc.method, tc.path, tc.host)
			if code != tc.want {
				t.Fatalf("%s %s: status %d, want %d (body %.100q)", tc.method, tc.path, code, tc.want, body)
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("%s %s: body lacks %q: %.200q", tc.method, tc.path, tc.contains, body)
			}
		})
	}
}

func TestMetricsHoldTheRun(t *testing.T) {
	srv, _ := startTestServer(t)
	resp, err := http.Get(srv.URL() + "api/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var s Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	// 96 samples in batches of 16: 6 steps per epoch, 2 epochs.
	if len(s.Epochs) != 2 || len(s.Steps) != 12 || s.Steps[11].Step != 12 {
		t.Fatalf("got %d epochs and %d steps, want 2 and 12", len(s.Epochs), len(s.Steps))
	}
	if s.Run == nil || len(s.Run.Layers) != 4 || s.Run.Layers[1].Params != 64*16+16 || fmt.Sprint(s.Run.Layers[3].Output) != "[3]" {
		t.Errorf("run info %+v", s.Run)
	}
	if fmt.Sprint(s.Run.Groups) != "[1 3]" || len(s.Norms) == 0 || len(s.Norms[0].Grad) != 2 {
		t.Errorf("groups %v, norms %v", s.Run.Groups, s.Norms)
	}
	if len(s.Histograms) != 2 || len(s.Histograms[0].Weight.Counts) != 30 {
		t.Errorf("histograms %+v", s.Histograms)
	}
	total := 0
	for _, row := range s.Confusion {
		for _, v := range row {
			total += v
		}
	}
	if len(s.Confusion) != 3 || total != 60 {
		t.Errorf("confusion %v: want 3×3 over 60 samples", s.Confusion)
	}
	if len(s.Images) != 32 || !strings.HasPrefix(s.Images[0].Image, "data:image/png;base64,") {
		t.Fatalf("%d images", len(s.Images))
	}
	// Wrong ones first: once a right one appears, no wrong one follows.
	seenRight := false
	for _, im := range s.Images {
		if im.Pred == im.True {
			seenRight = true
		} else if seenRight {
			t.Fatalf("a wrong prediction after a right one: %+v", s.Images)
		}
	}
}

func TestEventsStreamNewPoints(t *testing.T) {
	model := tinyModel(t)
	rec := NewRecorder(model, "", []int{1, 8, 8}, stripes{}.Classes(), nil, "", Options{})
	h := NewHandler(rec, nil)
	h.minPushGap = time.Millisecond
	srv, err := Listen("", h, io.Discard, "Dashboard")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, err := http.Get(srv.URL() + "api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan Snapshot, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			if b, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var s Snapshot
				if json.Unmarshal([]byte(b), &s) == nil {
					events <- s
				}
			}
		}
		close(events)
	}()
	next := func() Snapshot {
		select {
		case s := <-events:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		return Snapshot{}
	}
	first := next()
	if first.Run == nil || len(first.Steps) != 0 {
		t.Fatalf("first event: %+v", first)
	}
	fit(t, model, 1, 48, rec)
	got := 0
	for got < 3 {
		s := next()
		if s.Run != nil {
			t.Fatal("run info sent twice")
		}
		if s.From.Steps != got {
			t.Fatalf("event starts at step point %d, client has %d", s.From.Steps, got)
		}
		got += len(s.Steps)
	}
}

func TestRecorderSavesAndReloads(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t)
	rec := NewRecorder(model, "arch", []int{1, 8, 8}, stripes{}.Classes(), stripes{n: 30, seed: 4}, dir, Options{})
	fit(t, model, 2, 48, rec)
	rec.Finish()
	back, err := Load(dir, nil, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := rec.Since(Cursor{})
	b, _ := back.Since(Cursor{})
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("reloaded dashboard differs:\n%.300s\n%.300s", ja, jb)
	}
	if !b.Done {
		t.Error("a reopened run is not marked done")
	}
}

func TestLoadWithoutDashboardFile(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t)
	h := fit(t, model, 2, 48)
	if err := h.SaveJSONL(filepath.Join(dir, "metrics.jsonl")); err != nil {
		t.Fatal(err)
	}
	rec, err := Load(dir, model, "flatten linear(16) relu linear(3)", []int{1, 8, 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := rec.Since(Cursor{})
	if len(s.Epochs) != 2 || len(s.Histograms) != 2 || s.Run.Arch == "" {
		t.Errorf("got %d epochs, %d histograms, run %+v", len(s.Epochs), len(s.Histograms), s.Run)
	}
	if _, err := Load(t.TempDir(), nil, "", nil, nil); err == nil || !strings.Contains(err.Error(), "--out directory") {
		t.Errorf("empty directory: %v", err)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, FileName), []byte("{"), 0o644)
	if _, err := Load(bad, nil, "", nil, nil); err == nil {
		t.Error("a broken dashboard.json loaded")
	}
}

func TestListenWarnsOffLoopback(t *testing.T) {
	tests := []struct {
		addr string
		warn bool
	}{
		{"", false},
		{"127.0.0.1:0", false},
		{"localhost:0", false},
		{"0.0.0.0:0", true},
	}
	for _, tc := range tests {
		var log strings.Builder
		srv, err := Listen(tc.addr, NewHandler(nil, nil), &log, "Dashboard")
		if err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if !strings.Contains(log.String(), "Dashboard: http://") {
			t.Errorf("%q: no address printed: %q", tc.addr, log.String())
		}
		if got := strings.Contains(log.String(), "warning:"); got != tc.warn {
			t.Errorf("%q: warning %v, want %v: %q", tc.addr, got, tc.warn, log.String())
		}
	}
}
