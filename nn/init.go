package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/backprop-go/backprop/tensor"
)

// The default generator serves constructors given neither WithRNG nor
// Seed. It starts from a fixed seed, so a program that builds its model
// the same way gets the same weights on every run, as PyTorch's does; the
// mutex lets goroutines build layers at the same time.
var (
	defaultMu  sync.Mutex
	defaultRNG = NewRNG(0)
)

// rngStream is the second PCG word of every generator made by NewRNG; any
// fixed value works, and a fixed one makes a seed mean one sequence.
const rngStream = 0x6261636b70726f70 // "backprop"

// NewRNG returns the generator that Seed(seed) uses: a PCG from
// math/rand/v2 seeded with (seed, a fixed stream constant).
func NewRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, rngStream)) }

// ManualSeed resets the default generator to seed, as torch.manual_seed
// does for PyTorch's: layers built after it without WithRNG or Seed are
// the same from run to run for the same seed.
func ManualSeed(seed uint64) {
	defaultMu.Lock()
	defaultRNG = NewRNG(seed)
	defaultMu.Unlock()
}

// withRNG runs f with the generator to draw from: r when it is not nil,
// otherwise the default generator, locked for the duration of f so that a
// layer's draws are contiguous.
func withRNG(r *rand.Rand, f func(r *rand.Rand)) {
	if r != nil {
		f(r)
		return
	}
	defaultMu.Lock()
	defer defaultMu.Unlock()
	f(defaultRNG)
}

// Fans returns the fan-in and fan-out of a weight of the given shape, as
// PyTorch computes them: [out, in] for Linear, [out, in/groups, kh, kw] for
// Conv2d, where each also multiplies by the receptive field kh·kw.
func Fans(shape []int) (fanIn, fanOut int) {
	if len(shape) < 2 {
		panic(fmt.Sprintf("nn.Fans: shape %v has fewer than 2 dimensions", shape))
	}
	field := 1
	for _, s := range shape[2:] {
		field *= s
	}
	return shape[1] * field, shape[0] * field
}

// FanMode chooses which fan the Kaiming initialisers preserve the variance
// of.
type FanMode int

const (
	// FanIn preserves the variance of the activations in the forward pass
	// (PyTorch's default mode="fan_in").
	FanIn FanMode = iota
	// FanOut preserves the variance of the gradients in the backward pass.
	FanOut
)

func (m FanMode) pick(shape []int) int {
	in, out := Fans(shape)
	if m == FanOut {
		return out
	}
	return in
}

// Gain returns PyTorch's recommended gain (torch.nn.init.calculate_gain)
// for a nonlinearity: "linear", "conv2d", "sigmoid" 1; "tanh" 5/3; "relu"
// √2; "leaky_relu" √(2/(1+param²)), param being the negative slope (PyTorch
// reads a missing slope as 0.01; here it is always explicit); "selu" 3/4.
// It panics on an unknown name.
func Gain(nonlinearity string, param float64) float64 {
	switch nonlinearity {
	case "linear", "conv2d", "sigmoid", "identity":
		return 1
	case "tanh":
		return 5.0 / 3
	case "relu":
		return math.Sqrt2
	case "leaky_relu":
		return math.Sqrt(2 / (1 + param*param))
	case "selu":
		return 0.75
	}
	panic(fmt.Sprintf("nn.Gain: unknown nonlinearity %q", nonlinearity))
}

// Uniform fills t with draws from U(lo, hi), from r (nil: the default
// generator).
func Uniform(t *tensor.Tensor, lo, hi float64, r *rand.Rand) {
	withRNG(r, func(r *rand.Rand) {
		d := t.Data()
		for i := range d {
			d[i] = float32(lo + (hi-lo)*r.Float64())
		}
	})
}

// Normal fills t with draws from N(mean, std²), from r (nil: the default
// generator).
func Normal(t *tensor.Tensor, mean, std float64, r *rand.Rand) {
	withRNG(r, func(r *rand.Rand) {
		d := t.Data()
		for i := range d {
			d[i] = float32(mean + std*r.NormFloat64())
		}
	})
}

// XavierUniform fills t with U(-a, a), a = gain·√(6/(fan_in+fan_out))
// (Glorot and Bengio, 2010; torch.nn.init.xavier_uniform_).
func XavierUniform(t *tensor.Tensor, gain float64, r *rand.Rand) {
	in, out := Fans(t.Shape())
	a := gain * math.Sqrt(6/float64(in+out))
	Uniform(t, -a, a, r)
}

// XavierNormal fills t with N(0, std²), std = gain·√(2/(fan_in+fan_out))
// (torch.nn.init.xavier_normal_).
func XavierNormal(t *tensor.Tensor, gain float64, r *rand.Rand) {
	in, out := Fans(t.Shape())
	Normal(t, 0, gain*math.Sqrt(2/float64(in+out)), r)
}

// KaimingUniform fills t with U(-b, b), b = gain·√(3/fan), gain =
// √(2/(1+a²)) (He et al., 2015; torch.nn.init.kaiming_uniform_ with
// nonlinearity="leaky_relu", so a = 0 is the ReLU case).
func KaimingUniform(t *tensor.Tensor, a float64, mode FanMode, r *rand.Rand) {
	fan := mode.pick(t.Shape())
	b := Gain("leaky_relu", a) * math.Sqrt(3/float64(max(fan, 1)))
	Uniform(t, -b, b, r)
}

// KaimingNormal fills t with N(0, std²), std = √(2/(1+a²))/√fan
// (torch.nn.init.kaiming_normal_ with nonlinearity="leaky_relu").
func KaimingNormal(t *tensor.Tensor, a float64, mode FanMode, r *rand.Rand) {
	fan := mode.pick(t.Shape())
	Normal(t, 0, Gain("leaky_relu", a)/math.Sqrt(float64(max(fan, 1))), r)
}

// defaultLinearInit draws a Linear or Conv2d weight and bias as PyTorch's
// reset_parameters does: kaiming_uniform_(a=√5) for the weight, which works
// out to U(-1/√fan_in, 1/√fan_in), and the same bound for the bias. The
// weight is drawn first, then the bias, from one generator.
func defaultLinearInit(w, b *tensor.Tensor, r *rand.Rand) {
	withRNG(r, func(r *rand.Rand) {
		KaimingUniform(w, math.Sqrt(5), FanIn, r)
		if b != nil {
			fanIn, _ := Fans(w.Shape())
			bound := 0.0
			if fanIn > 0 {
				bound = 1 / math.Sqrt(float64(fanIn))
			}
			Uniform(b, -bound, bound, r)
		}
	})
}
