package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServe runs backprop serve on a free loopback port and returns its
// URL; at the end of the test it sends SIGTERM and wants status 0.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`^Listening on (http://\S+)/ `)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("serve after SIGTERM: %v (%s)", err, stderr.String())
		}
	})
	select {
	case u, ok := <-urls:
		if !ok {
			cmd.Wait()
			t.Fatalf("serve printed no address: %s", stderr.String())
		}
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("serve printed no address in 30 s")
	}
	return ""
}

// servePredictions posts body and returns the answer's predictions with
// the input names dropped.
func servePredictions(t *testing.T, url, ctype string, body []byte) []prediction {
	t.Helper()
	resp, err := http.Post(url+"/v1/predict?top=2", ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Predictions []prediction }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: status %d, %v", url, resp.StatusCode, err)
	}
	return r.Predictions
}

// predictJSON runs backprop predict --json --top 2 and drops the file names.
func predictJSON(t *testing.T, args ...string) []prediction {
	t.Helper()
	stdout, stderr, code := run(t, append([]string{"predict", "--json", "--top", "2"}, args...)...)
	if code != 0 {
		t.Fatalf("predict exit %d: %s", code, stderr)
	}
	var ps []prediction
	if err := json.Unmarshal([]byte(stdout), &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

func sameAnswers(t *testing.T, what string, got, want []prediction) {
	t.Helper()
	for i := range got {
		got[i].File = ""
	}
	for i := range want {
		want[i].File = ""
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s: serve answers %s, predict prints %s", what, g, w)
	}
}

// TestServeAnswersAsPredict trains a CSV model and an image model and
// checks that serve's answers are predict's, to the last digit.
func TestServeAnswersAsPredict(t *testing.T) {
	dir := t.TempDir()
	t.Run("csv", func(t *testing.T) {
		csvPath := filepath.Join(dir, "blobs.csv")
		writeBlobs(t, csvPath, 200)
		out := filepath.Join(dir, "csvrun")
		if _, stderr, code := run(t, "train", "--data", csvPath, "--model", "mlp", "--epochs", "1", "--out", out, "--quiet"); code != 0 {
			t.Fatalf("train exit %d: %s", code, stderr)
		}
		rows := filepath.Join(dir, "rows.csv")
		body := "x1,x2,x3\n0.5,-1,2\n3,-2,0.25\n-1,0,1\n"
		os.WriteFile(rows, []byte(body), 0o644)
		url := startServe(t, out)
		sameAnswers(t, "csv", servePredictions(t, url, "text/csv", []byte(body)), predictJSON(t, out, rows))
		sameAnswers(t, "json rows", servePredictions(t, url, "application/json", []byte(`{"rows": [[0.5,-1,2],[3,-2,0.25],[-1,0,1]]}`)), predictJSON(t, out, rows))
	})
	t.Run("images", func(t *testing.T) {
		root := filepath.Join(dir, "pets")
		writeImages(t, root, 6)
		out := filepath.Join(dir, "imgrun")
		if _, stderr, code := run(t, "train", "--data", root, "--model", "conv(4,3,pad=1) batchnorm relu maxpool(2) flatten dropout(0.3) linear(2)",
			"--image-size", "8", "--epochs", "1", "--out", out, "--quiet"); code != 0 {
			t.Fatalf("train exit %d: %s", code, stderr)
		}
		url := startServe(t, out, "--max-batch", "4")
		for _, f := range []string{"cat/cat0.png", "dog/dog3.png"} {
			file := filepath.Join(root, f)
			img, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := predictJSON(t, out, file)
			sameAnswers(t, f, servePredictions(t, url, "image/png", img), want)
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			fw, _ := w.CreateFormFile("image", filepath.Base(f))
			fw.Write(img)
			w.Close()
			sameAnswers(t, f+" multipart", servePredictions(t, url, w.FormDataContentType(), b.Bytes()), want)
		}
	})
}

func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		env  string
		msg  string
	}{
		{"no checkpoint", []string{"serve"}, "", "Usage: backprop serve"},
		{"all interfaces without a token", []string{"serve", "--addr", ":0", dir}, "", "not a loopback address"},
		{"another host without a token", []string{"serve", "--addr", "192.0.2.1:80", dir}, "", "set a token"},
		{"bad address", []string{"serve", "--addr", "nohost", dir}, "", `--addr: address "nohost"`},
		{"max-batch 0", []string{"serve", "--max-batch", "0", dir}, "", "--max-batch 0"},
		{"negative wait", []string{"serve", "--max-wait", "-1ms", dir}, "", "--max-wait"},
		{"unknown flag", []string{"serve", "--max-batc", "3", dir}, "", "did you mean --max-batch?"},
		{"no checkpoint there", []string{"serve", "--addr", ":0", filepath.Join(dir, "none")}, "BACKPROP_SERVE_TOKEN=t", "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = append(os.Environ(), tc.env)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			want := 2
			if tc.env != "" {
				want = 1 // past the address check: a missing file is a failure
			}
			if code != want || !strings.Contains(stderr.String(), tc.msg) {
				t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tc.args, code, want, stderr.String(), tc.msg)
			}
		})
	}
}

func TestServeLoopbackHosts(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "": false, "0.0.0.0": false, "example.com": false, "10.0.0.1": false} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v", host, got)
		}
	}
}
