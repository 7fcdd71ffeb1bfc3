//go:build unix

package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// withTimeout runs f, failing the test if it does not return in time (a
// read blocked on a pipe); it then opens the pipe for writing, which
// releases the blocked reader.
func withTimeout(t *testing.T, fifo string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatalf("reading %s blocked: a named pipe was opened", fifo)
	}
}

func TestNamedPipesAreNotRead(t *testing.T) {
	root := t.TempDir()
	for _, c := range []string{"cat", "dog"} {
		writeImage(t, filepath.Join(root, c, "a.png"), 4, 4, false, solid(red))
	}
	pipe := filepath.Join(root, "cat", "x.png")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Skip("no named pipes here:", err)
	}
	var warn strings.Builder
	var d *ImageData
	var err error
	withTimeout(t, pipe, func() {
		d, err = ImageFolder(root, ImageConfig{Height: 4, Width: 4, ComputeNorm: true, Split: SplitConfig{TestFraction: -1}, Warn: &warn})
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 2 || !strings.Contains(warn.String(), pipe+": not a regular file (a named pipe)") {
		t.Fatalf("%d images, warnings %q: want the pipe skipped with a warning", d.Train.Len(), warn.String())
	}

	// Given directly, for prediction, it is refused unread.
	withTimeout(t, pipe, func() { _, err = (ImageSpec{Channels: 3, Height: 4, Width: 4}).FeaturesFromFile(pipe) })
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), pipe) {
		t.Fatalf("predicting on a pipe: %v", err)
	}
	csvPipe := filepath.Join(root, "rows.csv")
	if err := syscall.Mkfifo(csvPipe, 0o644); err != nil {
		t.Fatal(err)
	}
	withTimeout(t, csvPipe, func() { _, err = CSV(csvPipe, CSVConfig{}) })
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("CSV of a pipe: %v", err)
	}
}
