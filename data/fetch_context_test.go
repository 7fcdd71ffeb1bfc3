package data

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestFetchReportsProgress downloads a fake set from a local server and
// checks that the Progress callback, not the log, hears about every file,
// ending at its full size.
func TestFetchReportsProgress(t *testing.T) {
	set, files := fakeSet(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i, f := range set.files {
			if r.URL.Path == "/"+f.name+".gz" {
				w.Write(gz(t, files[i]))
				return
			}
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	last := map[string][2]int64{}
	var log strings.Builder
	_, err := fetchSet(set, []Option{CacheDir(t.TempDir()), Log(&log), NoGoModule(), Mirrors(srv.URL),
		Progress(func(file string, done, total int64) { last[file] = [2]int64{done, total} })})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range set.files {
		got, ok := last[f.name+".gz"]
		if want := int64(len(gz(t, files[i]))); !ok || got[0] != want || got[1] != want {
			t.Errorf("%s: last progress %v (reported %v), want done = total = %d", f.name, got, ok, want)
		}
	}
	if strings.Contains(log.String(), "%") || strings.Contains(log.String(), "\r") {
		t.Errorf("the log holds a progress bar:\n%q", log.String())
	}
}

// TestFetchCancelled cancels a download that the server stalls: the fetch
// returns promptly with the context's error, and tries no other source.
func TestFetchCancelled(t *testing.T) {
	set, _ := fakeSet(t)
	stall := make(chan struct{})
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte{0x1f})
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stall)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := fetchSet(set, []Option{CacheDir(t.TempDir()), Log(io.Discard), NoGoModule(), Context(ctx),
		Mirrors(srv.URL+"/a", srv.URL+"/b")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want one wrapping context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelling took %v", d)
	}
	if hits != 1 {
		t.Errorf("%d requests, want 1: a cancelled fetch tries no further source", hits)
	}
}

// TestGoModuleDownloadCancelled runs the Go-module source under a context
// that is already cancelled: `go mod download` is not left running, and
// the error says the fetch was cancelled.
func TestGoModuleDownloadCancelled(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	set, _ := fakeSet(t)
	set.goModule = "github.com/backprop-go/no-such-module@v0.0.0"
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fetcher{set: set, o: &fetchOptions{ctx: ctx, log: io.Discard, cacheDir: t.TempDir()}, dead: map[string]error{}}
	t.Setenv("GOPROXY", "off")
	if _, err := f.goModuleDir(); !errors.Is(err, context.Canceled) {
		t.Fatalf("go mod download under a cancelled context: %v, want context.Canceled", err)
	}
}
