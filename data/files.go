package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by the errors for a path that is not a regular
// file (or a link to one): a named pipe would block the read forever, a
// device could be endless.
var ErrNotRegular = errors.New("not a regular file")

// checkRegular returns an error unless path is, or links to, a regular
// file. It reads only the file's metadata, never its content.
func checkRegular(path string) error {
	st, err := os.Stat(path) // after resolving links: a link to a regular file is fine
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &FileError{File: path, Offset: -1, Err: fmt.Errorf("%w (%s): give an image or CSV file", ErrNotRegular, fileKind(st.Mode()))}
	}
	return nil
}

// OpenRegular opens path for reading, refusing (ErrNotRegular) anything
// but a regular file or a link to one before opening it: opening a named
// pipe blocks until a writer comes, which may be never.
func OpenRegular(path string) (*os.File, error) { return openRegular(path) }

func openRegular(path string) (*os.File, error) {
	if err := checkRegular(path); err != nil {
		return nil, err
	}
	return os.Open(path)
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "type " + m.Type().String()
}
