package data

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // register the JPEG decoder with image.Decode
	_ "image/png"  // register the PNG decoder with image.Decode
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	xdraw "golang.org/x/image/draw"
)

// ImageSpec describes how an image becomes a feature vector: converted to
// Channels channels (1: grey, by ITU-R 601 luma as PIL's convert("L"); 3:
// RGB), resized to Height×Width (bilinear, golang.org/x/image/draw),
// scaled to [0, 1], then normalised by Norm when it is set. Training and
// prediction use the same ImageSpec, which a checkpoint stores.
type ImageSpec struct {
	Channels int            `json:"channels"`
	Height   int            `json:"height"`
	Width    int            `json:"width"`
	Norm     *Normalization `json:"norm,omitempty"`
}

// Shape returns the feature shape [Channels, Height, Width].
func (s ImageSpec) Shape() []int { return []int{s.Channels, s.Height, s.Width} }

// Validate reports an ImageSpec that cannot be used.
func (s ImageSpec) Validate() error {
	if s.Channels != 1 && s.Channels != 3 {
		return fmt.Errorf("data: image channels %d: want 1 (grey) or 3 (RGB)", s.Channels)
	}
	if s.Height <= 0 || s.Width <= 0 || s.Height > 1<<14 || s.Width > 1<<14 {
		return fmt.Errorf("data: image size %d×%d: want each side in [1, 16384]", s.Height, s.Width)
	}
	if s.Norm != nil {
		if err := s.Norm.Validate(); err != nil {
			return err
		}
		if len(s.Norm.Mean) != s.Channels {
			return fmt.Errorf("data: normalisation has %d channels, images have %d", len(s.Norm.Mean), s.Channels)
		}
	}
	return nil
}

// Features writes img's features into x (Channels·Height·Width values):
// resized, scaled to [0, 1] and normalised, without augmentation.
func (s ImageSpec) Features(img image.Image, x []float32) {
	s.pixels(img, x)
	if s.Norm != nil {
		s.Norm.Apply(x)
	}
}

// FeaturesFromFile decodes a PNG or JPEG file and returns its features as
// at training time (Features). This is the path for prediction. The file
// must be a regular file declaring at most DefaultMaxPixels pixels (see
// FeaturesFromFileLimit).
func (s ImageSpec) FeaturesFromFile(path string) ([]float32, error) {
	return s.FeaturesFromFileLimit(path, DefaultMaxPixels)
}

// FeaturesFromFileLimit is FeaturesFromFile refusing an image that
// declares more than maxPixels pixels (0: DefaultMaxPixels) before decoding
// it.
func (s ImageSpec) FeaturesFromFileLimit(path string, maxPixels int) ([]float32, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	img, err := decodeImageFile(path, maxPixels)
	if err != nil {
		return nil, err
	}
	x := make([]float32, Numel(s.Shape()))
	s.Features(img, x)
	return x, nil
}

// DefaultMaxPixels is the largest image, in pixels (width × height), that
// is decoded unless a caller raises the limit: 50 megapixels, more than
// the photos of most cameras, and 200 MB once decoded to RGBA. A 1.6 KB
// PNG can declare 100000×100000 pixels (40 GB decoded); the declared size
// is read from the file's header and checked before any pixel is.
const DefaultMaxPixels = 50_000_000

// PixelLimitError reports an image whose header declares more pixels than
// the limit; nothing of it was decoded.
type PixelLimitError struct {
	File          string
	Width, Height int
	Limit         int
}

// Error names the file, its declared size and the limit.
func (e *PixelLimitError) Error() string {
	return fmt.Sprintf("%s: image declares %d×%d pixels (%d), above the limit of %d pixels; raise the limit (--max-pixels) only for a real image that large",
		e.File, e.Width, e.Height, int64(e.Width)*int64(e.Height), e.Limit)
}

// decodeImageFile decodes a regular PNG or JPEG file after checking the
// size its header declares against maxPixels (0: DefaultMaxPixels).
func decodeImageFile(path string, maxPixels int) (image.Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return nil, &FileError{File: path, Offset: -1, Err: fmt.Errorf("decoding image: %w", err)}
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, &PixelLimitError{File: path, Width: cfg.Width, Height: cfg.Height, Limit: maxPixels}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, &FileError{File: path, Offset: -1, Err: err}
	}
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, &FileError{File: path, Offset: -1, Err: fmt.Errorf("decoding image: %w", err)}
	}
	return img, nil
}

var pixBuf = sync.Pool{New: func() any { return new([]byte) }}

