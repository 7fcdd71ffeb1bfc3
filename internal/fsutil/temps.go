package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempInfix separates a target's name from the random suffix in the names
// createTemp gives: ".NAME.tmpSUFFIX".
const tempInfix = ".tmp"

// IsTempName reports whether name (a base name) is one WriteFileAtomic
// gives its temporary file for the target base: "." + base + ".tmp" and a
// base-36 suffix of at most 13 digits (a uint64). It is exact so that
// RemoveStaleTemps never touches a user's file.
func IsTempName(name, base string) bool {
	prefix := "." + base + tempInfix
	suffix, ok := strings.CutPrefix(name, prefix)
	if !ok || len(suffix) == 0 || len(suffix) > 13 {
		return false
	}
	for _, r := range suffix {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// RemoveStaleTemps removes from dir the temporary files that WriteFileAtomic
// left behind for the targets named bases when a process was killed between
// creating and renaming them (kill -9, a power cut). Only regular files of
// exactly that naming pattern are removed. It must not run while another
// process writes those targets in dir. A missing dir is not an error. It
// returns the paths it removed.
func RemoveStaleTemps(dir string, bases ...string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("removing stale temporary files: %w", err)
	}
	var removed []string
	for _, e := range ents {
		if !e.Type().IsRegular() || !matchesAny(e.Name(), bases) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("removing stale temporary file: %w", err)
		}
		removed = append(removed, path)
	}
	return removed, nil
}

func matchesAny(name string, bases []string) bool {
	for _, b := range bases {
		if IsTempName(name, b) {
			return true
		}
	}
	return false
}
