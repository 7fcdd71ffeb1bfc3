package optim

import "github.com/backprop-go/backprop/tensor"

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
}

var _ Optimizer = (*RMSpropOptimizer)(nil)

// RMSprop returns an RMSprop optimiser over params, a parameter list or
// groups (see RMSpropOptimizer for the update rule). It takes the options LR
// (default 1e-2), Alpha (0.99), Eps (1e-8), WeightDecay (0), Momentum (0),
// Centered (false) and Maximize (false), for all groups or per group, and
// panics on any other or on values PyTorch rejects.
func RMSprop[P Params](params P, opts ...Option) *RMSpropOptimizer {
	defaults := config{lr: 1e-2, alpha: 0.99, eps: 1e-8}
	o := &RMSpropOptimizer{core: newCore("RMSprop", params, defaults, opts, func(who string, c *config) {
		check(who, nonNeg(c.eps), "invalid epsilon value: %v", c.eps)
		check(who, nonNeg(c.momentum), "invalid momentum value: %v", c.momentum)
		check(who, nonNeg(c.weightDecay), "invalid weight_decay value: %v", c.weightDecay)
		check(who, nonNeg(c.alpha), "invalid alpha value: %v", c.alpha)
	}, "LR", "Alpha", "Eps", "WeightDecay", "Momentum", "Centered", "Maximize")}
	o.setState(true, false, func(c *config) (float32, []string) {
		names := []string{"square_avg"}
		if c.momentum > 0 {
			names = append(names, "momentum_buffer")
		}
		if c.centered {
			names = append(names, "grad_avg")
		}
		return 0, names
	})
	return o
}

// Step applies one RMSprop update to every parameter that has a gradient.
func (o *RMSpropOptimizer) Step() {
	for gi := range o.groups {
		gr := &o.groups[gi]
		c := &gr.c
		k := rmsConsts{
			nlr: float32(-c.lr), wd: float32(c.weightDecay),
			alpha: float32(c.alpha), oma: float32(1 - c.alpha),
			eps: float32(c.eps), mu: float32(c.momentum), maximize: c.maximize,
		}
		for i := gr.lo; i < gr.hi; i++ {
			p, g, ok := o.grad(i)
			if !ok {
				continue
			}
			st, _ := o.state(i, len(p))
			o.step[i]++
			buf, gavg := st[0], st[0] // unused without momentum, centering
			j := 1
			if c.momentum > 0 {
				buf = st[j]
				j++
			}
			if c.centered {
				gavg = st[j]
			}
			rmspropUpdate(p, g, st[0], buf, gavg, c.momentum > 0, c.centered, &k)
		}
	}
}

type rmsConsts struct {
	nlr, wd, alpha, oma, eps, mu float32
	maximize                     bool
}

// rmsVecConsts are the scalars of rmspropVec's loop, laid out as the
// assembly reads them.
type rmsVecConsts struct {
	alpha, oma, eps, mu, nlr float32
	momentum                 int32
}

// rmspropUpdate updates p and sq in place, buf when momentum and gavg when
// centered. The common update (not centered, not maximising, no weight
// decay) is vectorised where the CPU allows, and split over goroutines for
// large tensors; each element's arithmetic is the scalar loop's.
func rmspropUpdate(p, g, sq, buf, gavg []float32, momentum, centered bool, k *rmsConsts) {
	if centered || k.maximize || k.wd != 0 {
		rmspropRange(p, g, sq, buf, gavg, momentum, centered, k)
		return
	}
	c := rmsVecConsts{alpha: k.alpha, oma: k.oma, eps: k.eps, mu: k.mu, nlr: k.nlr}
	if momentum {
		c.momentum = 1
	}
	rmspropSplit(p, g[:len(p)], sq[:len(p)], buf[:len(p)], c, *k, momentum)
}

// rmspropSplit runs rmspropUpdate's common update on one goroutine or, for
// a large tensor, on several (a function of its own for adamSplit's
// reason).
func rmspropSplit(p, g, sq, buf []float32, c rmsVecConsts, k rmsConsts, momentum bool) {
	if len(p) < 2*minParallelParams {
		rmspropRangeVec(p, g, sq, buf, c, k, momentum)
		return
	}
	tensor.ParallelFor(len(p), minParallelParams, func(lo, hi int) {
		rmspropRangeVec(p[lo:hi], g[lo:hi], sq[lo:hi], buf[lo:hi], c, k, momentum)
	})
}

// rmspropRangeVec is rmspropRange with the vector loop first.
func rmspropRangeVec(p, g, sq, buf []float32, c rmsVecConsts, k rmsConsts, momentum bool) {
	i := rmspropVec(p, g, sq, buf, &c)
	rmspropRange(p[i:], g[i:], sq[i:], buf[i:], buf[i:], momentum, false, &k)
}

// rmspropRange is rmspropUpdate's scalar loop.
func rmspropRange(p, g, sq, buf, gavg []float32, momentum, centered bool, k *rmsConsts) {
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
