package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeImage writes a w×h image filled by f, as PNG or JPEG by extension.
func writeImage(t testing.TB, path string, w, h int, gray bool, f func(x, y int) color.RGBA) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var img image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				g.Set(x, y, f(x, y))
			}
		}
		img = g
	} else {
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				m.SetRGBA(x, y, f(x, y))
			}
		}
		img = m
	}
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		err = png.Encode(&buf, img)
	default:
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func solid(c color.RGBA) func(x, y int) color.RGBA { return func(int, int) color.RGBA { return c } }

var (
	red   = color.RGBA{255, 0, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// catsAndDogs makes ROOT/cat and ROOT/dog with PNG and JPEG images of
// mixed sizes, grey and colour, and stray files.
func catsAndDogs(t testing.TB, root string, n int) {
	for i := range n {
		w, h := 20+7*i, 30-i%5
		writeImage(t, filepath.Join(root, "cat", "c"+itoa(i)+".png"), w, h, false, solid(red))
		ext := []string{".jpg", ".jpeg", ".JPG", ".png"}[i%4]
		writeImage(t, filepath.Join(root, "dog", "sub", "d"+itoa(i)+ext), h, w, i%2 == 0, solid(white))
	}
	os.WriteFile(filepath.Join(root, "cat", "notes.txt"), []byte("not an image"), 0o644)
	os.WriteFile(filepath.Join(root, "dog", ".DS_Store"), []byte{0}, 0o644)
	os.WriteFile(filepath.Join(root, "README"), []byte("stray"), 0o644)
}

func itoa(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }

func TestImageFolderSeededSplit(t *testing.T) {
	root := t.TempDir()
	catsAndDogs(t, root, 10)
	var warn bytes.Buffer
	d, err := ImageFolder(root, ImageConfig{Height: 8, Width: 12, Warn: &warn, Split: SplitConfig{Seed: 5, ValFraction: 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, []string{"cat", "dog"}) {
		t.Fatalf("classes %v", d.Classes)
	}
	// 10 per class: 2 test, then 2 of the remaining 8 for validation.
	if d.Train.Len() != 12 || d.Val.Len() != 4 || d.Test.Len() != 4 {
		t.Fatalf("train %d val %d test %d", d.Train.Len(), d.Val.Len(), d.Test.Len())
	}
	w := warn.String()
	if !strings.Contains(w, filepath.Join(root, "cat", "notes.txt")) || !strings.Contains(w, filepath.Join(root, "README")) || strings.Contains(w, "DS_Store") {
		t.Errorf("warnings:\n%s", w)
	}
	// No file in two splits.
	seen := map[string]bool{}
	for _, ds := range []Dataset{d.Train, d.Val, d.Test} {
		id := ds.(*ImageDataset)
		for i := range id.Len() {
			if seen[id.Path(i)] {
				t.Fatalf("%s in two splits", id.Path(i))
			}
			seen[id.Path(i)] = true
		}
	}
	// Same seed, same split.
	d2, _ := ImageFolder(root, ImageConfig{Height: 8, Width: 12, Warn: &warn, Split: SplitConfig{Seed: 5, ValFraction: 0.25}})
	if d2.Test.(*ImageDataset).Path(0) != d.Test.(*ImageDataset).Path(0) {
		t.Fatal("same seed, another split")
	}
	// Samples: red cats, white dogs, whatever the size and format.
	x := make([]float32, 3*8*12)
	for i := range d.Train.Len() {
		label, err := d.Train.Sample(i, nil, x, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := [3]float32{1, 0, 0}
		if label == 1 {
			want = [3]float32{1, 1, 1}
		}
		for c := range 3 {
			for _, v := range x[c*96 : (c+1)*96] {
				if math.Abs(float64(v-want[c])) > 2.0/255 {
					t.Fatalf("%s channel %d: %v, want %v", d.Train.(*ImageDataset).Path(i), c, v, want[c])
				}
			}
		}
	}
}

func TestImageFolderGrayAndNorm(t *testing.T) {
	root := t.TempDir()
	catsAndDogs(t, root, 4)
	d, err := ImageFolder(root, ImageConfig{Height: 5, Width: 5, Channels: 1, ComputeNorm: true, Warn: &bytes.Buffer{}, Split: SplitConfig{TestFraction: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Test != nil || d.Train.Len() != 8 || !slices.Equal(d.Train.Shape(), []int{1, 5, 5}) {
		t.Fatalf("test %v train %d shape %v", d.Test, d.Train.Len(), d.Train.Shape())
	}
	// Half the images are red (luma 76/255), half white (1).
	mean := (float64(76)/255 + 1) / 2
	std := (1 - float64(76)/255) / 2
	n := d.Spec.Norm
	if n == nil || math.Abs(float64(n.Mean[0])-mean) > 1e-3 || math.Abs(float64(n.Std[0])-std) > 1e-3 {
		t.Fatalf("norm %+v, want mean %v std %v", n, mean, std)
	}
	// Prediction preprocesses a file exactly as Sample does.
	id := d.Train.(*ImageDataset)
	x := make([]float32, 25)
	id.Sample(3, nil, x, nil)
	y, err := d.Spec.FeaturesFromFile(id.Path(3))
	if err != nil || !slices.Equal(x, y) {
		t.Fatalf("FeaturesFromFile %v (%v), Sample %v", y, err, x)
	}
	if math.Abs(float64(x[0])) < 0.9 {
		t.Fatalf("normalised value %v, want about ±1", x[0])
	}
}

func TestImageFolderTrainTestDirs(t *testing.T) {
	root := t.TempDir()
	catsAndDogs(t, filepath.Join(root, "train"), 3)
	catsAndDogs(t, filepath.Join(root, "test"), 2)
	d, err := ImageFolder(root, ImageConfig{Warn: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 6 || d.Test.Len() != 4 || d.Val != nil {
		t.Fatalf("train %d test %d", d.Train.Len(), d.Test.Len())
	}
	if p := d.Test.(*ImageDataset).Path(0); !strings.HasPrefix(p, filepath.Join(root, "test")) {
		t.Fatalf("test image %s", p)
	}
	// val/ is the test set when there is no test/.
	os.Rename(filepath.Join(root, "test"), filepath.Join(root, "val"))
	d, err = ImageFolder(root, ImageConfig{Warn: &bytes.Buffer{}})
	if err != nil || d.Test.Len() != 4 {
		t.Fatalf("with val/: %v", err)
	}
	// A class unknown to training is refused.
	writeImage(t, filepath.Join(root, "val", "bird", "b.png"), 4, 4, false, solid(blue))
	if _, err := ImageFolder(root, ImageConfig{Warn: &bytes.Buffer{}}); err == nil || !strings.Contains(err.Error(), `class "bird"`) {
		t.Fatalf("unknown class: %v", err)
	}
}

func TestImageFolderErrors(t *testing.T) {
	root := t.TempDir()
	catsAndDogs(t, root, 2)
	os.MkdirAll(filepath.Join(root, "empty"), 0o755)
	os.WriteFile(filepath.Join(root, "empty", "x.txt"), nil, 0o644)
	_, err := ImageFolder(root, ImageConfig{Warn: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "empty")) || !strings.Contains(err.Error(), "no .png") {
		t.Fatalf("empty class: %v", err)
	}
	os.RemoveAll(filepath.Join(root, "empty"))
	// A file that claims to be an image but is not fails when read.
	bad := filepath.Join(root, "cat", "broken.png")
	os.WriteFile(bad, []byte("\x89PNG garbage"), 0o644)
	d, err := ImageFolder(root, ImageConfig{Height: 4, Width: 4, Warn: &bytes.Buffer{}, Split: SplitConfig{TestFraction: -1}})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := NewLoader(d.Train, LoaderConfig{BatchSize: 2})
	var got error
	for _, err := range l.Epoch(0) {
		if err != nil {
			got = err
		}
	}
	if got == nil || !strings.Contains(got.Error(), bad) {
		t.Fatalf("broken image: %v", got)
	}
	for _, cfg := range []ImageConfig{{Channels: 2}, {Height: -1, Width: 3}, {Augment: &Augment{MaxRotation: 270}}} {
		if _, err := ImageFolder(root, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	if _, err := ImageFolder(filepath.Join(root, "nope"), ImageConfig{}); err == nil {
		t.Error("missing folder accepted")
	}
}

func TestImageFolderAugmentSeeded(t *testing.T) {
	root := t.TempDir()
	// Left half black, right half white: a flip or crop shows.
	for i := range 6 {
		// Two classes: a folder of one class is refused.
		writeImage(t, filepath.Join(root, []string{"a", "b"}[i%2], "i"+itoa(i)+".png"), 16, 16, false, func(x, y int) color.RGBA {
			if x < 8 {
				return color.RGBA{0, 0, 0, 255}
			}
			return white
		})
	}
	aug := &Augment{CropPadding: 2, FlipH: true, MaxRotation: 10, Brightness: 0.2, Contrast: 0.2, Saturation: 0.2}
	d, err := ImageFolder(root, ImageConfig{Height: 16, Width: 16, Augment: aug, Split: SplitConfig{TestFraction: -1}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(workers int) []*Batch {
		l, _ := NewLoader(d.Train, LoaderConfig{BatchSize: 4, Shuffle: true, Seed: 9, Workers: workers})
		return append(collect(t, l, 0, 0), collect(t, l, 1, 0)...)
	}
	a, b := run(1), run(3)
	for i := range a {
		if !slices.Equal(a[i].X.Data(), b[i].X.Data()) {
			t.Fatal("augmentation depends on the number of workers")
		}
	}
	// Augmented samples differ from the plain one, and from each other.
	plain := make([]float32, 3*16*16)
	d.Train.Sample(a[0].Indices[0], nil, plain, nil)
	if slices.Equal(plain, a[0].X.Data()[:len(plain)]) {
		t.Error("augmentation changed nothing")
	}
}
