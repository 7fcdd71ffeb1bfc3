package optim

import (
	"math"

	"github.com/backprop-go/backprop/tensor"
)

// AdamOptimizer is Adam (torch.optim.Adam) or, built by AdamW, Adam with
// decoupled weight decay (torch.optim.AdamW). For each parameter θ with
// gradient g, at its step t (counted per parameter, from 1):
//
//	g ← −g                          if maximize
//	θ ← θ·(1 − lr·λ)                AdamW (decoupled weight decay λ)
//	g ← g + λθ                      Adam, if λ ≠ 0 (L2 weight decay)
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	v̂ ← max(v̂, v), use v̂ for v    if AMSGrad
//	θ ← θ − (lr/(1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
//
// The bias corrections are computed in float64 as PyTorch does in Python;
// the state is "step", "exp_avg" (m), "exp_avg_sq" (v) and, with AMSGrad,
// "max_exp_avg_sq" (v̂).
type AdamOptimizer struct {
	core
	decoupled bool
}

var _ Optimizer = (*AdamOptimizer)(nil)

// Adam returns an Adam optimiser over params, a parameter list or groups
// (see AdamOptimizer for the update rule). It takes the options LR (default
// 1e-3), Betas (0.9, 0.999), Eps (1e-8), WeightDecay (0, added to the
// gradient), AMSGrad (false) and Maximize (false), for all groups or per
// group, and panics on any other or on values PyTorch rejects.
func Adam[P Params](params P, opts ...Option) *AdamOptimizer {
	return newAdam("Adam", params, 0, false, opts)
}

// AdamW returns an Adam optimiser with decoupled weight decay over params
// (see AdamOptimizer for the update rule). It takes the same options as
// Adam, with WeightDecay defaulting to 1e-2 and applied as θ ← θ·(1 − lr·λ).
func AdamW[P Params](params P, opts ...Option) *AdamOptimizer {
	return newAdam("AdamW", params, 1e-2, true, opts)
}

func newAdam[P Params](name string, params P, wd float64, decoupled bool, opts []Option) *AdamOptimizer {
	defaults := config{lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd}
	o := &AdamOptimizer{core: newCore(name, params, defaults, opts, func(who string, c *config) {
		check(who, nonNeg(c.eps), "invalid epsilon value: %v", c.eps)
		check(who, c.beta1 >= 0 && c.beta1 < 1, "invalid beta parameter at index 0: %v", c.beta1)
		check(who, c.beta2 >= 0 && c.beta2 < 1, "invalid beta parameter at index 1: %v", c.beta2)
		check(who, nonNeg(c.weightDecay), "invalid weight_decay value: %v", c.weightDecay)
	}, "LR", "Betas", "Eps", "WeightDecay", "AMSGrad", "Maximize"), decoupled: decoupled}
	o.setState(true, false, func(c *config) (float32, []string) {
		if c.amsgrad {
			return 0, []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
		}
		return 0, []string{"exp_avg", "exp_avg_sq"}
	})
	return o
}

// Step applies one Adam (or AdamW) update to every parameter that has a
// gradient.
func (o *AdamOptimizer) Step() {
	for gi := range o.groups {
		gr := &o.groups[gi]
		c := &gr.c
		k := adamConsts{
			b1: float32(c.beta1), omb1: float32(1 - c.beta1),
			b2: float32(c.beta2), omb2: float32(1 - c.beta2),
			eps: float32(c.eps), maximize: c.maximize, amsgrad: c.amsgrad,
		}
		if o.decoupled {
			k.decay = float32(1 - c.lr*c.weightDecay)
		} else {
			k.wd = float32(c.weightDecay)
		}
		for i := gr.lo; i < gr.hi; i++ {
			p, g, ok := o.grad(i)
			if !ok {
				continue
			}
			st, _ := o.state(i, len(p))
			o.step[i]++
			t := float64(o.step[i])
			bc1 := 1 - math.Pow(c.beta1, t)
			bc2 := 1 - math.Pow(c.beta2, t)
			k.nstep = float32(-(c.lr / bc1))
			k.bc2sqrt = float32(math.Sqrt(bc2))
			vmax := st[1] // unused without AMSGrad
			if c.amsgrad {
				vmax = st[2]
			}
			adamUpdate(p, g, st[0], st[1], vmax, &k, o.decoupled)
		}
	}
}

