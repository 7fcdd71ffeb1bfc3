package optim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Schedule gives the learning rate at an epoch (the number of times the
// scheduler has stepped, from 0) from the optimiser's initial rate base.
// The schedules below are PyTorch's, in closed form, so that the rate at
// any epoch is computed afresh (never accumulated) and resuming from a saved
// epoch gives the same rates bit for bit. A plain function is a Schedule:
// PyTorch's LambdaLR(λ) is func(base float64, e int) float64 { return base * λ(e) }.
//
// The constructors return an error, naming themselves and the value, for an
// argument out of range: step counts often come from user input and data
// sizes (epochs × batches), so a zero or overflowed total is a run-time
// condition to report, not a programming error.
type Schedule func(base float64, epoch int) float64

// StepLR decays the rate by gamma every stepSize epochs
// (torch.optim.lr_scheduler.StepLR): lr = base·γ^⌊epoch/stepSize⌋.
func StepLR(stepSize int, gamma float64) (Schedule, error) {
	if stepSize <= 0 {
		return nil, scheduleErr("StepLR", "step size %d, want > 0", stepSize)
	}
	if err := finite("StepLR", "gamma", gamma); err != nil {
		return nil, err
	}
	return func(base float64, epoch int) float64 {
		return base * math.Pow(gamma, float64(epoch/stepSize))
	}, nil
}

// MultiStepLR decays the rate by gamma at each milestone epoch
// (torch.optim.lr_scheduler.MultiStepLR): lr = base·γ^k, where k is the
// number of milestones ≤ epoch. Milestones must be increasing.
func MultiStepLR(milestones []int, gamma float64) (Schedule, error) {
	ms := append([]int(nil), milestones...)
	if !sort.IntsAreSorted(ms) {
		return nil, scheduleErr("MultiStepLR", "milestones %v are not increasing", ms)
	}
	if err := finite("MultiStepLR", "gamma", gamma); err != nil {
		return nil, err
	}
	return func(base float64, epoch int) float64 {
		return base * math.Pow(gamma, float64(reached(ms, epoch)))
	}, nil
}

// reached returns how many of the sorted milestones are ≤ epoch. It compares
// rather than searching for epoch+1, which would overflow at math.MaxInt.
func reached(ms []int, epoch int) int {
	return sort.Search(len(ms), func(i int) bool { return ms[i] > epoch })
}

// ExponentialLR decays the rate by gamma every epoch
// (torch.optim.lr_scheduler.ExponentialLR): lr = base·γ^epoch.
func ExponentialLR(gamma float64) (Schedule, error) {
	if err := finite("ExponentialLR", "gamma", gamma); err != nil {
		return nil, err
	}
	return func(base float64, epoch int) float64 {
		return base * math.Pow(gamma, float64(epoch))
	}, nil
}

// CosineAnnealingLR anneals the rate from base to etaMin over tMax epochs
// along a half cosine (torch.optim.lr_scheduler.CosineAnnealingLR, in its
// closed form): lr = η_min + (base − η_min)·(1 + cos(π·epoch/T_max))/2.
// Past tMax the cosine continues, as PyTorch's closed form does.
func CosineAnnealingLR(tMax int, etaMin float64) (Schedule, error) {
	if tMax <= 0 {
		return nil, scheduleErr("CosineAnnealingLR", "T_max %d, want > 0 (is the run empty, or did a step count overflow?)", tMax)
	}
	if !(etaMin >= 0) || math.IsInf(etaMin, 0) {
		return nil, scheduleErr("CosineAnnealingLR", "eta_min %v, want a finite rate ≥ 0", etaMin)
	}
	return func(base float64, epoch int) float64 {
		return etaMin + (base-etaMin)*(1+math.Cos(math.Pi*float64(epoch)/float64(tMax)))/2
	}, nil
}

// LinearLR scales the rate by a factor that moves linearly from
// startFactor to endFactor over totalIters epochs, then stays
// (torch.optim.lr_scheduler.LinearLR; PyTorch's defaults are 1/3, 1, 5):
// lr = base·(s + (e − s)·min(epoch, T)/T). With endFactor 1 it is a linear
// warm-up; see SequentialLR to follow it with another schedule.
func LinearLR(startFactor, endFactor float64, totalIters int) (Schedule, error) {
	switch {
	case !(startFactor > 0 && startFactor <= 1):
		return nil, scheduleErr("LinearLR", "start factor %v, want in (0, 1]", startFactor)
	case !(endFactor >= 0 && endFactor <= 1):
		return nil, scheduleErr("LinearLR", "end factor %v, want in [0, 1]", endFactor)
	case totalIters <= 0:
		return nil, scheduleErr("LinearLR", "total iters %d, want > 0", totalIters)
	}
	return func(base float64, epoch int) float64 {
		e := min(epoch, totalIters)
		return base * (startFactor + (endFactor-startFactor)*float64(e)/float64(totalIters))
	}, nil
}

// ConstantLR scales the rate by factor for the first totalIters epochs,
// then uses base (torch.optim.lr_scheduler.ConstantLR).
func ConstantLR(factor float64, totalIters int) (Schedule, error) {
	if !(factor >= 0 && factor <= 1) {
		return nil, scheduleErr("ConstantLR", "factor %v, want in [0, 1]", factor)
	}
	if totalIters < 0 {
		return nil, scheduleErr("ConstantLR", "total iters %d, want ≥ 0", totalIters)
	}
	return func(base float64, epoch int) float64 {
		if epoch < totalIters {
			return base * factor
		}
		return base
	}, nil
}

// SequentialLR runs schedules one after the other, switching at the
// milestone epochs (torch.optim.lr_scheduler.SequentialLR): schedule k
// sees the epoch counted from milestones[k−1] and the same base. Typical
// use is a warm-up: SequentialLR([]Schedule{LinearLR(0.01, 1, 5),
// CosineAnnealingLR(95, 0)}, []int{5}).
func SequentialLR(schedules []Schedule, milestones []int) (Schedule, error) {
	if len(schedules) == 0 || len(milestones) != len(schedules)-1 {
		return nil, scheduleErr("SequentialLR", "%d schedules need %d milestones, got %d",
			len(schedules), max(len(schedules)-1, 0), len(milestones))
	}
	ms := append([]int(nil), milestones...)
	ss := append([]Schedule(nil), schedules...)
	if !sort.IntsAreSorted(ms) {
		return nil, scheduleErr("SequentialLR", "milestones %v are not increasing", ms)
	}
	for i, s := range ss {
		if s == nil {
			return nil, scheduleErr("SequentialLR", "schedule %d is nil (did its constructor return an error?)", i)
		}
	}
	return func(base float64, epoch int) float64 {
		k := reached(ms, epoch)
		if k > 0 {
			epoch -= ms[k-1]
		}
		return ss[k](base, epoch)
	}, nil
}

// OneCycleLR is the 1cycle policy (torch.optim.lr_scheduler.OneCycleLR),
// stepped once per batch for totalSteps batches. The rate rises from
// maxLR/DivFactor to maxLR over the first PctStart of the steps, then falls
// to maxLR/DivFactor/FinalDivFactor; with ThreePhase it first falls back to
// maxLR/DivFactor and then to the final rate. Each phase interpolates with
// AnnealCos, end + (start − end)/2·(1 + cos(π·pct)), or AnnealLinear.
// Options and PyTorch's defaults: PctStart 0.3, DivFactor 25,
// FinalDivFactor 1e4, ThreePhase false, Anneal AnnealCos. The optimiser's
// own rate is ignored. Stepping past totalSteps panics, as PyTorch raises.
// Momentum is not cycled (PyTorch's cycle_momentum=False). An option that
// does not apply to OneCycleLR panics (a programming error); a value out of
// range is returned as an error.
func OneCycleLR(maxLR float64, totalSteps int, opts ...Option) (Schedule, error) {
	c := config{pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4}
	c.applyOptions("OneCycleLR", opts, "PctStart", "DivFactor", "FinalDivFactor", "ThreePhase", "Anneal")
	switch {
	case totalSteps <= 0:
		return nil, scheduleErr("OneCycleLR", "total steps %d, want > 0 (is the run empty, or did a step count overflow?)", totalSteps)
	case !(maxLR >= 0) || math.IsInf(maxLR, 0):
		return nil, scheduleErr("OneCycleLR", "max_lr %v, want a finite rate ≥ 0", maxLR)
	case !(c.pctStart >= 0 && c.pctStart <= 1):
		return nil, scheduleErr("OneCycleLR", "pct_start %v, want in [0, 1]", c.pctStart)
	case !(c.divFactor > 0 && c.finalDivFactor > 0) || math.IsInf(c.divFactor, 0) || math.IsInf(c.finalDivFactor, 0):
		return nil, scheduleErr("OneCycleLR", "div factors %v, %v, want finite and > 0", c.divFactor, c.finalDivFactor)
	}
	initial := maxLR / c.divFactor
	final := initial / c.finalDivFactor
	type phase struct{ end, start, stop float64 }
	T := float64(totalSteps)
	var phases []phase
	if c.threePhase {
		phases = []phase{
			{c.pctStart*T - 1, initial, maxLR},
			{2*c.pctStart*T - 2, maxLR, initial},
			{T - 1, initial, final},
		}
	} else {
		phases = []phase{
			{c.pctStart*T - 1, initial, maxLR},
			{T - 1, maxLR, final},
		}
	}
	anneal := func(start, end, pct float64) float64 {
		if c.anneal == AnnealLinear {
			return (end-start)*pct + start
		}
		return end + (start-end)/2*(math.Cos(math.Pi*pct)+1)
	}
	return func(_ float64, epoch int) float64 {
		if epoch > totalSteps {
			panic(fmt.Sprintf("optim.OneCycleLR: tried to step %d times; the specified number of total steps is %d", epoch, totalSteps))
		}
		step := float64(epoch)
		start := 0.0
		for i, ph := range phases {
			if step <= ph.end || i == len(phases)-1 {
				if ph.end == start { // an empty phase (PctStart 0 or 1)
					return ph.stop
				}
				return anneal(ph.start, ph.stop, (step-start)/(ph.end-start))
			}
			start = ph.end
		}
		panic("unreachable")
	}, nil
}

// TotalSteps returns epochs·stepsPerEpoch, the length of a run in steps for
// a per-step schedule, or an error when either count is not positive or the
// product does not fit in an int.
func TotalSteps(epochs, stepsPerEpoch int) (int, error) {
	if epochs <= 0 || stepsPerEpoch <= 0 {
		return 0, fmt.Errorf("optim.TotalSteps: %d epochs of %d steps, want both > 0", epochs, stepsPerEpoch)
	}
	if epochs > math.MaxInt/stepsPerEpoch {
		return 0, fmt.Errorf("optim.TotalSteps: %d epochs of %d steps overflow an int", epochs, stepsPerEpoch)
	}
	return epochs * stepsPerEpoch, nil
}

// scheduleErr is the error of a schedule constructor, naming it.
func scheduleErr(who, format string, args ...any) error {
	return fmt.Errorf("optim.%s: %s", who, fmt.Sprintf(format, args...))
}

// finite returns an error naming who and what when v is NaN or infinite.
func finite(who, what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return scheduleErr(who, "%s %v, want a finite number", what, v)
	}
	return nil
}

