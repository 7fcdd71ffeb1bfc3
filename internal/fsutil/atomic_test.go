package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// listDir returns the names in dir, to catch temporary files left behind.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	for _, content := range []string{"first version", "second, longer version", ""} {
		err := WriteFileAtomic(path, 0o644, func(w io.Writer) error {
			_, err := io.WriteString(w, content)
			return err
		})
		if err != nil {
			t.Fatalf("WriteFileAtomic: %v", err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("file holds %q, want %q", got, content)
		}
		if names := listDir(t, dir); len(names) != 1 || names[0] != "out.bin" {
			t.Errorf("directory holds %v, want only out.bin", names)
		}
	}
}

func TestWriteFileAtomicLarge(t *testing.T) {
	// More than the buffer size, written in small pieces.
	path := filepath.Join(t.TempDir(), "big")
	chunk := []byte(strings.Repeat("0123456789abcdef", 64))
	const n = 1000
	err := WriteFileAtomic(path, 0o600, func(w io.Writer) error {
		for range n {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != int64(n*len(chunk)) {
		t.Errorf("size %d, want %d", fi.Size(), n*len(chunk))
	}
}

func TestWriteFileAtomicCallbackError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		// Enough to have gone past the buffer into the temporary file.
		if _, err := w.Write(make([]byte, 1<<20)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want one wrapping %v", err, boom)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "old" {
		t.Errorf("old file changed to %d bytes", len(got))
	}
	if names := listDir(t, dir); len(names) != 1 || names[0] != "keep.txt" {
		t.Errorf("directory holds %v, want only keep.txt", names)
	}
}

func TestWriteFileAtomicPanicLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p")
	func() {
		defer func() { recover() }()
		_ = WriteFileAtomic(path, 0o644, func(w io.Writer) error { panic("callback panics") })
	}()
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("directory holds %v after a panicking callback", names)
	}
}

func TestWriteFileAtomicUnwritable(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		root       bool // whether the case still fails for root
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "x"), true},
		{"parent is a file", filepath.Join(notDir, "x"), true},
		{"read-only directory", filepath.Join(readOnly, "x"), false},
		{"target is a directory", readOnly, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.root && os.Geteuid() == 0 {
				t.Skip("root ignores permission bits")
			}
			err := WriteFileAtomic(c.path, 0o644, func(w io.Writer) error {
				_, err := io.WriteString(w, "data")
				return err
			})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.path) {
				t.Errorf("error %q does not name %s", err, c.path)
			}
		})
	}
	if names := listDir(t, readOnly); len(names) != 0 {
		t.Errorf("read-only directory holds %v", names)
	}
	if names := listDir(t, dir); len(names) != 2 {
		t.Errorf("directory holds %v, want file and ro", names)
	}
}

func TestWriteFileAtomicPerm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m")
	if err := WriteFileAtomic(path, 0o600, func(w io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("mode %v, want no group/other bits", fi.Mode())
	}
}
