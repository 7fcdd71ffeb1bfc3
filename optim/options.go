package optim

import (
	"fmt"
	"sort"
	"strings"
)

// Option sets one hyperparameter of an optimiser, a schedule or a plateau
// scheduler. Each constructor documents the options it takes and panics on
// any other, naming itself and the option.
type Option struct {
	name  string
	apply func(*config)
}

// config holds every hyperparameter any constructor takes; each constructor
// fills in its own defaults before applying the options.
type config struct {
	lr, momentum, dampening, weightDecay float64
	beta1, beta2, eps, alpha             float64
	lrDecay, initialAccumulator          float64
	nesterov, centered, amsgrad          bool
	maximize                             bool

	// ReduceLROnPlateau.
	mode                     PlateauMode
	factor, threshold, minLR float64
	minLRs                   []float64
	thresholdMode            ThresholdKind
	patience, cooldown       int
	// OneCycleLR.
	pctStart, divFactor, finalDivFactor float64
	threePhase                          bool
	anneal                              AnnealStrategy
}

// applyOptions applies opts to c, panicking when one is not among allowed.
func (c *config) applyOptions(who string, opts []Option, allowed ...string) {
	for _, o := range opts {
		if o.apply == nil {
			panic(fmt.Sprintf("optim.%s: zero Option (build options with optim.LR, optim.Momentum, ...)", who))
		}
		ok := false
		for _, a := range allowed {
			if a == o.name {
				ok = true
				break
			}
		}
		if !ok {
			names := append([]string(nil), allowed...)
			sort.Strings(names)
			panic(fmt.Sprintf("optim.%s: option %s does not apply (%s takes %s)", who, o.name, who, strings.Join(names, ", ")))
		}
		o.apply(c)
	}
}

// check panics with a message naming who when a value is out of range.
func check(who string, ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf("optim.%s: ", who) + fmt.Sprintf(format, args...))
	}
}

// nonNeg reports whether v is a finite or infinite number >= 0 (not NaN).
func nonNeg(v float64) bool { return v >= 0 }

// LR sets the learning rate (every optimiser; PyTorch's lr). Defaults: SGD
// 1e-3 (as in PyTorch 2.x), Adam and AdamW 1e-3, RMSprop and Adagrad 1e-2.
func LR(lr float64) Option { return Option{"LR", func(c *config) { c.lr = lr }} }

// Momentum sets the momentum factor μ of SGD and RMSprop (default 0).
func Momentum(m float64) Option { return Option{"Momentum", func(c *config) { c.momentum = m }} }

// Dampening sets SGD's dampening τ of momentum (default 0): b ← μ·b + (1−τ)·g.
func Dampening(d float64) Option { return Option{"Dampening", func(c *config) { c.dampening = d }} }

// Nesterov turns on SGD's Nesterov momentum (default false); it needs
// momentum > 0 and zero dampening.
func Nesterov(on bool) Option { return Option{"Nesterov", func(c *config) { c.nesterov = on }} }

// WeightDecay sets the weight decay λ (default 0, AdamW 1e-2). SGD, Adam,
// RMSprop and Adagrad add it to the gradient as L2 regularisation
// (g ← g + λθ); AdamW decouples it (θ ← θ·(1 − lr·λ)).
func WeightDecay(wd float64) Option {
	return Option{"WeightDecay", func(c *config) { c.weightDecay = wd }}
}

// Betas sets Adam's and AdamW's moment decay rates β1, β2 (default 0.9, 0.999).
func Betas(beta1, beta2 float64) Option {
	return Option{"Betas", func(c *config) { c.beta1, c.beta2 = beta1, beta2 }}
}

// Eps sets the term ε added to the denominator for numerical stability
// (Adam, AdamW, RMSprop 1e-8; Adagrad 1e-10). For ReduceLROnPlateau it is the
// smallest change of learning rate worth making (default 1e-8).
func Eps(eps float64) Option { return Option{"Eps", func(c *config) { c.eps = eps }} }

// Alpha sets RMSprop's smoothing constant α of the squared-gradient average
// (default 0.99).
func Alpha(a float64) Option { return Option{"Alpha", func(c *config) { c.alpha = a }} }

// Centered makes RMSprop divide by an estimate of the gradient's variance,
// v − ḡ², instead of its second moment v (default false).
func Centered(on bool) Option { return Option{"Centered", func(c *config) { c.centered = on }} }

// AMSGrad makes Adam and AdamW divide by the running maximum of the second
// moment (default false).
func AMSGrad(on bool) Option { return Option{"AMSGrad", func(c *config) { c.amsgrad = on }} }

