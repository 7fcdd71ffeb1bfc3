package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// imageModel is a small CNN on 8×8 RGB images with three classes.
func imageModel(t testing.TB) Model {
	t.Helper()
	arch := "conv(4,3,pad=1) batchnorm relu flatten dropout(0.5) linear(3)"
	m, err := nn.Build(arch, []int{3, 8, 8}, nn.Seed(3))
	if err != nil {
		t.Fatal(err)
	}
	nn.Eval(m)
	return Model{Module: m, Arch: arch, InputShape: []int{3, 8, 8}, Classes: []string{"a", "b", "c"},
		Image: &data.ImageSpec{Channels: 3, Height: 8, Width: 8, Norm: &data.Normalization{Mean: []float32{0.5, 0.4, 0.3}, Std: []float32{0.2, 0.2, 0.25}}}}
}

// csvModel is an MLP on rows of three features (columns x1,x2,x3,label),
// a classifier or, with classes false, a regression model whose target
// is standardised.
func csvModel(t testing.TB, classes bool) Model {
	t.Helper()
	out := 1
	if classes {
		out = 2
	}
	arch := fmt.Sprintf("linear(16) relu linear(%d)", out)
	m, err := nn.Build(arch, []int{3}, nn.Seed(5))
	if err != nil {
		t.Fatal(err)
	}
	nn.Eval(m)
	spec := &data.CSVSpec{Columns: []string{"x1", "x2", "x3", "label"}, FeatureColumns: []int{0, 1, 2}, LabelColumn: 3,
		Norm: &data.Normalization{Mean: []float32{1, 2, 3}, Std: []float32{2, 1, 0.5}}}
	mod := Model{Module: m, Arch: arch, InputShape: []int{3}, CSV: spec}
	if classes {
		mod.Classes = []string{"no", "yes"}
		spec.Classes = mod.Classes
	} else {
		spec.Target = &data.Normalization{Mean: []float32{100}, Std: []float32{10}}
	}
	return mod
}

// testConfig has short timeouts, so that the slow-client tests end soon.
func testConfig() Config {
	return Config{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond, WriteTimeout: 5 * time.Second,
		IdleTimeout: 2 * time.Second, MaxBodyBytes: 1 << 20, MaxRows: 64, ShutdownTimeout: 5 * time.Second}
}

// start serves m on 127.0.0.1 until the test ends, and returns its URL.
func start(t testing.TB, m Model, cfg Config) (string, *Server) {
	t.Helper()
	s, err := New(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), s
}

func pngBytes(t testing.TB, w, h int, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNG is a valid PNG header (and no pixels) claiming w×h pixels.
func hugePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	b := pngBytes(t, 1, 1, 1)
	// IHDR's width and height are the 8 bytes after the signature (8),
	// the chunk's length (4) and type (4); its CRC follows its 13 bytes.
	out := append([]byte(nil), b[:33]...)
	be := func(p []byte, v uint32) { p[0], p[1], p[2], p[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v) }
	be(out[16:], uint32(w))
	be(out[20:], uint32(h))
	crc := crc32IEEE(out[12:29])
	be(out[29:], crc)
	return out
}

func crc32IEEE(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xEDB88320
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func jpegBytes(t testing.TB) []byte {
	t.Helper()
	img, _ := png.Decode(bytes.NewReader(pngBytes(t, 32, 32, 2)))
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type answer struct {
	status int
	body   []byte
}

func post(t testing.TB, url, ctype string, body []byte, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, b}
}

func predictions(t testing.TB, a answer) []Prediction {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var r predictResponse
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatalf("%s: %v", a.body, err)
	}
	return r.Predictions
}

func multipartBody(t testing.TB, field, name string, content []byte) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