// Scheduler sets an optimiser's learning rate as training goes on.
// LRScheduler implements it; ReduceLROnPlateau's Plateau steps on a metric
// and so has Step(metric) instead.
type Scheduler interface {
	// Step advances one epoch (one batch for OneCycleLR) and sets the
	// optimiser's learning rate.
	Step()
	// LR returns the learning rate the scheduler last set.
	LR() float64
	// StateDict returns what resuming needs (the epoch count and base
	// rate), under PyTorch's names.
	StateDict() map[string]float64
	// LoadStateDict restores a saved state and sets the optimiser's rate
	// from it. It is strict about keys.
	LoadStateDict(map[string]float64) error
}

// LRScheduler drives an optimiser's learning rates along a Schedule: each
// parameter group's rate follows the schedule from the group's own base
// rate, as PyTorch's schedulers scale each group's initial_lr.
type LRScheduler struct {
	opt      Optimizer
	schedule Schedule
	base     []float64 // per group
	epoch    int
	lr       []float64 // per group, as last set
}

var _ Scheduler = (*LRScheduler)(nil)

// NewScheduler binds schedule to opt. Each group's current rate becomes its
// base (PyTorch's initial_lr) and, as PyTorch's constructors do, the rates
// for epoch 0 are set at once.
func NewScheduler(opt Optimizer, schedule Schedule) *LRScheduler {
	check("NewScheduler", opt != nil && schedule != nil, "nil optimiser or schedule")
	s := &LRScheduler{opt: opt, schedule: schedule, base: GroupLRs(opt)}
	s.set()
	return s
}