// LRDecay sets Adagrad's learning-rate decay η (default 0):
// the step t uses lr / (1 + (t−1)·η).
func LRDecay(d float64) Option { return Option{"LRDecay", func(c *config) { c.lrDecay = d }} }

// InitialAccumulator sets the starting value of Adagrad's sum of squared
// gradients (PyTorch's initial_accumulator_value, default 0).
func InitialAccumulator(v float64) Option {
	return Option{"InitialAccumulator", func(c *config) { c.initialAccumulator = v }}
}

// Maximize makes an optimiser ascend the objective instead of descending it
// (every optimiser; default false): the gradient is negated first.
func Maximize(on bool) Option { return Option{"Maximize", func(c *config) { c.maximize = on }} }

// PlateauMode says whether ReduceLROnPlateau waits for a metric to fall or
// to rise.
type PlateauMode int

const (
	// ModeMin reduces the learning rate when the metric stops decreasing
	// (a loss). The default.
	ModeMin PlateauMode = iota
	// ModeMax reduces it when the metric stops increasing (an accuracy).
	ModeMax
)

// ThresholdKind says how ReduceLROnPlateau measures a significant
// improvement over the best metric so far.
type ThresholdKind int

const (
	// ThresholdRel: better means below best·(1 − threshold) in ModeMin,
	// above best·(1 + threshold) in ModeMax. The default.
	ThresholdRel ThresholdKind = iota
	// ThresholdAbs: better means below best − threshold in ModeMin, above
	// best + threshold in ModeMax.
	ThresholdAbs
)

// Mode sets ReduceLROnPlateau's mode (default ModeMin).
func Mode(m PlateauMode) Option { return Option{"Mode", func(c *config) { c.mode = m }} }

// Factor sets the factor by which ReduceLROnPlateau multiplies the learning
// rate (default 0.1).
func Factor(f float64) Option { return Option{"Factor", func(c *config) { c.factor = f }} }

// Patience sets how many epochs without improvement ReduceLROnPlateau
// tolerates before it reduces the learning rate (default 10).
func Patience(n int) Option { return Option{"Patience", func(c *config) { c.patience = n }} }

// Threshold sets ReduceLROnPlateau's threshold for a significant
// improvement (default 1e-4, relative).
func Threshold(t float64) Option { return Option{"Threshold", func(c *config) { c.threshold = t }} }

// ThresholdMode sets whether ReduceLROnPlateau's threshold is relative or
// absolute (default ThresholdRel).
func ThresholdMode(k ThresholdKind) Option {
	return Option{"ThresholdMode", func(c *config) { c.thresholdMode = k }}
}

// Cooldown sets how many epochs ReduceLROnPlateau waits after a reduction
// before it counts bad epochs again (default 0).
func Cooldown(n int) Option { return Option{"Cooldown", func(c *config) { c.cooldown = n }} }

// MinLR sets the learning rate below which ReduceLROnPlateau does not go
// (default 0).
func MinLR(lr float64) Option { return Option{"MinLR", func(c *config) { c.minLR = lr }} }

// MinLRs sets ReduceLROnPlateau's lowest learning rate for each parameter
// group, in order (PyTorch's min_lr as a list); it needs one rate per group.
func MinLRs(lrs ...float64) Option {
	lrs = append([]float64(nil), lrs...)
	return Option{"MinLRs", func(c *config) { c.minLRs = lrs }}
}

// AnnealStrategy is OneCycleLR's interpolation between phase ends.
type AnnealStrategy int

const (
	// AnnealCos: lr = end + (start − end)/2 · (1 + cos(π·pct)). The default.
	AnnealCos AnnealStrategy = iota
	// AnnealLinear: lr = start + (end − start)·pct.
	AnnealLinear
)

// PctStart sets the fraction of OneCycleLR's steps spent raising the
// learning rate (default 0.3).
func PctStart(p float64) Option { return Option{"PctStart", func(c *config) { c.pctStart = p }} }

// DivFactor sets OneCycleLR's initial learning rate as maxLR/DivFactor
// (default 25).
func DivFactor(d float64) Option { return Option{"DivFactor", func(c *config) { c.divFactor = d }} }

// FinalDivFactor sets OneCycleLR's final learning rate as
// initial/FinalDivFactor (default 1e4).
func FinalDivFactor(d float64) Option {
	return Option{"FinalDivFactor", func(c *config) { c.finalDivFactor = d }}
}

// ThreePhase makes OneCycleLR go back down to the initial rate before the
// final annealing, as in fast.ai (default false).
func ThreePhase(on bool) Option { return Option{"ThreePhase", func(c *config) { c.threePhase = on }} }

// Anneal sets OneCycleLR's annealing strategy (default AnnealCos).
func Anneal(s AnnealStrategy) Option { return Option{"Anneal", func(c *config) { c.anneal = s }} }