// TestBadRequestsKeepServing sends each kind of bad request and checks its
// 4xx and JSON error, then that a good request is still answered.
func TestBadRequestsKeepServing(t *testing.T) {
	imgURL, _ := start(t, imageModel(t), testConfig())
	csvURL, _ := start(t, csvModel(t, true), testConfig())
	good := pngBytes(t, 20, 12, 7)
	jpg := jpegBytes(t)
	mpType, mpWrong := multipartBody(t, "other", "x.png", good)
	tests := []struct {
		name, url, method, ctype string
		body                     []byte
		status                   int
		msg                      string
	}{
		{"not an image", imgURL + "/v1/predict", "POST", "image/png", []byte("hello, world"), 400, "not a PNG or JPEG"},
		{"truncated JPEG", imgURL + "/v1/predict", "POST", "image/jpeg", jpg[:len(jpg)/2], 400, "decoding image"},
		{"PNG claiming 100000×100000", imgURL + "/v1/predict", "POST", "image/png", hugePNG(t, 100000, 100000), 413, "100000×100000"},
		{"body over the limit", imgURL + "/v1/predict", "POST", "image/png", make([]byte, 1<<20+1), 413, "over the limit"},
		{"malformed JSON", imgURL + "/v1/predict", "POST", "application/json", []byte(`{"inputs": [[1, 2,}`), 400, "malformed JSON"},
		{"JSON, wrong key", imgURL + "/v1/predict", "POST", "application/json", []byte(`{"pixels": []}`), 400, `"rows" or "inputs"`},
		{"JSON inputs of the wrong size", imgURL + "/v1/predict", "POST", "application/json", []byte(`{"inputs": [[1, 2, 3]]}`), 400, "want 192"},
		{"JSON rows to an image model", imgURL + "/v1/predict", "POST", "application/json", []byte(`{"rows": [[1, 2, 3]]}`), 400, "not table rows"},
		{"JSON, trailing data", csvURL + "/v1/predict", "POST", "application/json", []byte(`{"rows": [[1, 2, 3]]} {}`), 400, "after the object"},
		{"multipart without an image field", imgURL + "/v1/predict", "POST", mpType, mpWrong, 400, `"image" or "file"`},
		{"CSV row of the wrong width", csvURL + "/v1/predict", "POST", "text/csv", []byte("x1,x2,x3\n1,2,3\n1,2\n"), 400, "body:3: data: row has 2 fields"},
		{"CSV, a word for a number", csvURL + "/v1/predict", "POST", "text/csv", []byte("1,2,3\n1,two,3\n"), 400, "body:2"},
		{"CSV, a header alone", csvURL + "/v1/predict", "POST", "text/csv", []byte("x1,x2,x3\n"), 400, "no data rows"},
		{"CSV, too many rows", csvURL + "/v1/predict", "POST", "text/csv", bytes.Repeat([]byte("1,2,3\n"), 65), 413, "more than 64 inputs"},
		{"CSV line over the limit", csvURL + "/v1/predict", "POST", "text/csv", bytes.Repeat([]byte("1"), 5000), 400, "longer than the limit of 4096 bytes"},
		{"CSV row of too many fields", csvURL + "/v1/predict", "POST", "text/csv", bytes.Repeat([]byte("1,"), 100), 400, "more than the limit of 24 fields"},
		{"an image to a CSV model", csvURL + "/v1/predict", "POST", "multipart/form-data", nil, 400, "multipart"},
		{"top=0", imgURL + "/v1/predict?top=0", "POST", "image/png", good, 400, "?top="},
		{"unknown path", imgURL + "/v2/predict", "POST", "image/png", good, 404, "no endpoint"},
		{"GET predict", imgURL + "/v1/predict", "GET", "", nil, 405, "want POST"},
		{"generate", imgURL + "/v1/generate", "POST", "application/json", []byte(`{"prompt": "hi"}`), 404, "not a language model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, bytes.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			a := do(t, req)
			var e struct{ Error string }
			if a.status != tc.status || json.Unmarshal(a.body, &e) != nil || !strings.Contains(e.Error, tc.msg) {
				t.Errorf("status %d, body %s: want %d and a JSON error with %q", a.status, a.body, tc.status, tc.msg)
			}
			base := imgURL
			if strings.HasPrefix(tc.url, csvURL) {
				base = csvURL
			}
			ok := post(t, base+"/v1/predict", "text/csv", []byte("1,2,3\n"))
			if base == imgURL {
				ok = post(t, base+"/v1/predict", "image/png", good)
			}
			if len(predictions(t, ok)) != 1 {
				t.Errorf("after %s: %s", tc.name, ok.body)
			}
		})
	}
}

