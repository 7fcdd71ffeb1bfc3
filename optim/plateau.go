package optim

import (
	"fmt"
	"math"
)

// Plateau reduces an optimiser's learning rate when a metric has stopped
// improving (torch.optim.lr_scheduler.ReduceLROnPlateau). After each epoch,
// Step(metric):
//
//	better ⇔ metric < best·(1 − threshold)   (ModeMin, ThresholdRel)
//	         metric < best − threshold       (ModeMin, ThresholdAbs)
//	         metric > best·(1 + threshold)   (ModeMax, ThresholdRel)
//	         metric > best + threshold       (ModeMax, ThresholdAbs)
//	better: best ← metric, bad ← 0;  otherwise bad ← bad + 1
//	in cooldown (cooldown counter > 0): counter ← counter − 1, bad ← 0
//	bad > patience: lr ← max(lr·factor, min_lr) if that changes lr by more
//	                than eps; counter ← cooldown, bad ← 0
type Plateau struct {
	opt                         Optimizer
	mode                        PlateauMode
	thresholdMode               ThresholdKind
	factor, threshold           float64
	minLRs                      []float64 // per group
	eps                         float64
	patience, cooldown          int
	best                        float64
	numBad, cooldownCounter, ep int
}

// ReduceLROnPlateau returns a Plateau scheduler for opt. It takes the
// options Mode (default ModeMin), Factor (0.1), Patience (10), Threshold
// (1e-4), ThresholdMode (ThresholdRel), Cooldown (0), MinLR (0, for every
// group) or MinLRs (one per group) and Eps (1e-8), and panics on any other
// or on values PyTorch rejects. Each parameter group's rate is reduced on
// its own, as in PyTorch.
func ReduceLROnPlateau(opt Optimizer, opts ...Option) *Plateau {
	c := config{factor: 0.1, patience: 10, threshold: 1e-4, eps: 1e-8}
	c.applyOptions("ReduceLROnPlateau", opts, "Mode", "Factor", "Patience", "Threshold", "ThresholdMode", "Cooldown", "MinLR", "MinLRs", "Eps")
	check("ReduceLROnPlateau", opt != nil, "nil optimiser")
	check("ReduceLROnPlateau", c.factor >= 0 && c.factor < 1, "factor %v, want in [0, 1)", c.factor)
	check("ReduceLROnPlateau", c.mode == ModeMin || c.mode == ModeMax, "unknown mode %d", c.mode)
	check("ReduceLROnPlateau", c.thresholdMode == ThresholdRel || c.thresholdMode == ThresholdAbs, "unknown threshold mode %d", c.thresholdMode)
	check("ReduceLROnPlateau", c.patience >= 0 && c.cooldown >= 0, "patience %d and cooldown %d, want ≥ 0", c.patience, c.cooldown)
	minLRs := c.minLRs
	if minLRs == nil {
		minLRs = make([]float64, opt.NumGroups())
		for g := range minLRs {
			minLRs[g] = c.minLR
		}
	}
	check("ReduceLROnPlateau", len(minLRs) == opt.NumGroups(), "expected %d min_lrs, got %d", opt.NumGroups(), len(minLRs))
	for _, m := range minLRs {
		check("ReduceLROnPlateau", nonNeg(m), "invalid min_lr %v", m)
	}
	check("ReduceLROnPlateau", nonNeg(c.eps) && !isNaN(c.threshold), "invalid eps %v or threshold %v", c.eps, c.threshold)
	p := &Plateau{
		opt: opt, mode: c.mode, thresholdMode: c.thresholdMode,
		factor: c.factor, threshold: c.threshold, minLRs: append([]float64(nil), minLRs...), eps: c.eps,
		patience: c.patience, cooldown: c.cooldown,
	}
	p.best = p.worst()
	return p
}

func (p *Plateau) worst() float64 {
	if p.mode == ModeMin {
		return math.Inf(1)
	}
	return math.Inf(-1)
}

func (p *Plateau) better(a float64) bool {
	switch {
	case p.mode == ModeMin && p.thresholdMode == ThresholdRel:
		return a < p.best*(1-p.threshold)
	case p.mode == ModeMin:
		return a < p.best-p.threshold
	case p.thresholdMode == ThresholdRel:
		return a > p.best*(p.threshold+1)
	default:
		return a > p.best+p.threshold
	}
}

// Step records the metric of the epoch just ended and reduces the
// optimiser's rate when it has not improved for more than Patience epochs.
func (p *Plateau) Step(metric float64) {
	p.ep++
	if p.better(metric) {
		p.best = metric
		p.numBad = 0
	} else {
		p.numBad++
	}
	if p.cooldownCounter > 0 {
		p.cooldownCounter--
		p.numBad = 0
	}
	if p.numBad > p.patience {
		for g, minLR := range p.minLRs {
			old := p.opt.GroupLR(g)
			lr := max(old*p.factor, minLR)
			if old-lr > p.eps {
				p.opt.SetGroupLR(g, lr)
			}
		}
		p.cooldownCounter = p.cooldown
		p.numBad = 0
	}
}

// LR returns the optimiser's current rate (its first group's).
func (p *Plateau) LR() float64 { return p.opt.LR() }

// StateDict returns the counters and the best metric under PyTorch's names
// ("best", "num_bad_epochs", "cooldown_counter", "last_epoch") and the
// current rate as "lr" (one group) or "lrs.0", "lrs.1", ... (several).
func (p *Plateau) StateDict() map[string]float64 {
	m := map[string]float64{
		"best":             p.best,
		"num_bad_epochs":   float64(p.numBad),
		"cooldown_counter": float64(p.cooldownCounter),
		"last_epoch":       float64(p.ep),
	}
	for g, k := range groupRateKeys(len(p.minLRs), "lr", "lrs.") {
		m[k] = p.opt.GroupLR(g)
	}
	return m
}

// LoadStateDict restores a saved state, setting the optimiser's rates to
// the saved ones. It is strict about keys.
func (p *Plateau) LoadStateDict(m map[string]float64) error {
	lrKeys := groupRateKeys(len(p.minLRs), "lr", "lrs.")
	if err := strictKeys("Plateau", m, append([]string{"best", "cooldown_counter", "last_epoch", "num_bad_epochs"}, lrKeys...)...); err != nil {
		return err
	}
	for _, k := range []string{"cooldown_counter", "last_epoch", "num_bad_epochs"} {
		if v := m[k]; v < 0 || v != math.Trunc(v) || v > 1<<53 {
			return fmt.Errorf("optim.Plateau.LoadStateDict: %s %v is not a whole number ≥ 0", k, v)
		}
	}
	for _, k := range lrKeys {
		if !(m[k] >= 0) {
			return fmt.Errorf("optim.Plateau.LoadStateDict: %s %v out of range", k, m[k])
		}
	}
	if isNaN(m["best"]) {
		return fmt.Errorf("optim.Plateau.LoadStateDict: best %v out of range", m["best"])
	}
	p.best = m["best"]
	p.numBad = int(m["num_bad_epochs"])
	p.cooldownCounter = int(m["cooldown_counter"])
	p.ep = int(m["last_epoch"])
	for g, k := range lrKeys {
		p.opt.SetGroupLR(g, m[k])
	}
	return nil
}
