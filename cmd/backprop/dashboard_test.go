package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/backprop-go/backprop/dashboard"
)

// serve starts the command with args, waits for it to print the address
// of its page, and returns that address. The process is interrupted at
// the end of the test, and must then exit with status 0.
func serve(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`^(Dashboard|Playground): (http://\S+)$`)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[2]
			}
		}
		close(urls)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("%v after an interrupt: %v", args, err)
		}
	})
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("%v printed no address", args)
		}
		return u
	case <-time.After(30 * time.Second):
		t.Fatalf("%v printed no address in 30 s", args)
	}
	return ""
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestTrainDashboardThenReopen(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 200)
	out := filepath.Join(dir, "run")
	_, stderr, code := run(t, "train", "--data", csvPath, "--model", "mlp", "--epochs", "2", "--quiet", "--out", out, "--dashboard")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !regexp.MustCompile(`Dashboard: http://127\.0\.0\.1:\d+/`).MatchString(stderr) {
		t.Errorf("no dashboard address printed: %q", stderr)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("a warning for a loopback address: %q", stderr)
	}
	if !strings.Contains(stderr, "backprop dashboard "+out) {
		t.Errorf("no hint on reopening: %q", stderr)
	}
	url := serve(t, "dashboard", "--addr", "127.0.0.1:0", out)
	var s dashboard.Snapshot
	getJSON(t, url+"api/metrics", &s)
	if len(s.Epochs) != 2 || len(s.Steps) == 0 || len(s.Norms) == 0 || len(s.Confusion) != 2 || !s.Done {
		t.Errorf("reopened dashboard: %d epochs, %d steps, %d norms, confusion %v, done %v", len(s.Epochs), len(s.Steps), len(s.Norms), s.Confusion, s.Done)
	}
}

func TestReopenRunTrainedWithoutDashboard(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 200)
	out := filepath.Join(dir, "run")
	if _, stderr, code := run(t, "train", "--data", csvPath, "--model", "mlp", "--epochs", "2", "--quiet", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	url := serve(t, "dashboard", out)
	var s dashboard.Snapshot
	getJSON(t, url+"api/metrics", &s)
	if len(s.Epochs) != 2 || s.Run == nil || len(s.Run.Layers) != 6 || len(s.Histograms) != 3 {
		t.Errorf("reopened run: %d epochs, run %+v, %d histograms", len(s.Epochs), s.Run, len(s.Histograms))
	}
}

func TestTrainDashboardWarnsOffLoopback(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 100)
	_, stderr, code := run(t, "train", "--data", csvPath, "--model", "mlp", "--epochs", "1", "--quiet", "--out", filepath.Join(dir, "run"), "--dashboard", "0.0.0.0:0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warning: the Dashboard listens on 0.0.0.0:") {
		t.Errorf("no warning for 0.0.0.0: %q", stderr)
	}
}

func TestDashboardCommandErrors(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(empty, "f")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no directory", []string{"dashboard"}, 2, "Usage: backprop dashboard"},
		{"two directories", []string{"dashboard", empty, empty}, 2, "Usage"},
		{"missing directory", []string{"dashboard", filepath.Join(empty, "nope")}, 2, "not a directory"},
		{"a file", []string{"dashboard", file}, 2, "not a directory"},
		{"not a run", []string{"dashboard", empty}, 1, "--out directory"},
		{"bad address", []string{"dashboard", "--addr", "256.0.0.1:99999", empty}, 2, "port \"99999\" is not a number from 0 to 65535"},
		{"playground: bad data", []string{"playground", "--data", "mnist"}, 2, "unknown data set"},
		{"playground: argument", []string{"playground", "extra"}, 2, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tc.args, code, tc.code, stderr, tc.msg)
			}
		})
	}
}
