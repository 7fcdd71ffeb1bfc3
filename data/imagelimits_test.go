package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pngBomb returns a valid PNG of one pixel whose header claims w×h pixels:
// a decoder that trusts the header allocates w·h·4 bytes.
func pngBomb(t testing.TB, w, h uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// 8-byte signature, then the IHDR chunk: length, "IHDR", width,
	// height, 5 more bytes, CRC of type and data.
	if string(b[12:16]) != "IHDR" {
		t.Fatal("no IHDR chunk where expected")
	}
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestPNGBombRefusedUnread(t *testing.T) {
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.png")
	if err := os.WriteFile(bomb, pngBomb(t, 100000, 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(pngBomb(t, 100000, 100000))); err != nil || cfg.Width != 100000 {
		t.Fatalf("the crafted header does not read as 100000 wide: %v %v", cfg, err)
	}
	spec := ImageSpec{Channels: 3, Height: 8, Width: 8}
	var err error
	n := allocated(func() { _, err = spec.FeaturesFromFile(bomb) })
	var pe *PixelLimitError
	if !errors.As(err, &pe) || pe.Width != 100000 || pe.Height != 100000 || pe.Limit != DefaultMaxPixels {
		t.Fatalf("error %v, want a PixelLimitError for 100000×100000 against %d", err, DefaultMaxPixels)
	}
	for _, want := range []string{bomb, "100000×100000", "50000000", "--max-pixels"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not name %q", err, want)
		}
	}
	if n > 1<<20 {
		t.Errorf("refusing the bomb allocated %d bytes, want under 1 MiB", n)
	}

	// In a folder, the Sample that reads it fails the same way.
	root := filepath.Join(dir, "pets")
	for _, c := range []string{"cat", "dog"} {
		writeImage(t, filepath.Join(root, c, "a.png"), 4, 4, false, solid(red))
	}
	os.WriteFile(filepath.Join(root, "dog", "z.png"), pngBomb(t, 100000, 100000), 0o644)
	d, err := ImageFolder(root, ImageConfig{Height: 4, Width: 4, Split: SplitConfig{TestFraction: -1}})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 3*4*4)
	n = allocated(func() { _, err = d.Train.Sample(d.Train.Len()-1, nil, x, nil) })
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "z.png") || n > 1<<20 {
		t.Fatalf("Sample of the bomb: %v, %d bytes allocated", err, n)
	}
}

func TestImagePixelLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img.png")
	writeImage(t, p, 100, 50, false, solid(blue))
	spec := ImageSpec{Channels: 1, Height: 4, Width: 4}
	tests := []struct {
		limit int
		ok    bool
	}{{4999, false}, {5000, true}, {0, true}}
	for _, tt := range tests {
		_, err := spec.FeaturesFromFileLimit(p, tt.limit)
		var pe *PixelLimitError
		if tt.ok != (err == nil) || (!tt.ok && !errors.As(err, &pe)) {
			t.Errorf("limit %d: error %v, want ok %v", tt.limit, err, tt.ok)
		}
	}
}

func TestImageFolderOneClassRefused(t *testing.T) {
	root := t.TempDir()
	for i := range 3 {
		writeImage(t, filepath.Join(root, "cat", "c"+itoa(i)+".png"), 4, 4, false, solid(red))
	}
	_, err := ImageFolder(root, ImageConfig{})
	if !errors.Is(err, ErrOneClass) || !strings.Contains(err.Error(), root) || !strings.Contains(err.Error(), `"cat"`) {
		t.Fatalf("error %v, want ErrOneClass naming %s and \"cat\"", err, root)
	}
}

func TestImageFolderFollowsLinksToFiles(t *testing.T) {
	root := t.TempDir()
	for _, c := range []string{"cat", "dog"} {
		writeImage(t, filepath.Join(root, c, "a.png"), 4, 4, false, solid(red))
	}
	if err := os.Symlink(filepath.Join(root, "cat", "a.png"), filepath.Join(root, "cat", "link.png")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	os.Symlink(filepath.Join(root, "nowhere.png"), filepath.Join(root, "dog", "dangling.png"))
	var warn strings.Builder
	d, err := ImageFolder(root, ImageConfig{Height: 4, Width: 4, Split: SplitConfig{TestFraction: -1}, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 3 || !strings.Contains(warn.String(), "dangling.png: not a regular file (a dangling link)") {
		t.Fatalf("%d images, warnings %q: want the link read and the dangling one skipped", d.Train.Len(), warn.String())
	}
}
