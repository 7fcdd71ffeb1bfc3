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
//
// The parameters are split into one or more parameter groups (PyTorch's
// param_groups), each with its own learning rate and other options; an
// optimiser built over a plain parameter list has one group.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient
	// (Grad not nil) and requires one (a frozen parameter is skipped).
	Step()
	// ZeroGrad sets every parameter's Grad to nil (PyTorch's
	// zero_grad(set_to_none=True)), so that the next Backward starts afresh.
	// Gradient storage is recycled for the next backward pass, so a Grad
	// tensor must not be kept across ZeroGrad.
	ZeroGrad()
	// LR returns the learning rate of the first group (the only one of an
	// optimiser built over a plain parameter list).
	LR() float64
	// SetLR sets the learning rate of every group to lr. To keep the groups'
	// own rates, set them one by one with SetGroupLR (as the schedulers do).
	SetLR(lr float64)
	// Params returns every parameter, group after group, in the order given
	// to the constructor; the caller must not modify the slice.
	Params() []*autograd.Value
	// NumGroups returns the number of parameter groups (at least 1).
	NumGroups() int
	// GroupParams returns group g's parameters; the caller must not modify
	// the slice.
	GroupParams(g int) []*autograd.Value
	// GroupLR returns group g's learning rate (param_groups[g]["lr"]).
	GroupLR(g int) float64
	// SetGroupLR sets group g's learning rate.
	SetGroupLR(g int, lr float64)
	// StateDict returns a copy of the per-parameter state, keyed
	// "state.<index>.<name>" as in PyTorch (for example "state.0.step",
	// "state.0.exp_avg"), the index counting parameters across groups.
	// Parameters never stepped have no entries. With more than one group it
	// also holds "param_groups.<g>.params", the indices of group g's
	// parameters (a 1-D float32 tensor), so that loading can check that the
	// groups are the same.
	StateDict() map[string]*tensor.Tensor
	// LoadStateDict replaces the state with a copy of m, as saved by
	// StateDict of an optimiser of the same kind and options over
	// parameters of the same shapes, in the same groups (a dict without
	// param_groups keys, as one-group optimisers and those before groups
	// write, describes one group). It is strict: the error names every
	// missing, unexpected or mis-shaped key, and the optimiser is left
	// unchanged when there is an error.
	LoadStateDict(m map[string]*tensor.Tensor) error
}

// Group is one parameter group: parameters and the options that differ for
// them from those given to the optimiser's constructor (PyTorch's dict in
// a list of param groups). Any option the constructor takes may be set per
// group, for example WeightDecay(0) for biases and norms, or a smaller LR
// for a pretrained backbone.
type Group struct {
	Params  []*autograd.Value
	Options []Option
}

// ParamGroup returns the group of params with opts.
func ParamGroup(params []*autograd.Value, opts ...Option) Group {
	return Group{Params: params, Options: opts}
}

// Groups returns its arguments as a list of groups, to pass to an
// optimiser's constructor:
//
//	decay, noDecay := optim.SplitDecay(nn.Parameters(model))
//	opt := optim.AdamW(optim.Groups(
//		optim.ParamGroup(decay),
//		optim.ParamGroup(noDecay, optim.WeightDecay(0)),
//	), optim.LR(1e-3))
func Groups(groups ...Group) []Group { return groups }

// Params is what an optimiser is built over: a plain parameter list (one
// group, with the constructor's options) or a list of groups.
type Params interface {
	[]*autograd.Value | []Group
}

// groupsOf returns params as groups.
func groupsOf[P Params](params P) []Group {
	switch p := any(params).(type) {
	case []*autograd.Value:
		return []Group{{Params: p}}
	case []Group:
		return p
	}
	panic("unreachable")
}

// SplitDecay splits params into those that weight decay should apply to
// and those it should not, by the rule common in PyTorch code (timm,
// nanoGPT): a parameter of fewer than two dimensions (a bias, the scale
// and shift of a norm layer) gets no decay; matrices and kernels do. Order
// is kept within each list. Frozen parameters stay in their lists (Step
// skips them while they are frozen).
func SplitDecay(params []*autograd.Value) (decay, noDecay []*autograd.Value) {
	for _, p := range params {
		if p != nil && p.Data != nil && len(p.Data.Shape()) < 2 {
			noDecay = append(noDecay, p)
		} else {
			decay = append(decay, p)
		}
	}
	return decay, noDecay
}

// group is one parameter group inside an optimiser: params[lo:hi] and the
// group's hyperparameters (c.lr is its current learning rate).
type group struct {
	lo, hi int
	c      config
	init   float32  // starting value of new buffers
	names  []string // buffer names, PyTorch's
}

