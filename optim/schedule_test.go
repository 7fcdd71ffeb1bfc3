package optim

import (
	"math"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

func oneParam() []*autograd.Value { return []*autograd.Value{autograd.Param(tensor.Zeros(1))} }

// TestSchedules checks each schedule, driven through an LRScheduler, at
// several epochs against values worked by hand from PyTorch's formulas.
func TestSchedules(t *testing.T) {
	cases := []struct {
		name     string
		base     float64
		schedule Schedule
		want     map[int]float64 // epoch → lr
	}{
		{"StepLR", 1, must(StepLR(2, 0.1)), map[int]float64{0: 1, 1: 1, 2: 0.1, 3: 0.1, 4: 0.01, 5: 0.01}},
		{"MultiStepLR", 1, must(MultiStepLR([]int{2, 5}, 0.5)), map[int]float64{0: 1, 1: 1, 2: 0.5, 4: 0.5, 5: 0.25, 9: 0.25}},
		{"ExponentialLR", 2, must(ExponentialLR(0.9)), map[int]float64{0: 2, 1: 1.8, 3: 1.458}},
		{"CosineAnnealingLR", 1, must(CosineAnnealingLR(10, 0.1)), map[int]float64{
			0: 1, 2: 0.9140576474687263, 5: 0.55, 10: 0.1, 15: 0.55, 20: 1}},
		{"LinearLR", 0.4, must(LinearLR(0.25, 1, 4)), map[int]float64{0: 0.1, 1: 0.175, 2: 0.25, 4: 0.4, 10: 0.4}},
		{"ConstantLR", 0.3, must(ConstantLR(0.5, 2)), map[int]float64{0: 0.15, 1: 0.15, 2: 0.3, 7: 0.3}},
		{"SequentialLR warm-up", 1, must(SequentialLR([]Schedule{must(LinearLR(0.1, 1, 2)), must(StepLR(1, 0.5))}, []int{2})),
			map[int]float64{0: 0.1, 1: 0.55, 2: 1, 3: 0.5, 4: 0.25}},
		// initial 1/25 = 0.04, final 0.04/1e4 = 4e-6; phase ends at steps 2 and 9.
		{"OneCycleLR", 123, must(OneCycleLR(1, 10)), map[int]float64{
			0: 0.04, 1: 0.52, 2: 1, 5: 0.6112620219362893, 9: 4e-6, 10: 0.04951936798652623}},
		// three phases end at steps 2, 4 and 9.
		{"OneCycleLR three-phase", 0, must(OneCycleLR(1, 10, ThreePhase(true))), map[int]float64{
			0: 0.04, 2: 1, 3: 0.52, 4: 0.04, 9: 4e-6}},
		{"OneCycleLR linear", 0, must(OneCycleLR(1, 10, Anneal(AnnealLinear), PctStart(0.5), DivFactor(10), FinalDivFactor(100))), map[int]float64{
			// initial 0.1, final 0.001; phase ends at steps 4 and 9.
			0: 0.1, 2: 0.55, 4: 1, 9: 0.001, 6: 1 + (0.001-1)*0.4}},
		{"LambdaLR", 2, func(base float64, e int) float64 { return base / float64(e+1) }, map[int]float64{0: 2, 3: 0.5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			last := 0
			for e := range c.want {
				last = max(last, e)
			}
			opt := SGD(oneParam(), LR(c.base))
			s := NewScheduler(opt, c.schedule)
			for e := 0; e <= last; e++ {
				if e > 0 {
					s.Step()
				}
				if s.Epoch() != e || opt.LR() != s.LR() {
					t.Fatalf("epoch %d: Epoch() %d, optimiser lr %v, scheduler lr %v", e, s.Epoch(), opt.LR(), s.LR())
				}
				if want, ok := c.want[e]; ok && math.Abs(s.LR()-want) > 1e-12*max(1, math.Abs(want)) {
					t.Errorf("epoch %d: lr %.17g, want %.17g", e, s.LR(), want)
				}
			}
		})
	}
}

func TestOneCyclePastEnd(t *testing.T) {
	s := NewScheduler(SGD(oneParam()), must(OneCycleLR(1, 3)))
	for range 3 {
		s.Step()
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "tried to step 4 times") {
			t.Fatalf("panic %v", r)
		}
	}()
	s.Step()
}

