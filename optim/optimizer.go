package optim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// Optimizer updates a fixed list of parameters from their gradients.
// SGD, Adam, AdamW, RMSprop and Adagrad implement it.
type Optimizer interface {
	// Step applies one update to every parameter whose Grad is not nil.
	Step()
	// ZeroGrad sets every parameter's Grad to nil (PyTorch's
	// zero_grad(set_to_none=True)), so that the next Backward starts afresh.
	// Gradient storage is recycled for the next backward pass, so a Grad
	// tensor must not be kept across ZeroGrad.
	ZeroGrad()
	// LR returns the current learning rate.
	LR() float64
	// SetLR changes the learning rate; schedules call it.
	SetLR(lr float64)
	// Params returns the parameters in the order given to the constructor;
	// the caller must not modify the slice.
	Params() []*autograd.Value
	// StateDict returns a copy of the per-parameter state, keyed
	// "state.<index>.<name>" as in PyTorch (for example "state.0.step",
	// "state.0.exp_avg"). Parameters never stepped have no entries.
	StateDict() map[string]*tensor.Tensor
	// LoadStateDict replaces the state with a copy of m, as saved by
	// StateDict of an optimiser of the same kind and options over
	// parameters of the same shapes. It is strict: the error names every
	// missing, unexpected or mis-shaped key, and the optimiser is left
	// unchanged when there is an error.
	LoadStateDict(m map[string]*tensor.Tensor) error
}

// core holds what every optimiser shares: its parameters, the learning rate
// and the per-parameter state (a step count and named buffers of the
// parameter's shape).
type core struct {
	name   string
	params []*autograd.Value
	lr     float64

	hasStep bool     // the state includes a step count
	eager   bool     // the state exists from construction (Adagrad)
	init    float32  // starting value of new buffers
	names   []string // buffer names, PyTorch's
	step    []int64
	bufs    [][][]float32 // bufs[i][k]: buffer names[k] of parameter i; nil before its first step
}

func newCore(name string, params []*autograd.Value, lr float64) core {
	check(name, nonNeg(lr), "invalid learning rate %v", lr)
	seen := make(map[*autograd.Value]int, len(params))
	for i, p := range params {
		check(name, p != nil && p.Data != nil, "parameter %d is nil", i)
		j, dup := seen[p]
		check(name, !dup, "parameter %d repeats parameter %d", i, j)
		seen[p] = i
	}
	return core{
		name:   name,
		params: append([]*autograd.Value(nil), params...),
		lr:     lr,
		step:   make([]int64, len(params)),
		bufs:   make([][][]float32, len(params)),
	}
}

// setState declares the state layout; eager optimisers allocate it now.
func (c *core) setState(hasStep, eager bool, init float32, names ...string) {
	c.hasStep, c.eager, c.init, c.names = hasStep, eager, init, names
	if eager {
		for i := range c.params {
			c.bufs[i] = c.newBufs(c.params[i].Data.Size())
		}
	}
}

func (c *core) newBufs(n int) [][]float32 {
	b := make([][]float32, len(c.names))
	for k := range b {
		b[k] = make([]float32, n)
		if c.init != 0 {
			for j := range b[k] {
				b[k][j] = c.init
			}
		}
	}
	return b
}

// grad returns parameter i's data and gradient as slices of equal length, or
// ok false when it has no gradient this step.
func (c *core) grad(i int) (p, g []float32, ok bool) {
	v := c.params[i]
	if v.Grad == nil {
		return nil, nil, false
	}
	if !tensor.EqualShapes(v.Grad.Shape(), v.Data.Shape()) {
		panic(fmt.Sprintf("optim.%s.Step: parameter %d has shape %v but its gradient has shape %v",
			c.name, i, v.Data.Shape(), v.Grad.Shape()))
	}
	p = v.Data.Data()
	g = v.Grad.Data()
	return p, g[:len(p)], true
}

// state returns parameter i's buffers, allocating them on first use; fresh
// reports whether they were made now.
func (c *core) state(i, n int) (bufs [][]float32, fresh bool) {
	if c.bufs[i] == nil {
		c.bufs[i] = c.newBufs(n)
		return c.bufs[i], true
	}
	return c.bufs[i], false
}

// ZeroGrad sets every parameter's Grad to nil. The storage of a gradient
// that the backward pass made for its parameter alone goes back to package
// tensor's pool (autograd's Value.ReleaseGrad), so that the next backward
// pass reuses it instead of allocating: a caller must not keep a Grad
// tensor, or its Data, across ZeroGrad.
func (c *core) ZeroGrad() {
	for _, p := range c.params {
		p.ReleaseGrad()
	}
}