func (s *LRScheduler) set() { s.lr = ApplySchedule(s.opt, s.schedule, s.base, s.epoch) }

// GroupLRs returns the learning rate of each of opt's parameter groups: the
// bases to give ApplySchedule when a run starts.
func GroupLRs(opt Optimizer) []float64 {
	lrs := make([]float64, opt.NumGroups())
	for g := range lrs {
		lrs[g] = opt.GroupLR(g)
	}
	return lrs
}

// ApplySchedule sets each group g's learning rate to schedule(bases[g],
// epoch) and returns the rates set. It is what LRScheduler.Step does, for
// loops that keep the epoch count themselves. It panics when bases does not
// have one rate per group.
func ApplySchedule(opt Optimizer, schedule Schedule, bases []float64, epoch int) []float64 {
	check("ApplySchedule", len(bases) == opt.NumGroups(), "%d base rates for %d parameter groups", len(bases), opt.NumGroups())
	lrs := make([]float64, len(bases))
	for g, b := range bases {
		lrs[g] = schedule(b, epoch)
		opt.SetGroupLR(g, lrs[g])
	}
	return lrs
}

// Step advances one epoch and sets each group's rate to
// schedule(base, epoch).
func (s *LRScheduler) Step() {
	s.epoch++
	s.set()
}

