//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestPredictRefusesNamedPipe gives predict a named pipe called x.png: it
// is refused with a message, not read (which would block forever).
func TestPredictRefusesNamedPipe(t *testing.T) {
	dir := t.TempDir()
	pets := filepath.Join(dir, "pets")
	writeImages(t, pets, 4)
	out := filepath.Join(dir, "run")
	if _, stderr, code := inProcess(t, runTrain, "--data", pets, "--model", "mlp", "--image-size", "8", "--epochs", "1", "--out", out, "--quiet"); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	for _, name := range []string{"x.png", "rows.csv"} {
		pipe := filepath.Join(dir, name)
		if err := syscall.Mkfifo(pipe, 0o644); err != nil {
			t.Skip("no named pipes here:", err)
		}
		type result struct {
			stderr string
			code   int
		}
		done := make(chan result, 1)
		go func() {
			_, stderr, code := inProcess(t, runPredict, out, pipe)
			done <- result{stderr, code}
		}()
		select {
		case r := <-done:
			if name == "x.png" {
				if r.code != 2 {
					t.Fatalf("%s: exit %d, want 2: %s", name, r.code, r.stderr)
				}
				oneLine(t, r.stderr, pipe, "named pipe")
			} else if r.code == 0 {
				t.Fatalf("%s: accepted", name)
			}
		case <-time.After(30 * time.Second):
			if w, err := os.OpenFile(pipe, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			t.Fatalf("predict on the pipe %s blocked", pipe)
		}
	}
}
