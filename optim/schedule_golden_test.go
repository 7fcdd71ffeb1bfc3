package optim

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// scheduleOps are the schedulers of schedule.json (shared/golden/FORMAT.md,
// "Learning-rate schedules").
var scheduleOps = map[string]bool{"step": true, "multistep": true, "exponential": true, "cosine": true, "onecycle": true, "plateau": true}

// scheduleAttrs reads a case's attributes, remembering which were read so
// that one nobody reads is an error (every attribute must be honoured).
type scheduleAttrs struct {
	m    map[string]json.RawMessage
	used map[string]bool
	err  error
}

func (a *scheduleAttrs) raw(k string) (json.RawMessage, bool) {
	a.used[k] = true
	v, ok := a.m[k]
	return v, ok && string(v) != "null"
}

// num returns attribute k, or def when it is absent.
func (a *scheduleAttrs) num(k string, def float64) float64 {
	r, ok := a.raw(k)
	if !ok {
		return def
	}
	var v float64
	if err := json.Unmarshal(r, &v); err != nil && a.err == nil {
		a.err = fmt.Errorf("attribute %s: %v", k, err)
	}
	return v
}

// integer returns attribute k as an int, or def when it is absent.
func (a *scheduleAttrs) integer(k string, def int) int {
	v := a.num(k, float64(def))
	if v != math.Trunc(v) && a.err == nil {
		a.err = fmt.Errorf("attribute %s: %v is not a whole number", k, v)
	}
	return int(v)
}

func (a *scheduleAttrs) str(k, def string) string {
	r, ok := a.raw(k)
	if !ok {
		return def
	}
	var v string
	if err := json.Unmarshal(r, &v); err != nil && a.err == nil {
		a.err = fmt.Errorf("attribute %s: %v", k, err)
	}
	return v
}

func (a *scheduleAttrs) flag(k string, def bool) bool {
	r, ok := a.raw(k)
	if !ok {
		return def
	}
	var v bool
	if err := json.Unmarshal(r, &v); err != nil && a.err == nil {
		a.err = fmt.Errorf("attribute %s: %v", k, err)
	}
	return v
}

// ignore marks attributes that do not change the learning rate: verbose
// prints, and OneCycleLR's momentum cycling moves the momentum only.
func (a *scheduleAttrs) ignore(ks ...string) {
	for _, k := range ks {
		a.used[k] = true
	}
}

