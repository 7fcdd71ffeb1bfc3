package optim

import (
	"math"
	"strings"
	"testing"
)

// TestScheduleConstructorErrors checks that every schedule constructor
// returns an error naming itself, rather than panicking, for a total that
// is zero, negative or came from an overflowed product, and for NaN or
// infinite rates.
func TestScheduleConstructorErrors(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	big := math.MaxInt / 2
	overflowed := big * 3 // what epochs·steps gives when it wraps
	cases := []struct {
		name string
		make func() (Schedule, error)
		want string
	}{
		{"StepLR zero", func() (Schedule, error) { return StepLR(0, 0.1) }, "optim.StepLR: step size 0"},
		{"StepLR NaN gamma", func() (Schedule, error) { return StepLR(1, nan) }, "optim.StepLR: gamma NaN"},
		{"MultiStepLR unsorted", func() (Schedule, error) { return MultiStepLR([]int{5, 2}, 0.1) }, "not increasing"},
		{"MultiStepLR Inf gamma", func() (Schedule, error) { return MultiStepLR([]int{1}, inf) }, "gamma +Inf"},
		{"ExponentialLR NaN", func() (Schedule, error) { return ExponentialLR(nan) }, "optim.ExponentialLR: gamma NaN"},
		{"Cosine zero", func() (Schedule, error) { return CosineAnnealingLR(0, 0) }, "optim.CosineAnnealingLR: T_max 0"},
		{"Cosine overflowed", func() (Schedule, error) { return CosineAnnealingLR(overflowed, 0) }, "T_max -"},
		{"Cosine NaN eta", func() (Schedule, error) { return CosineAnnealingLR(10, nan) }, "eta_min NaN"},
		{"LinearLR zero", func() (Schedule, error) { return LinearLR(0.1, 1, 0) }, "optim.LinearLR: total iters 0"},
		{"LinearLR NaN start", func() (Schedule, error) { return LinearLR(nan, 1, 3) }, "start factor NaN"},
		{"ConstantLR NaN", func() (Schedule, error) { return ConstantLR(nan, 3) }, "optim.ConstantLR: factor NaN"},
		{"ConstantLR negative", func() (Schedule, error) { return ConstantLR(0.5, -1) }, "total iters -1"},
		{"SequentialLR milestones", func() (Schedule, error) { return SequentialLR([]Schedule{must(ExponentialLR(1))}, []int{3}) }, "1 schedules need 0 milestones"},
		{"SequentialLR nil", func() (Schedule, error) { return SequentialLR([]Schedule{nil, nil}, []int{3}) }, "schedule 0 is nil"},
		{"OneCycleLR zero", func() (Schedule, error) { return OneCycleLR(1, 0) }, "optim.OneCycleLR: total steps 0"},
		{"OneCycleLR negative", func() (Schedule, error) { return OneCycleLR(1, -5) }, "total steps -5"},
		{"OneCycleLR NaN rate", func() (Schedule, error) { return OneCycleLR(nan, 10) }, "max_lr NaN"},
		{"OneCycleLR Inf div", func() (Schedule, error) { return OneCycleLR(1, 10, DivFactor(inf)) }, "div factors"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Schedule
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panicked: %v", r)
					}
				}()
				s, err = c.make()
			}()
			if err == nil || !strings.Contains(err.Error(), c.want) || s != nil {
				t.Fatalf("schedule %v, error %v; want no schedule and an error containing %q", s != nil, err, c.want)
			}
		})
	}
}

// TestTotalSteps checks the overflow-safe product of a run's length.
func TestTotalSteps(t *testing.T) {
	cases := []struct {
		epochs, steps, want int
		err                 string
	}{
		{3, 100, 300, ""},
		{1, math.MaxInt, math.MaxInt, ""},
		{0, 10, 0, "0 epochs of 10 steps, want both > 0"},
		{10, 0, 0, "want both > 0"},
		{-1, 10, 0, "want both > 0"},
		{math.MaxInt, 2, 0, "overflow"},
		{math.MaxInt / 1000, 1001, 0, "overflow"},
	}
	for _, c := range cases {
		got, err := TotalSteps(c.epochs, c.steps)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("TotalSteps(%d, %d) = %d, %v; want %d", c.epochs, c.steps, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("TotalSteps(%d, %d) = %d, %v; want an error containing %q", c.epochs, c.steps, got, err, c.err)
		}
	}
}

// TestMilestonesAtMaxInt checks that the milestone schedules count the
// milestones reached at the largest epoch instead of overflowing epoch+1
// and counting none.
func TestMilestonesAtMaxInt(t *testing.T) {
	ms := must(MultiStepLR([]int{2, 5}, 0.5))
	if got := ms(1, math.MaxInt); got != 0.25 {
		t.Errorf("MultiStepLR at MaxInt: %v, want 0.25", got)
	}
	seq := must(SequentialLR([]Schedule{must(ConstantLR(0.5, math.MaxInt)), must(ExponentialLR(1))}, []int{10}))
	if got := seq(1, math.MaxInt); got != 1 {
		t.Errorf("SequentialLR at MaxInt: %v, want the second schedule's 1", got)
	}
}

// TestOptimizerRejectsNonNumbers records the choice for optimisers: their
// constructors keep PyTorch's contract of refusing bad hyperparameters at
// construction, as a documented panic naming the optimiser and the value
// (programs taking values from users validate them first, as the backprop
// command does). NaN must never be accepted silently.
func TestOptimizerRejectsNonNumbers(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"sgd lr", func() { SGD(newParams(1), LR(nan)) }, "optim.SGD: invalid learning rate NaN"},
		{"sgd momentum", func() { SGD(newParams(1), Momentum(nan)) }, "optim.SGD: invalid momentum value: NaN"},
		{"sgd weight decay", func() { SGD(newParams(1), WeightDecay(nan)) }, "optim.SGD: invalid weight_decay value: NaN"},
		{"sgd dampening", func() { SGD(newParams(1), Dampening(nan)) }, "optim.SGD: invalid dampening value: NaN"},
		{"adam lr", func() { Adam(newParams(1), LR(nan)) }, "optim.Adam: invalid learning rate NaN"},
		{"adam beta", func() { Adam(newParams(1), Betas(nan, 0.9)) }, "optim.Adam: invalid beta parameter at index 0: NaN"},
		{"adam eps", func() { Adam(newParams(1), Eps(nan)) }, "optim.Adam: invalid epsilon value: NaN"},
		{"adamw weight decay", func() { AdamW(newParams(1), WeightDecay(nan)) }, "optim.AdamW: invalid weight_decay value: NaN"},
		{"rmsprop alpha", func() { RMSprop(newParams(1), Alpha(nan)) }, "optim.RMSprop: invalid alpha value: NaN"},
		{"rmsprop momentum", func() { RMSprop(newParams(1), Momentum(nan)) }, "optim.RMSprop: invalid momentum value: NaN"},
		{"adagrad lr decay", func() { Adagrad(newParams(1), LRDecay(nan)) }, "optim.Adagrad: invalid lr_decay value: NaN"},
		{"adagrad lr", func() { Adagrad(newParams(1), LR(nan)) }, "optim.Adagrad: invalid learning rate NaN"},
		{"plateau factor", func() { ReduceLROnPlateau(SGD(newParams(1)), Factor(nan)) }, "optim.ReduceLROnPlateau: factor NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, c.want) {
					t.Fatalf("panic %q, want one containing %q", msg, c.want)
				}
			}()
			c.f()
		})
	}
}