// core holds what every optimiser shares: its parameters, their groups
// and the per-parameter state (a step count and named buffers of the
// parameter's shape).
type core struct {
	name    string
	params  []*autograd.Value
	groups  []group
	of      []int // of[i]: the group of parameter i
	hasStep bool  // the state includes a step count
	eager   bool  // the state exists from construction (Adagrad)
	step    []int64
	bufs    [][][]float32 // bufs[i][k]: buffer k of parameter i; nil before its first step
}

// newCore builds the groups of an optimiser: each group's options are
// defaults, then opts, then the group's own options, each set checked by
// validate (which panics on a value PyTorch rejects). allowed lists the
// options the optimiser takes.
func newCore[P Params](name string, params P, defaults config, opts []Option, validate func(who string, c *config), allowed ...string) core {
	gs := groupsOf(params)
	check(name, len(gs) > 0, "no parameter groups")
	defaults.applyOptions(name, opts, allowed...)
	validate(name, &defaults)
	c := core{name: name}
	seen := map[*autograd.Value]int{}
	for gi, g := range gs {
		who := name
		if len(gs) > 1 {
			who = fmt.Sprintf("%s (param group %d)", name, gi)
		}
		gc := defaults
		gc.applyOptions(who, g.Options, allowed...)
		validate(who, &gc)
		check(who, nonNeg(gc.lr), "invalid learning rate %v", gc.lr)
		lo := len(c.params)
		for _, p := range g.Params {
			i := len(c.params)
			check(who, p != nil && p.Data != nil, "parameter %d is nil", i)
			j, dup := seen[p]
			check(who, !dup, "parameter %d repeats parameter %d", i, j)
			seen[p] = i
			c.params = append(c.params, p)
			c.of = append(c.of, gi)
		}
		c.groups = append(c.groups, group{lo: lo, hi: len(c.params), c: gc})
	}
	c.step = make([]int64, len(c.params))
	c.bufs = make([][][]float32, len(c.params))
	return c
}

// setState declares the state layout; names gives each group's buffer
// names and init their starting value; eager optimisers allocate the
// buffers now.
func (c *core) setState(hasStep, eager bool, layout func(c *config) (init float32, names []string)) {
	c.hasStep, c.eager = hasStep, eager
	for gi := range c.groups {
		g := &c.groups[gi]
		g.init, g.names = layout(&g.c)
	}
	if eager {
		for i := range c.params {
			c.bufs[i] = c.newBufs(i, c.params[i].Data.Size())
		}
	}
}

func (c *core) newBufs(i, n int) [][]float32 {
	g := &c.groups[c.of[i]]
	b := make([][]float32, len(g.names))
	for k := range b {
		b[k] = make([]float32, n)
		if g.init != 0 {
			for j := range b[k] {
				b[k][j] = g.init
			}
		}
	}
	return b
}

// grad returns parameter i's data and gradient as slices of equal length, or
// ok false when it has no gradient this step or is frozen.
func (c *core) grad(i int) (p, g []float32, ok bool) {
	v := c.params[i]
	if v.Grad == nil || !v.RequiresGrad() {
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
		c.bufs[i] = c.newBufs(i, n)
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

// LR returns the first group's learning rate.
func (c *core) LR() float64 { return c.groups[0].c.lr }

// SetLR sets every group's learning rate. It panics on a negative or NaN
// rate.
func (c *core) SetLR(lr float64) {
	check(c.name+".SetLR", nonNeg(lr), "invalid learning rate %v", lr)
	for g := range c.groups {
		c.groups[g].c.lr = lr
	}
}

// NumGroups returns the number of parameter groups.
func (c *core) NumGroups() int { return len(c.groups) }

// GroupParams returns group g's parameters. It panics when g is out of
// range.
func (c *core) GroupParams(g int) []*autograd.Value {
	gr := c.groups[c.groupIndex("GroupParams", g)]
	return c.params[gr.lo:gr.hi:gr.hi]
}

// GroupLR returns group g's learning rate. It panics when g is out of range.
func (c *core) GroupLR(g int) float64 { return c.groups[c.groupIndex("GroupLR", g)].c.lr }

// SetGroupLR sets group g's learning rate. It panics when g is out of range
// or on a negative or NaN rate.
func (c *core) SetGroupLR(g int, lr float64) {
	g = c.groupIndex("SetGroupLR", g)
	check(c.name+".SetGroupLR", nonNeg(lr), "invalid learning rate %v", lr)
	c.groups[g].c.lr = lr
}

func (c *core) groupIndex(who string, g int) int {
	check(c.name+"."+who, g >= 0 && g < len(c.groups), "group %d out of range [0, %d)", g, len(c.groups))
	return g
}

// Params returns the optimised parameters in constructor order.
func (c *core) Params() []*autograd.Value { return c.params }

func stateKey(i int, name string) string { return "state." + strconv.Itoa(i) + "." + name }

func groupKey(g int) string { return "param_groups." + strconv.Itoa(g) + ".params" }

// fields returns the state fields of parameter i.
func (c *core) fields(i int) []string {
	names := c.groups[c.of[i]].names
	if c.hasStep {
		return append([]string{"step"}, names...)
	}
	return names
}

// StateDict returns a copy of the state: for each parameter index i that has
// state, "state.i.step" (a float32 scalar, when the optimiser counts steps)
// and "state.i.<buffer>" (a tensor of the parameter's shape); with more
// than one group, "param_groups.g.params" for each group g.
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
		for k, name := range c.groups[c.of[i]].names {
			m[stateKey(i, name)] = tensor.New(append([]float32(nil), b[k]...), shape...)
		}
	}
	if len(c.groups) > 1 {
		for g, gr := range c.groups {
			idx := make([]float32, 0, gr.hi-gr.lo)
			for i := gr.lo; i < gr.hi; i++ {
				idx = append(idx, float32(i))
			}
			m[groupKey(g)] = tensor.New(idx, len(idx))
		}
	}
	return m
}