// LR returns the rate last set on the first group.
func (s *LRScheduler) LR() float64 { return s.lr[0] }

// LastLR returns the rates last set, one per group (PyTorch's
// get_last_lr()).
func (s *LRScheduler) LastLR() []float64 { return append([]float64(nil), s.lr...) }

// Epoch returns how many times Step has been called (PyTorch's last_epoch).
func (s *LRScheduler) Epoch() int { return s.epoch }

// StateDict returns {"last_epoch", "base_lr"} for an optimiser of one group,
// {"last_epoch", "base_lrs.0", "base_lrs.1", ...} (PyTorch's base_lrs) for
// one of several.
func (s *LRScheduler) StateDict() map[string]float64 {
	m := map[string]float64{"last_epoch": float64(s.epoch)}
	for g, k := range baseKeys(len(s.base)) {
		m[k] = s.base[g]
	}
	return m
}

// baseKeys returns the names of n groups' base rates.
func baseKeys(n int) []string {
	return groupRateKeys(n, "base_lr", "base_lrs.")
}

// groupRateKeys returns one for one group, prefix<g> for each of several.
func groupRateKeys(n int, one, prefix string) []string {
	if n == 1 {
		return []string{one}
	}
	ks := make([]string, n)
	for g := range ks {
		ks[g] = prefix + strconv.Itoa(g)
	}
	return ks
}

// LoadStateDict restores last_epoch and the base rates and sets the
// optimiser's rates for that epoch.
func (s *LRScheduler) LoadStateDict(m map[string]float64) error {
	ks := baseKeys(len(s.base))
	if err := strictKeys("LRScheduler", m, append([]string{"last_epoch"}, ks...)...); err != nil {
		return err
	}
	e := m["last_epoch"]
	if e < 0 || e != math.Trunc(e) || e > 1<<53 {
		return fmt.Errorf("optim.LRScheduler.LoadStateDict: last_epoch %v is not a whole number ≥ 0", e)
	}
	base := make([]float64, len(ks))
	for g, k := range ks {
		if !(m[k] >= 0) {
			return fmt.Errorf("optim.LRScheduler.LoadStateDict: %s %v is not ≥ 0", k, m[k])
		}
		base[g] = m[k]
	}
	s.epoch, s.base = int(e), base
	s.set()
	return nil
}

// strictKeys reports the keys of m missing from want and those not in it.
func strictKeys(who string, m map[string]float64, want ...string) error {
	var missing, unexpected []string
	for _, k := range want {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range m {
		found := false
		for _, w := range want {
			found = found || w == k
		}
		if !found {
			unexpected = append(unexpected, k)
		}
	}
	if len(missing)+len(unexpected) == 0 {
		return nil
	}
	sort.Strings(unexpected)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing keys "+strings.Join(missing, ", "))
	}
	if len(unexpected) > 0 {
		parts = append(parts, "unexpected keys "+strings.Join(unexpected, ", "))
	}
	return errors.New("optim." + who + ".LoadStateDict: " + strings.Join(parts, "; "))
}
