// Package playground is the engine of the dashboard's playground: a small
// multi-layer perceptron learning a 2-D toy data set (circles, XOR,
// Gaussian blobs, spiral, moons), trained with backprop's own autograd and
// optimiser, with what a page needs to draw it (the decision boundary and
// every neuron evaluated on a grid, the weights) and a step mode that
// stops between the four stages of one training step: forward pass,
// prediction and error, backward pass, gradient-descent update.
//
// An Engine is not safe for concurrent use; the server holds a mutex.
//
// The grid and the losses are evaluated from inputs marked ag.NoGraph, so
// that they build no graph and leave the weights' gradients alone; the mark
// belongs to the computation, so training in another goroutine is not
// disturbed.
package playground

import (
	"fmt"
	"math/rand/v2"
	"slices"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/explain"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// Config is what the page lets a person change. Zero values pick defaults.
type Config struct {
	Dataset    string  `json:"dataset"`    // one of Datasets (default "circles")
	Noise      float64 `json:"noise"`      // 0 to 0.5
	Samples    int     `json:"samples"`    // points, half for training (default 400)
	Hidden     []int   `json:"hidden"`     // hidden layer widths (default [4, 2])
	Activation string  `json:"activation"` // "tanh" (default), "relu" or "sigmoid"
	LR         float64 `json:"lr"`         // learning rate (default 0.1)
	BatchSize  int     `json:"batchSize"`  // default 10
	L2         float64 `json:"l2"`         // L2 weight decay (default 0)
	Seed       uint64  `json:"seed"`       // data and initial weights (default 1)
	// Loss is "cross-entropy" (the default) or "squared", the squared
	// error of the output's probability, (p − y)², which `backprop
	// explain` uses and is the default for the CatDog data set.
	Loss string `json:"loss"`
}

// Losses lists the losses a Config may name.
var Losses = []string{"cross-entropy", "squared"}

// Limits of a Config, which keep a step cheap and the page readable.
const (
	MaxLayers  = 6
	MaxWidth   = 8
	MaxSamples = 2000
)

// Activations lists the activations a Config may name.
var Activations = []string{"tanh", "relu", "sigmoid"}

// withDefaults fills in defaults and checks the limits.
func (c Config) withDefaults() (Config, error) {
	if c.Dataset == "" {
		c.Dataset = "circles"
	}
	if c.Dataset == CatDog {
		// explain's network and run: 2-2-1, learning rate 1, one photo a
		// step, squared error; its four points are the whole data set.
		c.Samples = len(explain.Photos)
		if c.Hidden == nil {
			c.Hidden = []int{2}
		}
		if c.LR == 0 {
			c.LR = 1
		}
		if c.BatchSize == 0 {
			c.BatchSize = 1
		}
		if c.Loss == "" {
			c.Loss = "squared"
		}
	}
	if c.Loss == "" {
		c.Loss = "cross-entropy"
	}
	if c.Samples == 0 {
		c.Samples = 400
	}
	if c.Hidden == nil {
		c.Hidden = []int{4, 2}
	}
	c.Hidden = slices.Clone(c.Hidden)
	if c.Activation == "" {
		c.Activation = "tanh"
	}
	if c.LR == 0 {
		// Higher than TensorFlow Playground's 0.03: its squared error on a
		// tanh output has larger gradients than cross-entropy here.
		c.LR = 0.1
	}
	if c.BatchSize == 0 {
		c.BatchSize = 10
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	switch {
	case !slices.Contains(Datasets, c.Dataset):
		return c, fmt.Errorf("unknown data set %q (want one of %v)", c.Dataset, Datasets)
	case !slices.Contains(Activations, c.Activation):
		return c, fmt.Errorf("unknown activation %q (want one of %v)", c.Activation, Activations)
	case !slices.Contains(Losses, c.Loss):
		return c, fmt.Errorf("unknown loss %q (want one of %v)", c.Loss, Losses)
	case !(c.Noise >= 0 && c.Noise <= 0.5): // written so that NaN fails too
		return c, fmt.Errorf("noise %g: want 0 to 0.5", c.Noise)
	case c.Samples < 4 || c.Samples > MaxSamples:
		return c, fmt.Errorf("samples %d: want 4 to %d", c.Samples, MaxSamples)
	case len(c.Hidden) > MaxLayers:
		return c, fmt.Errorf("%d hidden layers: at most %d", len(c.Hidden), MaxLayers)
	case !(c.LR >= 0 && c.LR <= 10):
		return c, fmt.Errorf("learning rate %g: want 0 to 10", c.LR)
	case c.BatchSize < 1 || c.BatchSize > c.Samples:
		return c, fmt.Errorf("batch size %d: want 1 to %d", c.BatchSize, c.Samples)
	case !(c.L2 >= 0 && c.L2 <= 1):
		return c, fmt.Errorf("L2 %g: want 0 to 1", c.L2)
	}
	for _, w := range c.Hidden {
		if w < 1 || w > MaxWidth {
			return c, fmt.Errorf("layer width %d: want 1 to %d", w, MaxWidth)
		}
	}
	return c, nil
}

// layer is one fully connected layer: W is [out, in], B is [out].
type layer struct {
	W, B *ag.Value
}

// Engine trains one network on one data set.
type Engine struct {
	cfg         Config
	train, test []Point
	layers      []layer
	opt         optim.Optimizer
	rng         *rand.Rand
	order       []int // this epoch's shuffled training indices
	pos         int   // next index into order
	step        int
	epoch       int
	stage       *stepState // the step mode's step in progress, or the last one shown
}

// New returns an engine for cfg: the data generated, the weights drawn.
func New(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	pts, err := Generate(cfg.Dataset, cfg.Samples, cfg.Noise, cfg.Seed)
	if err != nil {
		return nil, err
	}
	half := len(pts) / 2
	e := &Engine{cfg: cfg, train: pts[:half], test: pts[half:], rng: rand.New(rand.NewPCG(cfg.Seed, 7))}
	if cfg.Dataset == CatDog {
		// Four photos are too few to hold any out: the test figures are
		// those of the training photos.
		e.train, e.test = pts, pts
		if slices.Equal(cfg.Hidden, []int{2}) {
			// explain's own starting weights, so that the steps match.
			w1, b1, w2, b2 := explain.InitialWeights(cfg.Seed)
			e.layers = []layer{
				{W: ag.Param(tensor.New(w1, 2, 2)), B: ag.Param(tensor.New(b1, 2))},
				{W: ag.Param(tensor.New(w2, 1, 2)), B: ag.Param(tensor.New(b2, 1))},
			}
			e.newOptimizer()
			return e, nil
		}
	}
	in := 2
	for _, out := range append(slices.Clone(cfg.Hidden), 1) {
		// Uniform in [-0.5, 0.5], as TensorFlow Playground starts: small
		// enough that tanh units are not saturated by inputs up to ±6.
		w := tensor.FromFunc(func(int) float32 { return float32(e.rng.Float64() - 0.5) }, out, in)
		e.layers = append(e.layers, layer{W: ag.Param(w), B: ag.Param(tensor.Full(0.1, out))})
		in = out
	}
	e.newOptimizer()
	return e, nil
}

// newOptimizer makes plain gradient descent, no momentum, over the
// weights: each weight moves by exactly -lr·(gradient + l2·weight), which
// is what the update stage shows. Having no state, it can be replaced at
// any step without changing what follows.
func (e *Engine) newOptimizer() {
	var params []*ag.Value
	for _, l := range e.layers {
		params = append(params, l.W, l.B)
	}
	opts := []optim.Option{optim.LR(e.cfg.LR)}
	if e.cfg.L2 > 0 {
		opts = append(opts, optim.WeightDecay(e.cfg.L2))
	}
	e.opt = optim.SGD(params, opts...)
}

// Tune changes the learning rate and the L2 weight decay from the next
// step on, keeping the weights.
func (e *Engine) Tune(lr, l2 float64) error {
	c := e.cfg
	c.LR, c.L2 = lr, l2
	if lr == 0 {
		return fmt.Errorf("learning rate 0: the network would not learn")
	}
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	e.cfg = c
	e.newOptimizer()
	return nil
}

// Config returns the engine's configuration, defaults filled in.
func (e *Engine) Config() Config {
	c := e.cfg
	c.Hidden = slices.Clone(c.Hidden)
	return c
}

// Steps returns the number of training steps taken.
func (e *Engine) Steps() int { return e.step }

// activate applies the configured activation.
func (e *Engine) activate(x *ag.Value) *ag.Value {
	switch e.cfg.Activation {
	case "relu":
		return ag.ReLU(x)
	case "sigmoid":
		return ag.Sigmoid(x)
	}
	return ag.Tanh(x)
}

// forward runs the network on x ([N, 2]) and returns each hidden layer's
// activations and the output logits ([N, 1]). From an x marked ag.NoGraph
// no graph is recorded.
func (e *Engine) forward(x *ag.Value) (hidden []*ag.Value, logits *ag.Value) {
	_, hidden, logits = e.forwardSums(x)
	return hidden, logits
}

// forwardSums is forward that also returns each hidden layer's weighted
// sums, before the activation.
func (e *Engine) forwardSums(x *ag.Value) (sums, hidden []*ag.Value, logits *ag.Value) {
	h := x
	for i, l := range e.layers {
		h = ag.Linear(h, l.W, l.B)
		if i == len(e.layers)-1 {
			return sums, hidden, h
		}
		sums = append(sums, h)
		h = e.activate(h)
		hidden = append(hidden, h)
	}
	return sums, hidden, h
}

// lossOf is the configured loss of the output logits against targets y.
func (e *Engine) lossOf(logits, y *ag.Value) *ag.Value {
	if e.cfg.Loss == "squared" {
		return ag.Mean(ag.PowScalar(ag.Sub(ag.Sigmoid(logits), y), 2)) // mean of (p − y)²
	}
	return ag.BCEWithLogits(logits, y)
}

// nextBatch returns the indices of the next minibatch of training points,
// reshuffling at the start of each epoch.
func (e *Engine) nextBatch() []int {
	if e.order == nil || e.pos >= len(e.order) {
		if e.order != nil {
			e.epoch++
		}
		e.order = e.rng.Perm(len(e.train))
		if e.cfg.Dataset == CatDog {
			// The photos in turn, as backprop explain takes them.
			e.order = slices.Sorted(slices.Values(e.order))
		}
		e.pos = 0
	}
	end := min(e.pos+e.cfg.BatchSize, len(e.order))
	b := e.order[e.pos:end]
	e.pos = end
	return b
}

// tensors returns the inputs [N, 2] and targets [N, 1] of points.
func tensors(pts []Point, idx []int) (x, y *tensor.Tensor) {
	if idx == nil {
		idx = make([]int, len(pts))
		for i := range idx {
			idx[i] = i
		}
	}
	xs := make([]float32, 0, 2*len(idx))
	ys := make([]float32, 0, len(idx))
	for _, i := range idx {
		xs = append(xs, pts[i].X, pts[i].Y)
		ys = append(ys, float32(pts[i].Label))
	}
	return tensor.New(xs, len(idx), 2), tensor.New(ys, len(idx), 1)
}

// Train takes n whole training steps. A step-mode step in progress is
// abandoned first.
func (e *Engine) Train(n int) {
	e.stage = nil
	for range n {
		x, y := tensors(e.train, e.nextBatch())
		_, logits := e.forward(ag.Const(x))
		loss := e.lossOf(logits, ag.Const(y))
		e.opt.ZeroGrad()
		loss.Backward()
		e.opt.Step()
		e.step++
	}
}

// loss returns the mean loss of the network on pts.
func (e *Engine) loss(pts []Point) float64 {
	if len(pts) == 0 {
		return 0
	}
	x, y := tensors(pts, nil)
	_, logits := e.forward(ag.NoGraph(x))
	return float64(e.lossOf(logits, ag.Const(y)).Item())
}
