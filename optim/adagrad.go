package optim

import "github.com/backprop-go/backprop/autograd"

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
	lrDecay, weightDecay, eps float64
	maximize                  bool
}

var _ Optimizer = (*AdagradOptimizer)(nil)

// Adagrad returns an Adagrad optimiser over params (see AdagradOptimizer for
// the update rule). It takes the options LR (default 1e-2), LRDecay (0),
// WeightDecay (0), InitialAccumulator (0), Eps (1e-10) and Maximize (false),
// and panics on any other or on values PyTorch rejects.
func Adagrad(params []*autograd.Value, opts ...Option) *AdagradOptimizer {
	c := config{lr: 1e-2, eps: 1e-10}
	c.applyOptions("Adagrad", opts, "LR", "LRDecay", "WeightDecay", "InitialAccumulator", "Eps", "Maximize")
	check("Adagrad", nonNeg(c.lrDecay), "invalid lr_decay value: %v", c.lrDecay)
	check("Adagrad", nonNeg(c.weightDecay), "invalid weight_decay value: %v", c.weightDecay)
	check("Adagrad", nonNeg(c.initialAccumulator), "invalid initial_accumulator_value value: %v", c.initialAccumulator)
	check("Adagrad", nonNeg(c.eps), "invalid epsilon value: %v", c.eps)
	o := &AdagradOptimizer{
		core:    newCore("Adagrad", params, c.lr),
		lrDecay: c.lrDecay, weightDecay: c.weightDecay, eps: c.eps, maximize: c.maximize,
	}
	o.setState(true, true, float32(c.initialAccumulator), "sum")
	return o
}

// Step applies one Adagrad update to every parameter that has a gradient.
func (o *AdagradOptimizer) Step() {
	wd := float32(o.weightDecay)
	eps := float32(o.eps)
	for i := range o.params {
		p, g, ok := o.grad(i)
		if !ok {
			continue
		}
		st, _ := o.state(i, len(p))
		o.step[i]++
		clr := o.lr / (1 + float64(o.step[i]-1)*o.lrDecay)
		adagradUpdate(p, g, st[0], float32(-clr), wd, eps, o.maximize)
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