// TestInputFormatsAgree sends one input in each format the model takes:
// the answers are the same.
func TestInputFormatsAgree(t *testing.T) {
	t.Run("image", func(t *testing.T) {
		m := imageModel(t)
		url, _ := start(t, m, testConfig())
		img := pngBytes(t, 13, 9, 4)
		decoded, _ := png.Decode(bytes.NewReader(img))
		x := make([]float32, 3*8*8)
		m.Image.Features(decoded, x)
		inputs, _ := json.Marshal(map[string]any{"inputs": [][]float32{x}})
		mt, mb := multipartBody(t, "image", "one.png", img)
		var want []ClassProb
		for i, a := range []answer{
			post(t, url+"/v1/predict?top=3", "image/png", img),
			post(t, url+"/v1/predict?top=3", "application/octet-stream", img),
			post(t, url+"/v1/predict?top=3", mt, mb),
			post(t, url+"/v1/predict?top=3", "application/json", inputs),
		} {
			p := predictions(t, a)
			if len(p) != 1 || len(p[0].Top) != 3 {
				t.Fatalf("format %d: %s", i, a.body)
			}
			if i == 0 {
				want = p[0].Top
			} else if fmt.Sprint(p[0].Top) != fmt.Sprint(want) {
				t.Errorf("format %d: %v, want %v", i, p[0].Top, want)
			}
		}
	})
	t.Run("csv regression", func(t *testing.T) {
		m := csvModel(t, false)
		url, _ := start(t, m, testConfig())
		csv := post(t, url+"/v1/predict", "text/csv", []byte("x1,x2,x3,label\n0.5,2,3.25,7\n1,1,1,0\n"))
		js := post(t, url+"/v1/predict", "application/json", []byte(`{"rows": [[0.5, 2, 3.25], [1, 1, 1, "0"]]}`))
		pc, pj := predictions(t, csv), predictions(t, js)
		if len(pc) != 2 || len(pj) != 2 || len(pc[0].Value) != 1 || fmt.Sprint(pc[0].Value, pc[1].Value) != fmt.Sprint(pj[0].Value, pj[1].Value) || pc[0].Input != "body:2" {
			t.Fatalf("csv %s, json %s", csv.body, js.body)
		}
		// The value is in the target's units: the network's output times
		// the target's std plus its mean.
		x := []float32{0.5, 2, 3.25}
		m.CSV.Norm.Apply(x)
		out := m.Module.Forward(ag.NoGraph(tensorOf(x, 1, 3))).Data.Data()[0]
		if got, want := float64(pc[0].Value[0]), float64(out*10+100); got != want {
			t.Errorf("value %v, want %v", got, want)
		}
	})
}