// adamConsts are an update's scalars, rounded to float32 where PyTorch
// rounds them.
type adamConsts struct {
	b1, omb1, b2, omb2, eps float32
	wd                      float32 // L2 weight decay (Adam)
	decay                   float32 // 1 − lr·λ (AdamW)
	nstep                   float32 // −lr/(1−β1ᵗ)
	bc2sqrt                 float32 // √(1−β2ᵗ)
	maximize, amsgrad       bool
}

// adamVecConsts are the scalars of adamVec's loop, laid out as the
// assembly reads them.
type adamVecConsts struct {
	b1, omb1, b2, omb2, eps, decay, nstep, bcs float32
	decoupled                                  int32
}

// adamUpdate updates p, m and v in place, and vmax when k.amsgrad. The
// common update (not maximising, no AMSGrad, no L2 weight decay) is
// vectorised where the CPU allows, and split over goroutines for large
// tensors; each element's arithmetic is the scalar loop's, so neither
// changes a bit.
func adamUpdate(p, g, m, v, vmax []float32, k *adamConsts, decoupled bool) {
	g = g[:len(p)]
	m = m[:len(p)]
	v = v[:len(p)]
	vmax = vmax[:len(p)]
	if k.maximize || k.amsgrad || (!decoupled && k.wd != 0) {
		adamRange(p, g, m, v, vmax, k, decoupled)
		return
	}
	c := adamVecConsts{b1: k.b1, omb1: k.omb1, b2: k.b2, omb2: k.omb2, eps: k.eps, decay: k.decay, nstep: k.nstep, bcs: k.bc2sqrt}
	if decoupled {
		c.decoupled = 1
	}
	adamSplit(p, g, m, v, vmax, c, *k, decoupled)
}

// adamSplit runs adamUpdate's common update on one goroutine or, for a
// large tensor, on several. (A function of its own so that the closure
// captures values, not the caller's variables, which would then be
// allocated on every step.)
func adamSplit(p, g, m, v, vmax []float32, c adamVecConsts, k adamConsts, decoupled bool) {
	if len(p) < 2*minParallelParams {
		adamRangeVec(p, g, m, v, vmax, c, k, decoupled)
		return
	}
	tensor.ParallelFor(len(p), minParallelParams, func(lo, hi int) {
		adamRangeVec(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], vmax[lo:hi], c, k, decoupled)
	})
}

// adamRangeVec is adamRange with the vector loop first.
func adamRangeVec(p, g, m, v, vmax []float32, c adamVecConsts, k adamConsts, decoupled bool) {
	i := adamVec(p, g, m, v, &c)
	adamRange(p[i:], g[i:], m[i:], v[i:], vmax[i:], &k, decoupled)
}

// adamRange is adamUpdate's scalar loop.
func adamRange(p, g, m, v, vmax []float32, k *adamConsts, decoupled bool) {
	g = g[:len(p)]
	m = m[:len(p)]
	v = v[:len(p)]
	vmax = vmax[:len(p)]
	amsgrad := k.amsgrad
	b1, omb1, b2, omb2, eps := k.b1, k.omb1, k.b2, k.omb2, k.eps
	wd, decay, nstep, bcs := k.wd, k.decay, k.nstep, k.bc2sqrt
	for i := range p {
		gi := g[i]
		if k.maximize {
			gi = -gi
		}
		if decoupled {
			p[i] = float32(p[i] * decay)
		} else if wd != 0 {
			gi = fma32(wd, p[i], gi)
		}
		m[i] = fma32(omb1, gi, float32(m[i]*b1))
		v[i] = fma32(float32(omb2*gi), gi, float32(v[i]*b2))
		vi := v[i]
		if amsgrad {
			if vi > vmax[i] || vi != vi {
				vmax[i] = vi
			}
			vi = vmax[i]
		}
		denom := float32(sqrt32(vi)/bcs) + eps
		p[i] += float32(float32(nstep*m[i]) / denom)
	}
}
