package optim

import (
	"github.com/backprop-go/backprop/tensor"
)

// SGDOptimizer is stochastic gradient descent with optional momentum, dampening,
// Nesterov momentum, L2 weight decay and maximisation, as torch.optim.SGD.
// For each parameter θ with gradient g, step t:
//
//	g ← −g                      if maximize
//	g ← g + λθ                  if λ ≠ 0 (WeightDecay)
//	b ← g                       at the first step, if μ ≠ 0 (Momentum)
//	b ← μb + (1−τ)g             later steps (τ: Dampening)
//	g ← g + μb  if Nesterov,  g ← b  otherwise   (if μ ≠ 0)
//	θ ← θ − lr·g
//
// The state is "momentum_buffer" (when μ ≠ 0).
type SGDOptimizer struct {
	core
}

var _ Optimizer = (*SGDOptimizer)(nil)

// SGD returns a stochastic-gradient-descent optimiser over params, a
// parameter list or groups (see SGDOptimizer for the update rule). It takes
// the options LR (default 1e-3), Momentum (0), Dampening (0), Nesterov
// (false), WeightDecay (0) and Maximize (false), for all groups or per
// group, and panics on any other or on values PyTorch rejects.
func SGD[P Params](params P, opts ...Option) *SGDOptimizer {
	o := &SGDOptimizer{core: newCore("SGD", params, config{lr: 1e-3}, opts, func(who string, c *config) {
		check(who, nonNeg(c.momentum), "invalid momentum value: %v", c.momentum)
		check(who, !isNaN(c.dampening), "invalid dampening value: %v", c.dampening)
		check(who, nonNeg(c.weightDecay), "invalid weight_decay value: %v", c.weightDecay)
		check(who, !c.nesterov || (c.momentum > 0 && c.dampening == 0),
			"Nesterov momentum requires a momentum and zero dampening (momentum %v, dampening %v)", c.momentum, c.dampening)
	}, "LR", "Momentum", "Dampening", "Nesterov", "WeightDecay", "Maximize")}
	o.setState(false, false, func(c *config) (float32, []string) {
		if c.momentum != 0 {
			return 0, []string{"momentum_buffer"}
		}
		return 0, nil
	})
	return o
}

// Step applies one SGD update to every parameter that has a gradient.
func (o *SGDOptimizer) Step() {
	for gi := range o.groups {
		gr := &o.groups[gi]
		c := &gr.c
		lr := float32(-c.lr)
		wd := float32(c.weightDecay)
		mu := float32(c.momentum)
		damp := float32(1 - c.dampening)
		for i := gr.lo; i < gr.hi; i++ {
			p, g, ok := o.grad(i)
			if !ok {
				continue
			}
			if c.momentum == 0 {
				sgdPlain(p, g, lr, wd, c.maximize)
				continue
			}
			st, first := o.state(i, len(p))
			sgdMomentum(p, g, st[0][:len(p)], lr, wd, mu, damp, first, c.nesterov, c.maximize)
		}
	}
}

// sgdPlain: θ ← θ − lr·(±g + λθ). lr arrives negated.
func sgdPlain(p, g []float32, nlr, wd float32, maximize bool) {
	g = g[:len(p)]
	if wd == 0 && !maximize {
		if len(p) < 2*minParallelParams {
			sgdPlainRange(p, g, nlr)
			return
		}
		tensor.ParallelFor(len(p), minParallelParams, func(lo, hi int) {
			sgdPlainRange(p[lo:hi], g[lo:hi], nlr)
		})
		return
	}
	c := sgdVecConsts{nlr: nlr, wd: wd, flags: sgdFlags(maximize, wd != 0, false, false, false)}
	i := sgdGeneralVec(p, g, nil, &c)
	sgdPlainGeneral(p[i:], g[i:], nlr, wd, maximize)
}

// sgdPlainGeneral is sgdPlain's scalar loop for any options.
func sgdPlainGeneral(p, g []float32, nlr, wd float32, maximize bool) {
	g = g[:len(p)]
	for i := range p {
		d := g[i]
		if maximize {
			d = -d
		}
		if wd != 0 {
			d = fma32(wd, p[i], d)
		}
		p[i] = fma32(nlr, d, p[i])
	}
}

