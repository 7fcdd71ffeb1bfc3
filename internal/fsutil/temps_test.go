package fsutil

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIsTempName(t *testing.T) {
	cases := []struct {
		name string
		want bool
	}{
		{".checkpoint.safetensors.tmp3w5e11264sgsg", true},
		{".checkpoint.safetensors.tmp0", true},
		{".checkpoint.safetensors.tmp", false},               // no suffix
		{".checkpoint.safetensors.tmp3w5e11264sgsgx", false}, // longer than a uint64
		{".checkpoint.safetensors.tmpABC", false},            // not base 36 lower case
		{".checkpoint.safetensors.tmp12.bak", false},         // more after the suffix
		{"checkpoint.safetensors.tmp12", false},              // no leading dot
		{".metrics.jsonl.tmp12", false},                      // another target
		{".checkpoint.safetensors.tmp-12", false},            // a sign
		{"..checkpoint.safetensors.tmp12", false},            // a longer name
	}
	for _, c := range cases {
		if got := IsTempName(c.name, "checkpoint.safetensors"); got != c.want {
			t.Errorf("IsTempName(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestRemoveStaleTemps leaves what a killed writer leaves, beside files of
// the user's that look alike, and checks that exactly the leftovers go.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	// A real temporary name, from a write that fails half-way: keep it by
	// copying it before WriteFileAtomic's cleanup removes it.
	var realTemp string
	_ = WriteFileAtomic(filepath.Join(dir, "checkpoint.safetensors"), 0o644, func(w io.Writer) error {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			realTemp = e.Name()
		}
		return os.ErrClosed
	})
	if !IsTempName(realTemp, "checkpoint.safetensors") {
		t.Fatalf("WriteFileAtomic's temporary %q does not match IsTempName", realTemp)
	}
	stale := []string{realTemp, ".checkpoint.safetensors.tmp1a2b", ".metrics.jsonl.tmpzz9"}
	keep := []string{"checkpoint.safetensors", "notes.txt", ".checkpoint.safetensors.tmp-old", ".other.tmp123", "checkpoint.safetensors.tmp5"}
	for _, n := range append(append([]string(nil), stale...), keep...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with a temporary's name is not a file we wrote.
	if err := os.Mkdir(filepath.Join(dir, ".checkpoint.safetensors.tmpdir1"), 0o755); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".checkpoint.safetensors.tmpdir1")

	removed, err := RemoveStaleTemps(dir, "checkpoint.safetensors", "metrics.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != len(stale) {
		t.Errorf("removed %v, want the %d stale temporaries %v", removed, len(stale), stale)
	}
	left := listDir(t, dir)
	slices.Sort(left)
	slices.Sort(keep)
	if !slices.Equal(left, keep) {
		t.Errorf("left %v, want %v", left, keep)
	}

	if removed, err := RemoveStaleTemps(filepath.Join(dir, "missing"), "checkpoint.safetensors"); err != nil || removed != nil {
		t.Errorf("missing directory: %v, %v; want nothing and no error", removed, err)
	}
	if _, err := RemoveStaleTemps(filepath.Join(dir, "notes.txt"), "x"); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("a file as the directory: %v, want an error naming it", err)
	}
}
