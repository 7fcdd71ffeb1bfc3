package dashboard

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/backprop-go/backprop/dashboard/playground"
	"github.com/backprop-go/backprop/train"
)

// shortLimits are the server limits of these tests: short enough that a
// stalled or idle connection is cut within the test's few seconds.
func shortLimits() serverLimits {
	l := defaultLimits()
	l.readHeader, l.read, l.write, l.idle = 500*time.Millisecond, time.Second, 5*time.Second, 500*time.Millisecond
	return l
}

// startHostile serves h on a free loopback port with lim.
func startHostile(t *testing.T, h *Handler, lim serverLimits) (*Server, string) {
	t.Helper()
	srv, err := listen("", h, io.Discard, "Dashboard", lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, strings.TrimSuffix(strings.TrimPrefix(srv.URL(), "http://"), "/")
}

// newTestPlayground returns a playground with the defaults.
func newTestPlayground(t *testing.T) *Playground {
	t.Helper()
	pg, err := NewPlayground(playground.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return pg
}

// client is an HTTP client that gives up after a few seconds, so that a
// server which hangs fails the test instead of hanging it.
var client = &http.Client{Timeout: 5 * time.Second}

func TestStalledPlaygroundClientBlocksNobody(t *testing.T) {
	// The default limits: the stalled client must not be helped by a
	// short read timeout; others must get through while it stalls.
	_, addr := startHostile(t, NewHandler(nil, newTestPlayground(t)), defaultLimits())
	stalled, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	// A body of 1000 bytes is announced, one is sent.
	fmt.Fprintf(stalled, "POST /api/playground/reset HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", addr)
	time.Sleep(200 * time.Millisecond) // let the server reach the handler
	for i, name := range []string{"train", "advance", "state", "tune"} {
		body := map[string]string{"train": `{"steps": 5}`, "tune": `{"lr": 0.3, "l2": 0}`}[name]
		method := http.MethodPost
		if name == "state" {
			method = http.MethodGet
		}
		req, _ := http.NewRequest(method, "http://"+addr+"/api/playground/"+name, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d (%s) while another client stalls: %v", i, name, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", name, resp.StatusCode)
		}
	}
}

func TestStalledClientIsCutByTheReadTimeout(t *testing.T) {
	_, addr := startHostile(t, NewHandler(nil, newTestPlayground(t)), shortLimits())
	tests := []struct {
		name, send string
	}{
		{"half a body", "POST /api/playground/reset HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: 1000\r\n\r\n{"},
		{"half a header", "GET /api/playground/state HTTP/1.1\r\nHost: "},
		{"nothing", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, tc.send)
			// The server must close the connection (after an error
			// answer or none); the deadline only keeps a broken server
			// from hanging the test.
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = io.Copy(io.Discard, c)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the server kept a stalled connection open for 10 s")
			}
		})
	}
}

