package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Option sets an optional argument of a layer constructor or of [Build],
// in the manner of PyTorch's keyword arguments:
//
//	nn.Conv2d(1, 32, 3, nn.Padding(1), nn.Stride(2), nn.NoBias())
//
// Passing an option that a constructor does not take (Padding to Linear)
// is a programming error and panics with a message naming both; Build
// returns an error instead.
type Option struct {
	name  string
	apply func(*config)
}

// config collects the options given to one constructor.
type config struct {
	rng            *rand.Rand
	stride         int
	padding        int
	dilation       int
	groups         int
	noBias         bool
	noAffine       bool
	momentum       float32
	eps            float32
	ceilMode       bool
	countIncPad    bool
	paddingIdx     int
	maxSize        int
	noRunningStats bool
	outputPadding  int
	given          []string
}

func newConfig(op string, allowed []string, opts []Option) *config {
	c := &config{stride: 0, padding: 0, dilation: 1, groups: 1, momentum: 0.1, eps: 1e-5,
		countIncPad: true, paddingIdx: -1, maxSize: defaultMaxSize}
	for _, o := range opts {
		if o.apply == nil {
			continue
		}
		if o.name != "WithRNG" && o.name != "Seed" && !slices.Contains(allowed, o.name) {
			panic(fmt.Sprintf("nn.%s: option %s does not apply (it takes %s)", op, o.name, describeAllowed(allowed)))
		}
		o.apply(c)
		c.given = append(c.given, o.name)
	}
	return c
}

func describeAllowed(allowed []string) string {
	all := append(append([]string{}, allowed...), "WithRNG", "Seed")
	return strings.Join(all, ", ")
}

func (c *config) has(name string) bool { return slices.Contains(c.given, name) }

// WithRNG makes a constructor (or Build) draw its initial weights, and a
// Dropout layer the seed of its own generator, from r. Layers built one
// after another from the same r are together reproducible from r's seed.
// Without WithRNG or Seed, the package's default generator is used (see
// [ManualSeed]).
func WithRNG(r *rand.Rand) Option {
	return Option{"WithRNG", func(c *config) { c.rng = r }}
}

// Seed makes a constructor (or Build) draw from a new generator seeded
// with seed: the same seed gives the same weights. With Build, the whole
// model is drawn from that one generator, layer by layer.
func Seed(seed uint64) Option {
	return Option{"Seed", func(c *config) { c.rng = NewRNG(seed) }}
}

// Stride sets the step of a convolution or pooling window (default 1 for
// Conv2d, the kernel size for pooling).
func Stride(s int) Option { return Option{"Stride", func(c *config) { c.stride = s }} }

// Padding sets the implicit zero padding (or -Inf padding, for max
// pooling) on each side of the height and width (default 0).
func Padding(p int) Option { return Option{"Padding", func(c *config) { c.padding = p }} }

// Dilation sets the spacing between kernel taps (default 1).
func Dilation(d int) Option { return Option{"Dilation", func(c *config) { c.dilation = d }} }

// Groups splits a convolution's input and output channels into g groups
// that are convolved separately (default 1; g = in channels is depthwise).
func Groups(g int) Option { return Option{"Groups", func(c *config) { c.groups = g }} }

// NoBias leaves out the additive bias of Linear, Conv2d and LayerNorm
// (PyTorch's bias=False).
func NoBias() Option { return Option{"NoBias", func(c *config) { c.noBias = true }} }

// NoAffine leaves out the learnable scale and shift of BatchNorm and
// LayerNorm (PyTorch's affine=False / elementwise_affine=False).
func NoAffine() Option { return Option{"NoAffine", func(c *config) { c.noAffine = true }} }

// NoRunningStats makes BatchNorm use batch statistics in both modes and
// keep no buffers (PyTorch's track_running_stats=False).
func NoRunningStats() Option {
	return Option{"NoRunningStats", func(c *config) { c.noRunningStats = true }}
}

// Momentum sets the weight of the newest batch in BatchNorm's running
// statistics (default 0.1).
func Momentum(m float32) Option { return Option{"Momentum", func(c *config) { c.momentum = m }} }

// Eps sets the number added to the variance before its square root in
// BatchNorm and LayerNorm (default 1e-5).
func Eps(e float32) Option { return Option{"Eps", func(c *config) { c.eps = e }} }

// CeilMode makes pooling use ceil instead of floor for the output size.
func CeilMode() Option { return Option{"CeilMode", func(c *config) { c.ceilMode = true }} }

// CountIncludePad sets whether average pooling divides by the full window,
// padding included (true, PyTorch's default), or by the real elements only.
func CountIncludePad(on bool) Option {
	return Option{"CountIncludePad", func(c *config) { c.countIncPad = on }}
}

// PaddingIdx makes the row i of an Embedding start at zero and receive no
// gradient (PyTorch's padding_idx).
func PaddingIdx(i int) Option { return Option{"PaddingIdx", func(c *config) { c.paddingIdx = i }} }

// MaxSize bounds what Build accepts: no layer may have more than n
// parameters, and no layer's output more than n elements per sample.
// The default, 1<<30, only refuses specs that could not be allocated;
// lower it when the spec comes from an untrusted source.
func MaxSize(n int) Option { return Option{"MaxSize", func(c *config) { c.maxSize = n }} }

const defaultMaxSize = 1 << 30