// pixels resizes img into a pooled buffer and writes [C, H, W] values in
// [0, 1] into x.
func (s ImageSpec) pixels(img image.Image, x []float32) {
	h, w := s.Height, s.Width
	if len(x) != s.Channels*h*w {
		panic(fmt.Sprintf("data: ImageSpec: x has %d elements, want %d", len(x), s.Channels*h*w))
	}
	bp := pixBuf.Get().(*[]byte)
	defer pixBuf.Put(bp)
	n := h * w * 4
	if s.Channels == 1 {
		n = h * w
	}
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	pix := (*bp)[:n]
	r := image.Rect(0, 0, w, h)
	var dst draw.Image
	if s.Channels == 1 {
		dst = &image.Gray{Pix: pix, Stride: w, Rect: r}
	} else {
		dst = &image.RGBA{Pix: pix, Stride: 4 * w, Rect: r}
	}
	b := img.Bounds()
	if b.Dx() == w && b.Dy() == h {
		draw.Draw(dst, r, img, b.Min, draw.Src)
	} else {
		xdraw.BiLinear.Scale(dst, r, img, b, draw.Src, nil)
	}
	if s.Channels == 1 {
		x = x[:len(pix)]
		for i, p := range pix {
			x[i] = byteScale[p]
		}
		return
	}
	plane := h * w
	red, green, blue := x[:plane], x[plane:2*plane], x[2*plane:3*plane]
	for i := range plane {
		p := pix[4*i : 4*i+3 : 4*i+3]
		red[i], green[i], blue[i] = byteScale[p[0]], byteScale[p[1]], byteScale[p[2]]
	}
}

// ImageConfig configures ImageFolder. The zero value of each field picks
// the default noted beside it.
type ImageConfig struct {
	Height, Width int // size the images are resized to; default 64×64
	Channels      int // 1 (grey) or 3 (RGB); default 3

	// Norm, when set, is the per-channel normalisation to apply (for
	// example ImageNet's mean and std). Otherwise, with ComputeNorm, the
	// statistics are computed from the training split (up to NormSamples
	// images, default 1000); otherwise pixels stay in [0, 1].
	Norm        *Normalization
	ComputeNorm bool
	NormSamples int

	// Augment is applied to the training split only, when the Loader hands
	// Sample a random generator.
	Augment *Augment

	// Split is used for the parts the folder does not have (see
	// ImageFolder).
	Split SplitConfig

	// Warn receives a line for each file skipped; default os.Stderr.
	Warn io.Writer

	// MaxPixels is the largest image (width × height, as its header
	// declares) that is decoded; a larger one fails its Sample with a
	// *PixelLimitError. Default DefaultMaxPixels.
	MaxPixels int
}

// ImageData is what ImageFolder returns: the splits (each an
// *ImageDataset), the class names, and the ImageSpec to store with a model
// so that prediction prepares images as training did.
type ImageData struct {
	Splits
	Classes []string
	Spec    ImageSpec
}

// imageExts are the file name extensions read as images (compared in lower
// case).
var imageExts = []string{".png", ".jpg", ".jpeg"}

