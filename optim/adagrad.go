package optim

// AdagradOptimizer is Adagrad (torch.optim.Adagrad). For each parameter θ
// with gradient g, at its step t (counted per parameter, from 1):
//
//	g ← −g                          if maximize
//	g ← g + λθ                      if λ ≠ 0 (WeightDecay)
//	η_t ← lr / (1 + (t−1)·η_decay)  (LRDecay)
//	s ← s + g²                      (s starts at InitialAccumulator)
//	θ ← θ − η_t · g / (√s + ε)
//
// The state is "step" and "sum" (s); as in PyTorch it exists from
// construction, with step 0.
type AdagradOptimizer struct {
	core
}

var _ Optimizer = (*AdagradOptimizer)(nil)

// Adagrad returns an Adagrad optimiser over params, a parameter list or
// groups (see AdagradOptimizer for the update rule). It takes the options LR
// (default 1e-2), LRDecay (0), WeightDecay (0), InitialAccumulator (0), Eps
// (1e-10) and Maximize (false), for all groups or per group, and panics on
// any other or on values PyTorch rejects.
func Adagrad[P Params](params P, opts ...Option) *AdagradOptimizer {
	defaults := config{lr: 1e-2, eps: 1e-10}
	o := &AdagradOptimizer{core: newCore("Adagrad", params, defaults, opts, func(who string, c *config) {
		check(who, nonNeg(c.lrDecay), "invalid lr_decay value: %v", c.lrDecay)
		check(who, nonNeg(c.weightDecay), "invalid weight_decay value: %v", c.weightDecay)
		check(who, nonNeg(c.initialAccumulator), "invalid initial_accumulator_value value: %v", c.initialAccumulator)
		check(who, nonNeg(c.eps), "invalid epsilon value: %v", c.eps)
	}, "LR", "LRDecay", "WeightDecay", "InitialAccumulator", "Eps", "Maximize")}
	o.setState(true, true, func(c *config) (float32, []string) {
		return float32(c.initialAccumulator), []string{"sum"}
	})
	return o
}

// Step applies one Adagrad update to every parameter that has a gradient.
func (o *AdagradOptimizer) Step() {
	for gi := range o.groups {
		gr := &o.groups[gi]
		c := &gr.c
		wd := float32(c.weightDecay)
		eps := float32(c.eps)
		for i := gr.lo; i < gr.hi; i++ {
			p, g, ok := o.grad(i)
			if !ok {
				continue
			}
			st, _ := o.state(i, len(p))
			o.step[i]++
			clr := c.lr / (1 + float64(o.step[i]-1)*c.lrDecay)
			adagradUpdate(p, g, st[0], float32(-clr), wd, eps, c.maximize)
		}
	}
}

func adagradUpdate(p, g, sum []float32, nclr, wd, eps float32, maximize bool) {
	g = g[:len(p)]
	sum = sum[:len(p)]
	for i := range p {
		gi := g[i]
		if maximize {
			gi = -gi
		}
		if wd != 0 {
			gi = fma32(wd, p[i], gi)
		}
		sum[i] = fma32(gi, gi, sum[i])
		std := sqrt32(sum[i]) + eps
		p[i] += float32(nclr*gi) / std
	}
}