// TestBatchingKeepsResults runs inputs alone and batched with others:
// the outputs agree within 1e-6 (relative); the GEMM kernels choose
// their blocking by the number of rows, so the last bits may differ.
func TestBatchingKeepsResults(t *testing.T) {
	mlp, err := nn.Build("flatten linear(256) relu linear(128) relu linear(10)", []int{1, 28, 28}, nn.Seed(2))
	if err != nil {
		t.Fatal(err)
	}
	nn.Eval(mlp)
	cnn, err := nn.Build("conv(32,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten dropout(0.25) linear(128) relu linear(10)", []int{1, 28, 28}, nn.Seed(2))
	if err != nil {
		t.Fatal(err)
	}
	nn.Eval(cnn)
	for _, m := range []Model{imageModel(t), csvModel(t, true), {Module: mlp, Arch: "an mlp", InputShape: []int{1, 28, 28}}, {Module: cnn, Arch: "a cnn", InputShape: []int{1, 28, 28}}} {
		s, err := New(m, Config{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(9, 9))
		const n = 64
		x := make([]float32, n*s.size)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		differ := 0
		for _, size := range []int{7, 32, 64} {
			batched, err := s.forward(x[:size*s.size], size)
			if err != nil {
				t.Fatal(err)
			}
			for i := range size {
				alone, err := s.forward(x[i*s.size:(i+1)*s.size], 1)
				if err != nil {
					t.Fatal(err)
				}
				for j, v := range alone {
					b := batched[i*s.outSize+j]
					if v != b {
						differ++
					}
					if math.Abs(float64(v-b)) > 1e-6*math.Max(1, math.Abs(float64(v))) {
						t.Errorf("%s: input %d output %d: %v alone, %v in a batch of %d", m.Arch, i, j, v, b, size)
					}
				}
			}
		}
		t.Logf("%s: %d of %d outputs differ in their last bits between batch 1 and batches of 7, 32 and 64", m.Arch, differ, (7+32+64)*s.outSize)
		s.Close()
	}
}

// TestConcurrentRequests fires 32 goroutines × 50 requests of one to three
// rows: every answer equals the one the same rows get alone (within
// 1e-6), and the batcher did batch them. Run it with -race.
func TestConcurrentRequests(t *testing.T) {
	m := csvModel(t, true)
	cfg := testConfig()
	cfg.Workers, cfg.MaxWait = 2, time.Millisecond
	url, s := start(t, m, cfg)
	rows := make([]string, 20)
	want := make([][]Prediction, len(rows))
	for i := range rows {
		rows[i] = fmt.Sprintf("%d,%g,%g\n%g,1,2\n", i, float64(i)/3, -float64(i), float64(i)*1.5)
		want[i] = predictions(t, post(t, url+"/v1/predict?top=2", "text/csv", []byte(rows[i])))
	}
	const goroutines, each = 32, 50
	if testing.Short() {
		t.Skip("short")
	}
	var wg sync.WaitGroup
	var bad atomic.Int32
	for g := range goroutines {
		wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second}
			for k := range each {
				i := (g*each + k) % len(rows)
				resp, err := client.Post(url+"/v1/predict?top=2", "text/csv", strings.NewReader(rows[i]))
				if err != nil {
					t.Error(err)
					bad.Add(1)
					return
				}
				var r predictResponse
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !samePredictions(r.Predictions, want[i], 1e-6) {
					if bad.Add(1) < 5 {
						t.Errorf("rows %d: status %d, %v: %+v, want %+v", i, resp.StatusCode, err, r.Predictions, want[i])
					}
				}
			}
		})
	}
	wg.Wait()
	var metrics bytes.Buffer
	s.metrics.write(&metrics, 0)
	s.metrics.mu.Lock()
	batches, inputs := s.metrics.batches.n, s.metrics.inputs
	s.metrics.mu.Unlock()
	if inputs < 2*goroutines*each || batches >= uint64(inputs)/2 {
		t.Errorf("%d inputs in %d batches: want the batcher to gather requests", inputs, batches)
	}
	t.Logf("%d inputs in %d forward passes", inputs, batches)
	if !strings.Contains(metrics.String(), fmt.Sprintf(`backprop_serve_requests_total{endpoint="/v1/predict",code="200"} %d`, goroutines*each+len(rows))) {
		t.Errorf("metrics:\n%s", metrics.String())
	}
}

func samePredictions(a, b []Prediction, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Input != b[i].Input || len(a[i].Top) != len(b[i].Top) || len(a[i].Value) != len(b[i].Value) {
			return false
		}
		for j := range a[i].Top {
			if a[i].Top[j].Class != b[i].Top[j].Class || math.Abs(float64(a[i].Top[j].Probability-b[i].Top[j].Probability)) > tol {
				return false
			}
		}
		for j := range a[i].Value {
			if math.Abs(float64(a[i].Value[j]-b[i].Value[j])) > tol*math.Max(1, math.Abs(float64(b[i].Value[j]))) {
				return false
			}
		}
	}
	return true
}