// sgdMomentum is the update with a momentum buffer b. lr arrives negated,
// damp as 1−τ.
func sgdMomentum(p, g, b []float32, nlr, wd, mu, damp float32, first, nesterov, maximize bool) {
	g = g[:len(p)]
	b = b[:len(p)]
	if wd == 0 && !first && !nesterov && !maximize {
		// The update of every training step but the first: vectorised,
		// and split over goroutines for large tensors. Each element's
		// arithmetic is the scalar loop's, so the split changes nothing.
		if len(p) < 2*minParallelParams {
			sgdMomRange(p, g, b, nlr, mu, damp)
			return
		}
		tensor.ParallelFor(len(p), minParallelParams, func(lo, hi int) {
			sgdMomRange(p[lo:hi], g[lo:hi], b[lo:hi], nlr, mu, damp)
		})
		return
	}
	c := sgdVecConsts{nlr: nlr, mu: mu, damp: damp, wd: wd, flags: sgdFlags(maximize, wd != 0, true, first, nesterov)}
	i := sgdGeneralVec(p, g, b, &c)
	sgdMomentumGeneral(p[i:], g[i:], b[i:], nlr, wd, mu, damp, first, nesterov, maximize)
}

// sgdMomentumGeneral is sgdMomentum's scalar loop for any options.
func sgdMomentumGeneral(p, g, b []float32, nlr, wd, mu, damp float32, first, nesterov, maximize bool) {
	g = g[:len(p)]
	b = b[:len(p)]
	for i := range p {
		d := g[i]
		if maximize {
			d = -d
		}
		if wd != 0 {
			d = fma32(wd, p[i], d)
		}
		if first {
			b[i] = d
		} else {
			b[i] = fma32(damp, d, float32(b[i]*mu))
		}
		if nesterov {
			d = fma32(mu, b[i], d)
		} else {
			d = b[i]
		}
		p[i] = fma32(nlr, d, p[i])
	}
}

func isNaN(v float64) bool { return v != v }

// sgdVecConsts are the scalars of sgdGeneralVec's loop, laid out as the
// assembly reads them; flags holds the sgd*Flag bits.
type sgdVecConsts struct {
	nlr, mu, damp, wd float32
	flags             int32
}

// The options of sgdGeneralVec's update.
const (
	sgdMaximizeFlag = 1 << iota
	sgdDecayFlag
	sgdMomentumFlag
	sgdFirstFlag
	sgdNesterovFlag
)

// sgdFlags packs the options of one update into sgdVecConsts.flags.
func sgdFlags(maximize, decay, momentum, first, nesterov bool) int32 {
	var f int32
	if maximize {
		f |= sgdMaximizeFlag
	}
	if decay {
		f |= sgdDecayFlag
	}
	if momentum {
		f |= sgdMomentumFlag
	}
	if first {
		f |= sgdFirstFlag
	}
	if nesterov {
		f |= sgdNesterovFlag
	}
	return f
}

// minParallelParams is the fewest parameters worth a goroutine of their own
// in an update loop: below it the fork/join costs more than the loop. The
// updates are element-wise, so the split changes no result.
const minParallelParams = 1 << 16

// sgdMomRange is the common momentum update b ← μb + (1−τ)g, θ ← θ − lr·b
// (lr arrives negated, damp as 1−τ), vectorised where the CPU allows; the
// vector and scalar paths compute the same fma32 values.
func sgdMomRange(p, g, b []float32, nlr, mu, damp float32) {
	g, b = g[:len(p)], b[:len(p)]
	for i := sgdMomVec(p, g, b, nlr, mu, damp); i < len(p); i++ {
		b[i] = fma32(damp, g[i], float32(b[i]*mu))
		p[i] = fma32(nlr, b[i], p[i])
	}
}

// sgdPlainRange is θ ← θ − lr·g (lr arrives negated).
func sgdPlainRange(p, g []float32, nlr float32) {
	g = g[:len(p)]
	for i := sgdPlainVec(p, g, nlr); i < len(p); i++ {
		p[i] = fma32(nlr, g[i], p[i])
	}
}