// ImageFolder reads a folder of images in torchvision's ImageFolder layout:
// ROOT/<class>/…/*.png|jpg|jpeg, one subfolder per class, classes sorted by
// name (label i is Classes[i]).
//
// When ROOT/train exists, it holds the training images, and ROOT/test (or,
// without it, ROOT/val) the test images; ROOT/val is the validation set
// when both test and val exist. Classes come from ROOT/train; a test or
// validation class unknown to training is an error. Without ROOT/train,
// ROOT itself is the training set, and cfg.Split holds out a seeded,
// per-class (stratified) fraction as test (default 0.2), and optionally a
// validation fraction of the rest.
//
// Decisions for imperfect folders:
//   - A file whose name does not end in .png, .jpg or .jpeg (any case) is
//     skipped with a warning naming it, written to cfg.Warn; names starting
//     with "." (.DS_Store, editor files) are skipped silently. So are files
//     lying directly in ROOT (or ROOT/train), with a warning.
//   - A class folder with no image is an error that names it: the class
//     could never be learnt, and skipping it would silently shift the
//     labels of the classes after it.
//   - A file with an image extension that does not decode, or that declares
//     more than cfg.MaxPixels pixels, fails at the first Sample that reads
//     it, with an error naming the file.
//   - A name with an image extension that is not a regular file (a named
//     pipe, a socket, a device, a dangling link) is skipped with a warning:
//     reading a pipe would block forever. A link to a regular file is read.
//   - A folder with only one class is an error (ErrOneClass): it would
//     train to 100% and learn nothing.
//
// Images are decoded when sampled, so opening a large folder is quick.
func ImageFolder(root string, cfg ImageConfig) (*ImageData, error) {
	if cfg.Height == 0 && cfg.Width == 0 {
		cfg.Height, cfg.Width = 64, 64
	}
	if cfg.Channels == 0 {
		cfg.Channels = 3
	}
	if cfg.NormSamples == 0 {
		cfg.NormSamples = 1000
	}
	if cfg.Warn == nil {
		cfg.Warn = os.Stderr
	}
	spec := ImageSpec{Channels: cfg.Channels, Height: cfg.Height, Width: cfg.Width, Norm: cfg.Norm}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if cfg.Augment != nil {
		if err := cfg.Augment.Validate(); err != nil {
			return nil, err
		}
	}
	if err := cfg.Split.validate(); err != nil {
		return nil, err
	}
	if st, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("data: image folder: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("data: image folder %s is not a directory", root)
	}

	trainDir, testDir, valDir := root, "", ""
	if isDir(filepath.Join(root, "train")) {
		trainDir = filepath.Join(root, "train")
		switch {
		case isDir(filepath.Join(root, "test")):
			testDir = filepath.Join(root, "test")
			if isDir(filepath.Join(root, "val")) {
				valDir = filepath.Join(root, "val")
			}
		case isDir(filepath.Join(root, "val")):
			testDir = filepath.Join(root, "val")
		}
	}
	classes, err := classDirs(trainDir, cfg.Warn)
	if err != nil {
		return nil, err
	}
	if len(classes) == 1 {
		return nil, fmt.Errorf("data: image folder %s has one class, %q: %w (want one subfolder per class)", trainDir, classes[0], ErrOneClass)
	}
	train, err := scanClasses(trainDir, classes, classes, cfg.Warn)
	if err != nil {
		return nil, err
	}
	mk := func(l imageList, aug *Augment) *ImageDataset {
		return &ImageDataset{files: l.files, labels: l.labels, classes: classes, spec: spec, shape: spec.Shape(), augment: aug, maxPixels: cfg.MaxPixels}
	}
	data := &ImageData{Classes: classes}
	var trainList, valList, testList imageList
	if testDir != "" {
		if testList, err = scanFolder(testDir, classes, cfg.Warn); err != nil {
			return nil, err
		}
	}
	if valDir != "" {
		if valList, err = scanFolder(valDir, classes, cfg.Warn); err != nil {
			return nil, err
		}
		trainList = train
	} else {
		split := cfg.Split
		if testDir != "" {
			split.TestFraction = -1
		}
		tr, va, te := stratifiedSplit(split, train.labels, len(classes))
		trainList = train.pick(tr)
		if va != nil {
			valList = train.pick(va)
		}
		if testDir == "" && te != nil {
			testList = train.pick(te)
		}
	}
	if len(trainList.files) == 0 {
		return nil, fmt.Errorf("data: image folder %s: no training images left after the split", root)
	}
	if cfg.Norm == nil && cfg.ComputeNorm {
		norm, err := ComputeNormalization(mk(trainList, nil), cfg.NormSamples)
		if err != nil {
			return nil, err
		}
		spec.Norm = norm
	}
	data.Spec = spec
	data.Train = mk(trainList, cfg.Augment) // mk sees the spec with its normalisation now
	if valList.files != nil {
		data.Val = mk(valList, nil)
	}
	if testList.files != nil {
		data.Test = mk(testList, nil)
	}
	return data, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// classDirs returns the sorted names of dir's subfolders, warning about
// the files lying beside them.
func classDirs(dir string, warn io.Writer) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data: image folder: %w", err)
	}
	var classes []string
	for _, e := range entries {
		switch {
		case hidden(e.Name()):
		case e.IsDir():
			classes = append(classes, e.Name())
		default:
			fmt.Fprintf(warn, "data: skipping %s: not in a class folder\n", filepath.Join(dir, e.Name()))
		}
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("data: image folder %s has no class subfolders (want %s/<class>/*.png|jpg|jpeg)", dir, dir)
	}
	slices.Sort(classes)
	return classes, nil
}

type imageList struct {
	files  []string
	labels []int32
}

func (l imageList) pick(idx []int) imageList {
	out := imageList{files: make([]string, len(idx)), labels: make([]int32, len(idx))}
	for i, k := range idx {
		out.files[i], out.labels[i] = l.files[k], l.labels[k]
	}
	return out
}

// scanFolder lists a test or validation folder whose classes must be known.
func scanFolder(dir string, classes []string, warn io.Writer) (imageList, error) {
	names, err := classDirs(dir, warn)
	if err != nil {
		return imageList{}, err
	}
	for _, n := range names {
		if !slices.Contains(classes, n) {
			return imageList{}, fmt.Errorf("data: image folder %s: class %q is not among the training classes %v", dir, n, classes)
		}
	}
	return scanClasses(dir, names, classes, warn)
}

