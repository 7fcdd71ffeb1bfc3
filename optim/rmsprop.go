package optim

import "github.com/backprop-go/backprop/autograd"

// RMSpropOptimizer is RMSprop (torch.optim.RMSprop). For each parameter θ
// with gradient g:
//
//	g ← −g                      if maximize
//	g ← g + λθ                  if λ ≠ 0 (WeightDecay)
//	v ← α·v + (1−α)·g²
//	ḡ ← α·ḡ + (1−α)·g,  s ← √(v − ḡ²) + ε     if Centered
//	s ← √v + ε                                 otherwise
//	b ← μ·b + g/s,  θ ← θ − lr·b               if μ > 0 (Momentum)
//	θ ← θ − lr·g/s                             otherwise
//
// The state is "step", "square_avg" (v), "momentum_buffer" (b, when μ > 0)
// and "grad_avg" (ḡ, when centered).
type RMSpropOptimizer struct {
	core
	alpha, eps, weightDecay, momentum float64
	centered, maximize                bool
}

var _ Optimizer = (*RMSpropOptimizer)(nil)

// RMSprop returns an RMSprop optimiser over params (see RMSpropOptimizer for
// the update rule). It takes the options LR (default 1e-2), Alpha (0.99), Eps
// (1e-8), WeightDecay (0), Momentum (0), Centered (false) and Maximize
// (false), and panics on any other or on values PyTorch rejects.
func RMSprop(params []*autograd.Value, opts ...Option) *RMSpropOptimizer {
	c := config{lr: 1e-2, alpha: 0.99, eps: 1e-8}
	c.applyOptions("RMSprop", opts, "LR", "Alpha", "Eps", "WeightDecay", "Momentum", "Centered", "Maximize")
	check("RMSprop", nonNeg(c.eps), "invalid epsilon value: %v", c.eps)
	check("RMSprop", nonNeg(c.momentum), "invalid momentum value: %v", c.momentum)
	check("RMSprop", nonNeg(c.weightDecay), "invalid weight_decay value: %v", c.weightDecay)
	check("RMSprop", nonNeg(c.alpha), "invalid alpha value: %v", c.alpha)
	o := &RMSpropOptimizer{
		core:  newCore("RMSprop", params, c.lr),
		alpha: c.alpha, eps: c.eps, weightDecay: c.weightDecay, momentum: c.momentum,
		centered: c.centered, maximize: c.maximize,
	}
	names := []string{"square_avg"}
	if c.momentum > 0 {
		names = append(names, "momentum_buffer")
	}
	if c.centered {
		names = append(names, "grad_avg")
	}
	o.setState(true, false, 0, names...)
	return o
}

// Step applies one RMSprop update to every parameter that has a gradient.
func (o *RMSpropOptimizer) Step() {
	k := rmsConsts{
		nlr: float32(-o.lr), wd: float32(o.weightDecay),
		alpha: float32(o.alpha), oma: float32(1 - o.alpha),
		eps: float32(o.eps), mu: float32(o.momentum), maximize: o.maximize,
	}
	for i := range o.params {
		p, g, ok := o.grad(i)
		if !ok {
			continue
		}
		st, _ := o.state(i, len(p))
		o.step[i]++
		buf, gavg := st[0], st[0] // unused without momentum, centering
		j := 1
		if o.momentum > 0 {
			buf = st[j]
			j++
		}
		if o.centered {
			gavg = st[j]
		}
		rmspropUpdate(p, g, st[0], buf, gavg, o.momentum > 0, o.centered, &k)
	}
}

type rmsConsts struct {
	nlr, wd, alpha, oma, eps, mu float32
	maximize                     bool
}

// rmspropUpdate updates p and sq in place, buf when momentum and gavg when
// centered.
func rmspropUpdate(p, g, sq, buf, gavg []float32, momentum, centered bool, k *rmsConsts) {
	g = g[:len(p)]
	sq = sq[:len(p)]
	buf = buf[:len(p)]
	gavg = gavg[:len(p)]
	nlr, wd, alpha, oma, eps, mu := k.nlr, k.wd, k.alpha, k.oma, k.eps, k.mu
	for i := range p {
		gi := g[i]
		if k.maximize {
			gi = -gi
		}
		if wd != 0 {
			gi = fma32(wd, p[i], gi)
		}
		sq[i] = fma32(float32(oma*gi), gi, float32(sq[i]*alpha))
		var avg float32
		if centered {
			ga := fma32(oma, gi, float32(gavg[i]*alpha))
			gavg[i] = ga
			avg = sqrt32(fma32(-ga, ga, sq[i]))
		} else {
			avg = sqrt32(sq[i])
		}
		avg += eps
		if momentum {
			buf[i] = float32(buf[i]*mu) + gi/avg
			p[i] = fma32(nlr, buf[i], p[i])
		} else {
			p[i] += float32(nlr*gi) / avg
		}
	}
}