// unused returns an error naming the attributes nobody read.
func (a *scheduleAttrs) unused() error {
	var left []string
	for k := range a.m {
		if !a.used[k] {
			left = append(left, k)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("unknown attributes %v", left)
	}
	return nil
}

// goldenScheduler builds the case's optimiser (SGD with attrs.lr and
// momentum 0.9, as FORMAT.md says) and scheduler; step advances the
// scheduler by one epoch with the epoch's metric.
func goldenScheduler(c goldenCase) (opt Optimizer, step func(metric float64), err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	a := &scheduleAttrs{m: c.Attrs, used: map[string]bool{}}
	opt = SGD([]*autograd.Value{autograd.Param(tensor.Zeros(2))}, LR(a.num("lr", 1e-3)), Momentum(0.9))
	if le := a.integer("last_epoch", -1); le != -1 {
		return nil, nil, fmt.Errorf("last_epoch %d: only fresh schedulers (-1) are supported", le)
	}
	a.ignore("verbose")
	var s Schedule
	switch c.Op {
	case "step":
		s, err = StepLR(a.integer("step_size", 0), a.num("gamma", 0.1))
	case "multistep":
		var ms []int
		if r, ok := a.raw("milestones"); ok {
			err = json.Unmarshal(r, &ms)
		}
		if err == nil {
			s, err = MultiStepLR(ms, a.num("gamma", 0.1))
		}
	case "exponential":
		s, err = ExponentialLR(a.num("gamma", 0))
	case "cosine":
		s, err = CosineAnnealingLR(a.integer("T_max", 0), a.num("eta_min", 0))
	case "onecycle":
		total := a.integer("total_steps", 0)
		if _, ok := a.raw("total_steps"); !ok {
			total, err = TotalSteps(a.integer("epochs", 0), a.integer("steps_per_epoch", 0))
		}
		anneal := AnnealCos
		switch st := a.str("anneal_strategy", "cos"); st {
		case "cos":
		case "linear":
			anneal = AnnealLinear
		default:
			err = fmt.Errorf("anneal_strategy %q", st)
		}
		a.ignore("cycle_momentum", "base_momentum", "max_momentum")
		if err == nil {
			s, err = OneCycleLR(a.num("max_lr", 0), total, PctStart(a.num("pct_start", 0.3)),
				DivFactor(a.num("div_factor", 25)), FinalDivFactor(a.num("final_div_factor", 1e4)),
				ThreePhase(a.flag("three_phase", false)), Anneal(anneal))
		}
	case "plateau":
		mode := map[string]PlateauMode{"min": ModeMin, "max": ModeMax}
		tm := map[string]ThresholdKind{"rel": ThresholdRel, "abs": ThresholdAbs}
		m, ok1 := mode[a.str("mode", "min")]
		k, ok2 := tm[a.str("threshold_mode", "rel")]
		if !ok1 || !ok2 {
			return nil, nil, fmt.Errorf("mode %s or threshold_mode %s", a.m["mode"], a.m["threshold_mode"])
		}
		p := ReduceLROnPlateau(opt, Mode(m), ThresholdMode(k), Factor(a.num("factor", 0.1)),
			Patience(a.integer("patience", 10)), Threshold(a.num("threshold", 1e-4)),
			Cooldown(a.integer("cooldown", 0)), MinLR(a.num("min_lr", 0)), Eps(a.num("eps", 1e-8)))
		step = p.Step
	default:
		return nil, nil, fmt.Errorf("unknown scheduler %q", c.Op)
	}
	if err == nil {
		err = a.err
	}
	if err == nil {
		err = a.unused()
	}
	if err != nil {
		return nil, nil, err
	}
	if step == nil {
		sched := NewScheduler(opt, s)
		step = func(float64) { sched.Step() }
	}
	return opt, step, nil
}

// runScheduleCase steps the case's optimiser and scheduler len(lrs) times
// and compares the rate after each scheduler step with PyTorch's.
func runScheduleCase(c goldenCase) (err error) {
	if len(c.LRs) == 0 {
		return fmt.Errorf("no lrs")
	}
	if c.Op == "plateau" && len(c.Metrics) != len(c.LRs) {
		return fmt.Errorf("%d metrics for %d steps", len(c.Metrics), len(c.LRs))
	}
	opt, step, err := goldenScheduler(c)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	var failures []string
	for i, want := range c.LRs {
		for _, p := range opt.Params() {
			p.Grad = tensor.Ones(p.Data.Shape()...)
		}
		opt.Step()
		metric := math.NaN()
		if c.Op == "plateau" {
			metric = c.Metrics[i]
		}
		step(metric)
		// The rate is a float64 in PyTorch and here; the format's float32
		// tolerance applies.
		if got := opt.LR(); !(math.Abs(got-want) <= 1e-4+1e-3*math.Abs(want)) {
			failures = append(failures, fmt.Sprintf("step %d: lr %v, want %v", i+1, got, want))
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("mismatch:\n%s", strings.Join(failures, "\n"))
	}
	return nil
}

// TestGoldenScheduleRunnerStrict checks that the schedule runner fails on
// what it cannot honour rather than skipping it.
func TestGoldenScheduleRunnerStrict(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	cases := []struct {
		name string
		c    goldenCase
		want string
	}{
		{"unknown attr", goldenCase{Op: "step", Attrs: map[string]json.RawMessage{"step_size": raw("2"), "lr": raw("0.1"), "bogus": raw("1")}, LRs: []float64{0.1}}, "unknown attributes [bogus]"},
		{"unknown op", goldenCase{Op: "cyclic", Attrs: map[string]json.RawMessage{}, LRs: []float64{0.1}}, "unknown scheduler"},
		{"wrong lr", goldenCase{Op: "step", Attrs: map[string]json.RawMessage{"step_size": raw("1"), "gamma": raw("0.5"), "lr": raw("0.1")}, LRs: []float64{0.1}}, "lr 0.05, want 0.1"},
		{"bad value", goldenCase{Op: "cosine", Attrs: map[string]json.RawMessage{"T_max": raw("0")}, LRs: []float64{0.1}}, "T_max 0"},
		{"resumed", goldenCase{Op: "exponential", Attrs: map[string]json.RawMessage{"gamma": raw("0.5"), "last_epoch": raw("3")}, LRs: []float64{0.1}}, "last_epoch 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := runScheduleCase(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