// scanClasses walks dir/<name> for each name, returning image files in
// sorted order with the label of their class in all.
func scanClasses(dir string, names, all []string, warn io.Writer) (imageList, error) {
	var l imageList
	for _, name := range names {
		label := int32(slices.Index(all, name))
		cdir := filepath.Join(dir, name)
		found := 0
		err := filepath.WalkDir(cdir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if hidden(d.Name()) && p != cdir {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if !slices.Contains(imageExts, strings.ToLower(filepath.Ext(p))) {
				fmt.Fprintf(warn, "data: skipping %s: not a .png, .jpg or .jpeg file\n", p)
				return nil
			}
			if !d.Type().IsRegular() {
				// Resolve a link; anything else that is not a regular
				// file (a named pipe would block the read forever) is
				// skipped.
				if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
					what := "a dangling link"
					if err == nil {
						what = fileKind(st.Mode())
					}
					fmt.Fprintf(warn, "data: skipping %s: not a regular file (%s)\n", p, what)
					return nil
				}
			}
			l.files = append(l.files, p)
			l.labels = append(l.labels, label)
			found++
			return nil
		})
		if err != nil {
			return imageList{}, fmt.Errorf("data: image folder: %w", err)
		}
		if found == 0 {
			return imageList{}, fmt.Errorf("data: class folder %s has no .png, .jpg or .jpeg image", cdir)
		}
	}
	return l, nil
}

// stratifiedSplit applies cfg to each class separately so that every
// split keeps the class proportions; it returns sorted indices.
func stratifiedSplit(cfg SplitConfig, labels []int32, nclasses int) (train, val, test []int) {
	// Exact sizes, counted first: a table of a million rows should not
	// allocate its indices several times over while they are grouped.
	counts := make([]int, nclasses)
	for _, l := range labels {
		counts[l]++
	}
	byClass := make([][]int, nclasses)
	for c, n := range counts {
		byClass[c] = make([]int, 0, n)
	}
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	train = make([]int, 0, len(labels))
	for c, idx := range byClass {
		cc := cfg
		cc.Seed = mix(cfg.Seed + uint64(c))
		tr, va, te := cc.split(idx, false)
		train = append(train, tr...)
		val = append(val, va...)
		test = append(test, te...)
	}
	slices.Sort(train)
	slices.Sort(val)
	slices.Sort(test)
	if cfg.ValFraction <= 0 {
		val = nil
	}
	if cfg.testFraction() <= 0 {
		test = nil
	}
	return train, val, test
}

// ImageDataset is a set of image files with class labels (see
// ImageFolder). Sample decodes, resizes and scales the image, applies the
// augmentation when given a random generator (training split only), then
// the normalisation.
type ImageDataset struct {
	files   []string
	labels  []int32
	classes []string
	spec    ImageSpec
	shape   []int
	augment *Augment

	maxPixels int // 0: DefaultMaxPixels
}

// Len returns the number of images.
func (d *ImageDataset) Len() int { return len(d.files) }

// Shape returns [Channels, Height, Width].
func (d *ImageDataset) Shape() []int { return d.shape }

// Classes returns the class names.
func (d *ImageDataset) Classes() []string { return d.classes }

// TargetSize returns 0: image folders are for classification.
func (d *ImageDataset) TargetSize() int { return 0 }

// Spec returns the preprocessing of the data set.
func (d *ImageDataset) Spec() ImageSpec { return d.spec }

// Path returns the file of image i.
func (d *ImageDataset) Path(i int) string { return d.files[i] }

// Label returns the label of image i.
func (d *ImageDataset) Label(i int) int { return int(d.labels[i]) }

// Sample decodes image i into x (see ImageDataset).
func (d *ImageDataset) Sample(i int, rng *rand.Rand, x, target []float32) (int, error) {
	checkBuffers("ImageDataset", i, len(d.files), x, Numel(d.shape), nil, 0)
	img, err := decodeImageFile(d.files[i], d.maxPixels)
	if err != nil {
		var fe *FileError
		var pe *PixelLimitError
		if errors.As(err, &fe) || errors.As(err, &pe) {
			return 0, err
		}
		return 0, fmt.Errorf("data: %w", err)
	}
	d.spec.pixels(img, x)
	if rng != nil && d.augment.Enabled() {
		d.augment.Apply(x, d.shape, rng)
	}
	if d.spec.Norm != nil {
		d.spec.Norm.Apply(x)
	}
	return int(d.labels[i]), nil
}