// TestSlowClients holds connections that send their headers or body
// slowly and stop: each is answered or closed after the read timeouts,
// and a normal request meanwhile is answered at once.
func TestSlowClients(t *testing.T) {
	url, _ := start(t, csvModel(t, true), testConfig())
	addr := strings.TrimPrefix(url, "http://")
	tests := []struct {
		name, sent string
		want       string // start of what the server answers before closing; "" for nothing
	}{
		{"headers, slowly, then nothing", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Ty", ""},
		{"a body, slowly, then nothing", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\n1,2,3\n1,", "HTTP/1.1 408"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := range len(tc.sent) { // a byte at a time
				if _, err := c.Write([]byte{tc.sent[i]}); err != nil {
					t.Fatal(err)
				}
				if i%8 == 0 {
					time.Sleep(2 * time.Millisecond)
				}
			}
			ok := post(t, url+"/v1/predict", "text/csv", []byte("1,2,3\n"))
			if ok.status != 200 {
				t.Errorf("while a client stalls: %d %s", ok.status, ok.body)
			}
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(c) // until the server closes
			if err != nil {
				t.Fatalf("the server did not close the stalled connection: %v (read %q)", err, got)
			}
			if !strings.HasPrefix(string(got), tc.want) || (tc.want != "" && !bytes.Contains(got, []byte(`{"error":`))) {
				t.Errorf("the server answered %q, want %q and a JSON error", got, tc.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("closed after %v, want about the read timeout", d)
			}
		})
	}
}

// TestIdleConnections opens a thousand connections that send nothing: a
// normal request is still answered promptly, and the heap grows by
// little per connection.
func TestIdleConnections(t *testing.T) {
	url, _ := start(t, csvModel(t, true), Config{ReadHeaderTimeout: 10 * time.Second})
	addr := strings.TrimPrefix(url, "http://")
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 1000 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond) // the server has accepted them
	start := time.Now()
	a := post(t, url+"/v1/predict", "text/csv", []byte("1,2,3\n"))
	if d := time.Since(start); a.status != 200 || d > 2*time.Second {
		t.Errorf("with 1000 idle connections: %d %s after %v", a.status, a.body, d)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Client and server share this process: both ends of each connection
	// are counted. A goroutine, its buffers and a conn are a few tens of KB.
	grow := int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)
	t.Logf("1000 idle connections: heap and stacks grew by %.1f MiB", float64(grow)/(1<<20))
	if grow > 64<<20 {
		t.Errorf("1000 idle connections grew heap and stacks by %d bytes, want under 64 MiB", grow)
	}
}

// TestConnectionLimit answers a connection past MaxConns with 503.
func TestConnectionLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConns = 2
	cfg.ReadHeaderTimeout = 10 * time.Second
	url, _ := start(t, csvModel(t, true), cfg)
	addr := strings.TrimPrefix(url, "http://")
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !json.Valid(b) {
		t.Errorf("past the limit: %s %s", resp.Status, b)
	}
}