// LR returns the current learning rate.
func (c *core) LR() float64 { return c.lr }

// SetLR sets the learning rate used by the following steps. It panics on a
// negative or NaN rate.
func (c *core) SetLR(lr float64) {
	check(c.name+".SetLR", nonNeg(lr), "invalid learning rate %v", lr)
	c.lr = lr
}

// Params returns the optimised parameters in constructor order.
func (c *core) Params() []*autograd.Value { return c.params }

func stateKey(i int, name string) string { return "state." + strconv.Itoa(i) + "." + name }

// StateDict returns a copy of the state: for each parameter index i that has
// state, "state.i.step" (a float32 scalar, when the optimiser counts steps)
// and "state.i.<buffer>" (a tensor of the parameter's shape).
func (c *core) StateDict() map[string]*tensor.Tensor {
	m := map[string]*tensor.Tensor{}
	for i, b := range c.bufs {
		if b == nil {
			continue
		}
		if c.hasStep {
			m[stateKey(i, "step")] = tensor.Scalar(float32(c.step[i]))
		}
		shape := c.params[i].Data.Shape()
		for k, name := range c.names {
			m[stateKey(i, name)] = tensor.New(append([]float32(nil), b[k]...), shape...)
		}
	}
	return m
}

// LoadStateDict replaces the state with a copy of m; see Optimizer.
func (c *core) LoadStateDict(m map[string]*tensor.Tensor) error {
	fields := c.names
	if c.hasStep {
		fields = append([]string{"step"}, c.names...)
	}
	var missing, unexpected, problems []string
	present := make([]int, len(c.params)) // how many of fields each index has
	for key, t := range m {
		i, field, ok := parseStateKey(key, len(c.params), fields)
		if !ok {
			unexpected = append(unexpected, key)
			continue
		}
		present[i]++
		if t == nil {
			problems = append(problems, fmt.Sprintf("key %s is nil", key))
			continue
		}
		if field == "step" {
			if len(t.Shape()) != 0 {
				problems = append(problems, fmt.Sprintf("key %s has shape %v, want []", key, t.Shape()))
			} else if s := float64(t.Item()); !(s >= 0) || s != math.Trunc(s) || math.IsInf(s, 0) {
				problems = append(problems, fmt.Sprintf("key %s holds %v, want a whole number of steps", key, s))
			}
			continue
		}
		if want := c.params[i].Data.Shape(); !tensor.EqualShapes(t.Shape(), want) {
			problems = append(problems, fmt.Sprintf("key %s has shape %v, want %v", key, t.Shape(), want))
		}
	}
	for i, n := range present {
		if n == len(fields) || (n == 0 && !c.eager) {
			continue
		}
		for _, f := range fields {
			if _, ok := m[stateKey(i, f)]; !ok {
				missing = append(missing, stateKey(i, f))
			}
		}
	}
	if len(missing)+len(unexpected)+len(problems) > 0 {
		sort.Strings(missing)
		sort.Strings(unexpected)
		sort.Strings(problems)
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "missing keys "+strings.Join(missing, ", "))
		}
		if len(unexpected) > 0 {
			parts = append(parts, "unexpected keys "+strings.Join(unexpected, ", "))
		}
		parts = append(parts, problems...)
		return errors.New("optim." + c.name + ".LoadStateDict: " + strings.Join(parts, "; "))
	}
	for i := range c.params {
		if present[i] == 0 {
			c.bufs[i] = nil
			c.step[i] = 0
			continue
		}
		b := make([][]float32, len(c.names))
		for k, name := range c.names {
			b[k] = append([]float32(nil), m[stateKey(i, name)].Data()...)
		}
		c.bufs[i] = b
		c.step[i] = 0
		if c.hasStep {
			c.step[i] = int64(m[stateKey(i, "step")].Item())
		}
	}
	return nil
}

// parseStateKey splits "state.<i>.<field>" and checks i and field.
func parseStateKey(key string, n int, fields []string) (i int, field string, ok bool) {
	rest, ok := strings.CutPrefix(key, "state.")
	if !ok {
		return 0, "", false
	}
	idx, field, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, "", false
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= n || strconv.Itoa(i) != idx {
		return 0, "", false
	}
	for _, f := range fields {
		if f == field {
			return i, field, true
		}
	}
	return 0, "", false
}

// sqrt32 is the correctly rounded float32 square root (rounding the float64
// root of a float32 is exact).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
