// Package fsutil holds small file-system helpers shared by the packages that
// write files (checkpoints, plots, caches).
//
// Every function returns an error (never panics) and every error names the
// path it concerns.
package fsutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// bufSize is the size of the write buffer placed in front of the temporary
// file, so that callers may issue many small writes cheaply.
const bufSize = 256 << 10

// WriteFileAtomic replaces the file at path with the bytes that write
// produces, so that a crash or an error at any moment leaves either the old
// file or the complete new one, never a mixture.
//
// write receives a buffered writer onto a new temporary file in the same
// directory as path (a rename is atomic only within one file system). When
// write returns nil, the buffer is flushed, the temporary file is fsynced,
// closed and renamed over path, and then the directory is fsynced so that the
// rename itself survives a power cut. When write or any step before the
// rename fails, the temporary file is removed and a file already at path is
// left untouched.
//
// The new file gets permission bits perm, filtered by the umask as with
// os.WriteFile; the mode of a file being replaced is not kept. A symbolic
// link at path is replaced by the new file rather than followed.
//
// An error from the directory fsync, after the rename, is still returned:
// the new contents are in place but may not be durable yet.
func WriteFileAtomic(path string, perm os.FileMode, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, tmp, err := createTemp(dir, filepath.Base(path), perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	renamed := false
	defer func() {
		if renamed {
			return
		}
		// Best effort: the error that brought us here is the one to report.
		f.Close()
		os.Remove(tmp)
	}()

	bw := bufio.NewWriterSize(f, bufSize)
	if err := write(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Sync before rename: otherwise the rename may reach the disk before
	// the data, and a crash would leave an empty or partial file at path.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}

// createTemp creates a new file next to the target, named after it so that
// leftovers from a crash are recognisable (IsTempName, RemoveStaleTemps). os.CreateTemp is not used because
// it fixes the mode at 0600 and the umask would then be bypassed by a chmod.
func createTemp(dir, base string, perm os.FileMode) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, "."+base+tempInfix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, "", err
		}
	}
	return nil, "", fmt.Errorf("cannot create a temporary file in %s", dir)
}

// syncDir flushes a directory's entries to disk. Windows cannot fsync a
// directory (and its renames are metadata-journalled), so it is skipped there.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