// checkGroups checks m's param_groups keys against the groups: absent
// altogether, they describe one group of every parameter.
func (c *core) checkGroups(m map[string]*tensor.Tensor) (unexpected, problems []string) {
	saved := 0
	for key := range m {
		if strings.HasPrefix(key, "param_groups.") {
			saved++
		}
	}
	if saved == 0 {
		if len(c.groups) > 1 {
			problems = append(problems, fmt.Sprintf("the state has one parameter group, the optimiser %d", len(c.groups)))
		}
		return nil, problems
	}
	for key := range m {
		if !strings.HasPrefix(key, "param_groups.") {
			continue
		}
		g, ok := parseGroupKey(key, len(c.groups))
		if !ok {
			unexpected = append(unexpected, key)
			continue
		}
		t, gr := m[key], c.groups[g]
		if t == nil {
			problems = append(problems, fmt.Sprintf("key %s is nil", key))
			continue
		}
		good := len(t.Shape()) == 1 && t.Size() == gr.hi-gr.lo
		for j, v := range t.Data() {
			good = good && v == float32(gr.lo+j)
		}
		if !good {
			problems = append(problems, fmt.Sprintf("key %s holds parameters %v, the optimiser's group %d has %d..%d", key, t.Data(), g, gr.lo, gr.hi-1))
		}
	}
	if saved != len(c.groups) && len(unexpected) == 0 {
		problems = append(problems, fmt.Sprintf("the state has %d parameter groups, the optimiser %d", saved, len(c.groups)))
	}
	return unexpected, problems
}

// parseGroupKey parses "param_groups.<g>.params" with g < n.
func parseGroupKey(key string, n int) (int, bool) {
	rest, ok := strings.CutPrefix(key, "param_groups.")
	if !ok {
		return 0, false
	}
	idx, ok := strings.CutSuffix(rest, ".params")
	if !ok {
		return 0, false
	}
	g, err := strconv.Atoi(idx)
	if err != nil || g < 0 || g >= n || strconv.Itoa(g) != idx {
		return 0, false
	}
	return g, true
}

// LoadStateDict replaces the state with a copy of m; see Optimizer.
func (c *core) LoadStateDict(m map[string]*tensor.Tensor) error {
	var missing, unexpected, problems []string
	unexpected, problems = c.checkGroups(m)
	present := make([]int, len(c.params)) // how many of its fields each index has
	for key, t := range m {
		if strings.HasPrefix(key, "param_groups.") {
			continue
		}
		i, field, ok := c.parseStateKey(key)
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
		fields := c.fields(i)
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
		names := c.groups[c.of[i]].names
		b := make([][]float32, len(names))
		for k, name := range names {
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
func (c *core) parseStateKey(key string) (i int, field string, ok bool) {
	rest, ok := strings.CutPrefix(key, "state.")
	if !ok {
		return 0, "", false
	}
	idx, field, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, "", false
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= len(c.params) || strconv.Itoa(i) != idx {
		return 0, "", false
	}
	for _, f := range c.fields(i) {
		if f == field {
			return i, field, true
		}
	}
	return 0, "", false
}

// sqrt32 is the correctly rounded float32 square root (rounding the float64
// root of a float32 is exact).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