func TestPlaygroundRefusesBadRequests(t *testing.T) {
	h := NewHandler(nil, newTestPlayground(t))
	tests := []struct {
		name, api, body string
		want            int
		contains        string
	}{
		{"body over the limit", "reset", `{"dataset": "` + strings.Repeat("x", maxBodyBytes) + `"}`, 413, "over 65536 bytes"},
		{"malformed JSON", "reset", `{`, 400, "bad configuration"},
		{"not JSON", "reset", `NaN`, 400, "bad configuration"},
		{"trailing data", "reset", `{} {}`, 400, "after the JSON value"},
		{"unknown setting", "reset", `{"neurons": 5}`, 400, "unknown field"},
		{"a billion neurons", "reset", `{"hidden": [1000000000]}`, 400, "layer width"},
		{"too many layers", "reset", `{"hidden": [1,1,1,1,1,1,1,1,1,1]}`, 400, "hidden layers"},
		{"negative width", "reset", `{"hidden": [-1]}`, 400, "layer width"},
		{"huge learning rate", "reset", `{"lr": 1e308}`, 400, "learning rate"},
		{"learning rate beyond float64", "reset", `{"lr": 1e999}`, 400, "bad configuration"},
		{"negative noise", "reset", `{"noise": -0.1}`, 400, "noise"},
		{"a billion samples", "reset", `{"samples": 1000000000}`, 400, "samples"},
		{"samples as a float", "reset", `{"samples": 1e9}`, 400, "bad configuration"},
		{"batch over the samples", "reset", `{"batchSize": 100000}`, 400, "batch size"},
		{"negative batch", "reset", `{"batchSize": -5}`, 400, "batch size"},
		{"negative seed", "reset", `{"seed": -1}`, 400, "bad configuration"},
		{"l2", "reset", `{"l2": 1e300}`, 400, "L2"},
		{"steps zero", "train", `{"steps": 0}`, 400, "from 1 to 500"},
		{"steps huge", "train", `{"steps": 9223372036854775807}`, 400, "from 1 to 500"},
		{"steps overflow", "train", `{"steps": 1e30}`, 400, "from 1 to 500"},
		{"tune without l2", "tune", `{"lr": 0.1}`, 400, "want"},
		{"tune to a huge rate", "tune", `{"lr": 1e308, "l2": 0}`, 400, "learning rate"},
		{"tune to zero", "tune", `{"lr": 0, "l2": 0}`, 400, "learning rate 0"},
		{"good reset", "reset", `{"hidden": [3], "lr": 0.03}`, 200, `"hidden":[3]`},
		{"empty body is the defaults", "reset", ``, 200, `"hidden":[4,2]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/playground/"+tc.api, strings.NewReader(tc.body))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %.200s", w.Code, tc.want, w.Body.String())
			}
			if !strings.Contains(w.Body.String(), tc.contains) {
				t.Errorf("answer lacks %q: %.300s", tc.contains, w.Body.String())
			}
			if tc.want != 200 {
				var e struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error answer is not {\"error\": ...}: %.200q (%v)", w.Body.String(), err)
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
			}
		})
	}
}

func TestPlaygroundRefusesHugeNetworksWithoutAllocating(t *testing.T) {
	h := NewHandler(nil, newTestPlayground(t))
	bodies := []string{`{"hidden": [1000000000]}`, `{"hidden": [8, 1000000000, 8]}`, `{"samples": 2000000000}`}
	for _, body := range bodies {
		serve := func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/playground/reset", strings.NewReader(body)))
			if w.Code != http.StatusBadRequest {
				t.Fatalf("%s: status %d", body, w.Code)
			}
		}
		serve()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		serve()
		runtime.ReadMemStats(&after)
		// A billion-neuron layer would be gigabytes; the refusal is a
		// few kilobytes of request and answer.
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("%s: refusing it allocated %d bytes", body, d)
		}
	}
}

func TestHugeRequestHeadersAreRefused(t *testing.T) {
	_, addr := startHostile(t, NewHandler(nil, newTestPlayground(t)), shortLimits())
	tests := []struct {
		name string
		req  string
	}{
		{"huge query", "GET /api/playground/state?x=" + strings.Repeat("a", 100<<10) + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"},
		{"huge header", "GET /api/playground/state HTTP/1.1\r\nHost: " + addr + "\r\nX-Junk: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			go io.WriteString(c, tc.req) // the server may stop reading early
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("status %d, want 431", resp.StatusCode)
			}
		})
	}
}

func TestManyIdleConnectionsExhaustNothing(t *testing.T) {
	lim := shortLimits()
	lim.maxConns = 8
	srv, addr := startHostile(t, NewHandler(nil, newTestPlayground(t)), lim)
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	// Five times the limit of connections that send nothing.
	for range 40 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	resp, err := client.Get("http://" + addr + "/api/playground/state")
	if err != nil {
		t.Fatalf("a request after 40 idle connections: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if p := srv.ln.peak.Load(); p > int64(lim.maxConns) {
		t.Errorf("%d connections served at once, limit %d", p, lim.maxConns)
	}
	// Every idle connection is closed by the server in the end.
	for i, c := range idle {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("idle connection %d still open: %v", i, err)
		}
	}
}

func TestKeepAliveConnectionIsClosedWhenIdle(t *testing.T) {
	_, addr := startHostile(t, NewHandler(nil, newTestPlayground(t)), shortLimits())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/playground/state HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("an idle keep-alive connection stayed open: %v", err)
	}
}

// openStream starts an event stream and returns its response.
func openStream(t *testing.T, url string) *http.Response {
	t.Helper()
	// No client timeout: it would cut the stream itself.
	resp, err := http.Get(url + "api/events")
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestEventStreamsAreCapped(t *testing.T) {
	rec := NewRecorder(tinyModel(t), "", []int{1, 8, 8}, stripes{}.Classes(), nil, "", Options{})
	h := NewHandler(rec, nil)
	h.maxStreams = 2
	srv, _ := startHostile(t, h, defaultLimits())
	var open []*http.Response
	for range 2 {
		resp := openStream(t, srv.URL())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream within the cap: status %d", resp.StatusCode)
		}
		open = append(open, resp)
	}
	over := openStream(t, srv.URL())
	b, _ := io.ReadAll(over.Body)
	over.Body.Close()
	if over.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "too many open dashboard pages (2)") {
		t.Fatalf("stream over the cap: status %d, %q", over.StatusCode, b)
	}
	// A closed page frees its slot.
	open[0].Body.Close()
	for i := 0; h.streams.Load() >= 2; i++ {
		if i > 500 {
			t.Fatal("a closed stream kept its slot")
		}
		time.Sleep(10 * time.Millisecond)
	}
	again := openStream(t, srv.URL())
	again.Body.Close()
	if again.StatusCode != http.StatusOK {
		t.Fatalf("stream after one closed: status %d", again.StatusCode)
	}
	open[1].Body.Close()
}

func TestStalledEventReaderBlocksNeitherRecorderNorServer(t *testing.T) {
	model := tinyModel(t)
	rec := NewRecorder(model, "", []int{1, 8, 8}, stripes{}.Classes(), nil, "", Options{PointsPerStride: 1 << 30})
	step := 0
	steps := func(n int) {
		for range n {
			step++
			rec.OnStep(train.StepInfo{Step: step, Epoch: 1, Batch: step, Batches: 1 << 30, Loss: 1, LR: 0.1, BatchAccuracy: 0.5})
		}
	}
	// A history of several megabytes: more than the socket buffers hold,
	// so the first event blocks a client that does not read.
	steps(60000)
	h := NewHandler(rec, nil)
	h.minPushGap, h.streamWrite = 0, 500*time.Millisecond
	_, addr := startHostile(t, h, defaultLimits())
	d := net.Dialer{}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(c, "GET /api/events HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	// Never read from c. The stream opens...
	for i := 0; h.streams.Load() == 0; i++ {
		if i > 500 {
			t.Fatal("the stream never opened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ...training goes on while it is blocked...
	done := make(chan struct{})
	go func() { steps(5000); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the recorder waited for a client that does not read")
	}
	// ...and the stream is dropped once a write has waited streamWrite.
	for i := 0; h.streams.Load() != 0; i++ {
		if i > 1000 {
			t.Fatal("a client that does not read kept its stream for 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Others are still served.
	resp, err := client.Get("http://" + addr + "/api/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	err = json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if err != nil || len(s.Steps) != step {
		t.Fatalf("metrics after the stalled stream: %d steps, want %d (%v)", len(s.Steps), step, err)
	}
}