func TestSchedulerResume(t *testing.T) {
	mk := func() (*SGDOptimizer, *LRScheduler) {
		o := SGD(oneParam(), LR(0.1))
		return o, NewScheduler(o, must(SequentialLR([]Schedule{must(LinearLR(0.1, 1, 3)), must(CosineAnnealingLR(7, 0.001))}, []int{3})))
	}
	_, a := mk()
	for range 6 {
		a.Step()
	}
	sd := a.StateDict()
	o2, b := mk()
	if err := b.LoadStateDict(sd); err != nil {
		t.Fatal(err)
	}
	if o2.LR() != a.LR() || b.Epoch() != 6 {
		t.Fatalf("after load lr %v epoch %d, want %v 6", o2.LR(), b.Epoch(), a.LR())
	}
	for range 3 {
		a.Step()
		b.Step()
		if a.LR() != b.LR() {
			t.Fatalf("resumed lr %v, want %v", b.LR(), a.LR())
		}
	}
	if err := b.LoadStateDict(map[string]float64{"last_epoch": 1, "lr": 2}); err == nil ||
		!strings.Contains(err.Error(), "missing keys base_lr; unexpected keys lr") {
		t.Fatalf("strict load: %v", err)
	}
}

// TestPlateau walks ReduceLROnPlateau through reductions, patience,
// cooldown, thresholds and the floor.
func TestPlateau(t *testing.T) {
	cases := []struct {
		name    string
		opts    []Option
		metrics []float64
		want    []float64 // lr after each Step
	}{
		{"patience and cooldown", []Option{Patience(2), Factor(0.5), Cooldown(1)},
			[]float64{10, 10, 10, 10, 10, 10, 10, 10},
			// bad epochs: 0,1,2,3→cut (cooldown 1), cooldown eats one, 1, 2, 3→cut.
			[]float64{1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25}},
		{"improvement resets", []Option{Patience(1)},
			[]float64{5, 6, 4, 4.5, 4.2, 3},
			// 5 best; 6 bad1; 4 best; 4.5 bad1; 4.2 bad2→cut; 3 best.
			[]float64{1, 1, 1, 1, 0.1, 0.1}},
		{"relative threshold", []Option{Patience(0), Threshold(0.1)},
			[]float64{10, 9.5, 8.9},
			// 9.5 is not below 10·0.9 → cut; 8.9 is below 9.
			[]float64{1, 0.1, 0.1}},
		{"max abs", []Option{Mode(ModeMax), ThresholdMode(ThresholdAbs), Threshold(0.5), Patience(0)},
			[]float64{1, 1.4, 1.6, 2.2},
			// 1.4 not above 1.5 → cut; 1.6 above 1.5 best; 2.2 above 2.1 best.
			[]float64{1, 0.1, 0.1, 0.1}},
		{"min lr and eps", []Option{Patience(0), MinLR(0.05), Eps(0.01)},
			[]float64{1, 1, 1, 1},
			// 1 → 0.1 → 0.05 (floor); then 0.05 − 0.05 = 0 ≤ eps: no change.
			[]float64{1, 0.1, 0.05, 0.05}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := SGD(oneParam(), LR(1))
			p := ReduceLROnPlateau(opt, c.opts...)
			for i, m := range c.metrics {
				p.Step(m)
				if math.Abs(p.LR()-c.want[i]) > 1e-15 {
					t.Fatalf("after metric %d (%v): lr %v, want %v", i, m, p.LR(), c.want[i])
				}
			}
		})
	}
}

func TestPlateauResume(t *testing.T) {
	mk := func() (*SGDOptimizer, *Plateau) {
		o := SGD(oneParam(), LR(1))
		return o, ReduceLROnPlateau(o, Patience(1), Cooldown(2), Factor(0.5))
	}
	metrics := []float64{3, 3, 3, 2, 3, 3, 3, 3, 3, 1, 3, 3}
	_, a := mk()
	for _, m := range metrics[:5] {
		a.Step(m)
	}
	o2, b := mk()
	if err := b.LoadStateDict(a.StateDict()); err != nil {
		t.Fatal(err)
	}
	if o2.LR() != a.LR() {
		t.Fatalf("lr %v after load, want %v", o2.LR(), a.LR())
	}
	for _, m := range metrics[5:] {
		a.Step(m)
		b.Step(m)
		if a.LR() != b.LR() {
			t.Fatalf("resumed lr %v, want %v", b.LR(), a.LR())
		}
	}
	if err := b.LoadStateDict(map[string]float64{"best": 1}); err == nil || !strings.Contains(err.Error(), "missing keys") {
		t.Fatalf("strict load: %v", err)
	}
}

// must unwraps a schedule constructor's result in tests whose arguments are
// known to be valid.
func must(s Schedule, err error) Schedule {
	if err != nil {
		panic(err)
	}
	return s
}