// gated is a model whose forward pass waits for release once entered is
// signalled, to hold a request in flight.
type gated struct {
	nn.Module
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gated) Forward(x *ag.Value) *ag.Value {
	if g.armed.Load() {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.Module.Forward(x)
}

// TestGracefulShutdown cancels Serve while a request is in the model: the
// request is answered, and then the server is gone.
func TestGracefulShutdown(t *testing.T) {
	m := csvModel(t, true)
	g := &gated{Module: m.Module, entered: make(chan struct{}), release: make(chan struct{})}
	m.Module = g
	s, err := New(m, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	g.armed.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	answered := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", url+"/v1/predict", strings.NewReader("1,2,3\n"))
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{status: -1, body: []byte(err.Error())}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- answer{resp.StatusCode, b}
	}()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the model")
	}
	cancel()
	time.Sleep(100 * time.Millisecond) // Shutdown has closed the listener
	select {
	case err := <-served:
		t.Fatalf("Serve returned with a request in flight: %v", err)
	default:
	}
	close(g.release)
	if a := <-answered; a.status != 200 {
		t.Errorf("the in-flight request: %d %s", a.status, a.body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the server still accepts connections after shutting down")
	}
}

// TestToken requires the bearer token everywhere but /healthz.
func TestToken(t *testing.T) {
	cfg := testConfig()
	cfg.Token = "s3cret"
	url, _ := start(t, csvModel(t, true), cfg)
	tests := []struct {
		method, path, auth string
		status             int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/v1/model", "", 401},
		{"GET", "/metrics", "Bearer wrong", 401},
		{"POST", "/v1/predict", "Bearer s3cre", 401},
		{"POST", "/v1/predict", "s3cret", 401},
		{"POST", "/v1/predict", "Bearer s3cret", 200},
		{"GET", "/v1/model", "Bearer s3cret", 200},
		{"GET", "/metrics", "Bearer s3cret", 200},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, url+tc.path, strings.NewReader("1,2,3\n"))
		req.Header.Set("Content-Type", "text/csv")
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		if a := do(t, req); a.status != tc.status || (a.status == 401 && !json.Valid(a.body)) {
			t.Errorf("%s %s with %q: %d %s, want %d", tc.method, tc.path, tc.auth, a.status, a.body, tc.status)
		}
	}
}

// TestModelAndMetricsEndpoints checks what GET /v1/model and /metrics say.
func TestModelAndMetricsEndpoints(t *testing.T) {
	url, _ := start(t, imageModel(t), testConfig())
	predictions(t, post(t, url+"/v1/predict", "image/png", pngBytes(t, 8, 8, 1)))
	post(t, url+"/v1/predict", "image/png", []byte("no"))
	req, _ := http.NewRequest("GET", url+"/v1/model", nil)
	var info ModelInfo
	if a := do(t, req); a.status != 200 || json.Unmarshal(a.body, &info) != nil || info.Input != "image" || info.Outputs != 3 ||
		info.Task != "classification" || info.Image == nil || fmt.Sprint(info.InputShape) != "[3 8 8]" || info.Parameters != 4*3*9+4+4*2+3*256+3 {
		t.Errorf("/v1/model: %d %s", a.status, a.body)
	}
	req, _ = http.NewRequest("GET", url+"/metrics", nil)
	a := do(t, req)
	for _, want := range []string{
		`backprop_serve_requests_total{endpoint="/v1/predict",code="200"} 1`,
		`backprop_serve_requests_total{endpoint="/v1/predict",code="400"} 1`,
		`backprop_serve_errors_total{endpoint="/v1/predict",reason="bad_input"} 1`,
		`backprop_serve_request_duration_seconds_count{endpoint="/v1/predict"} 2`,
		`backprop_serve_batch_size_bucket{le="1"} 1`, // the one image
		"# TYPE backprop_serve_request_duration_seconds histogram",
	} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, a.body)
		}
	}
}

// TestNewRefusesBadModels checks New's checks of a Model.
func TestNewRefusesBadModels(t *testing.T) {
	img, tab := imageModel(t), csvModel(t, true)
	both := img
	both.CSV = tab.CSV
	wrongClasses := tab
	wrongClasses.Classes = []string{"one"}
	wrongShape := img
	wrongShape.InputShape = []int{1, 8, 8}
	for name, m := range map[string]Model{"no module": {InputShape: []int{3}}, "both specs": both, "classes": wrongClasses, "shape": wrongShape, "no shape": {Module: tab.Module}} {
		if s, err := New(m, Config{}); err == nil {
			s.Close()
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func tensorOf(x []float32, shape ...int) *tensor.Tensor { return tensor.New(x, shape...) }
