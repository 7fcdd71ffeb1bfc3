package optim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// configs lists every optimiser with every state buffer switched on.
var configs = []struct {
	name string
	make func([]*autograd.Value) Optimizer
}{
	{"sgd", func(p []*autograd.Value) Optimizer { return SGD(p, LR(0.1)) }},
	{"sgd_momentum", func(p []*autograd.Value) Optimizer {
		return SGD(p, LR(0.1), Momentum(0.9), Dampening(0.1), WeightDecay(0.01))
	}},
	{"sgd_nesterov_max", func(p []*autograd.Value) Optimizer {
		return SGD(p, LR(0.1), Momentum(0.9), Nesterov(true), Maximize(true))
	}},
	{"adam", func(p []*autograd.Value) Optimizer { return Adam(p, LR(0.01), WeightDecay(0.1)) }},
	{"adam_amsgrad", func(p []*autograd.Value) Optimizer {
		return Adam(p, LR(0.01), AMSGrad(true), Betas(0.8, 0.9), Maximize(true))
	}},
	{"adamw_amsgrad", func(p []*autograd.Value) Optimizer { return AdamW(p, LR(0.01), AMSGrad(true)) }},
	{"rmsprop", func(p []*autograd.Value) Optimizer { return RMSprop(p) }},
	{"rmsprop_centered_momentum", func(p []*autograd.Value) Optimizer {
		return RMSprop(p, Centered(true), Momentum(0.5), WeightDecay(0.01), Alpha(0.9))
	}},
	{"adagrad", func(p []*autograd.Value) Optimizer {
		return Adagrad(p, LR(0.1), LRDecay(0.01), InitialAccumulator(0.1), WeightDecay(0.01))
	}},
}

func newParams(seed uint64) []*autograd.Value {
	r := rand.New(rand.NewPCG(seed, 7))
	mk := func(shape ...int) *autograd.Value {
		return autograd.Param(tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, shape...))
	}
	return []*autograd.Value{mk(3, 5), mk(5), mk(2, 2, 2)}
}

// setGrads gives every parameter a gradient that depends on the step, and
// leaves the second without one on every third step.
func setGrads(params []*autograd.Value, step int) {
	for i, p := range params {
		if i == 1 && step%3 == 0 {
			p.Grad = nil
			continue
		}
		if p.Grad == nil {
			p.Grad = tensor.ZerosLike(p.Data)
		}
		g := p.Grad.Data()
		for j := range g {
			g[j] = float32(math.Sin(float64(7*step+3*i+j))) + 0.1*p.Data.Data()[j]
		}
	}
}

func snapshot(params []*autograd.Value) [][]float32 {
	out := make([][]float32, len(params))
	for i, p := range params {
		out[i] = append([]float32(nil), p.Data.Data()...)
	}
	return out
}

// TestStateDictResume checks that 5 steps, a save, a fresh optimiser, a
// load and 5 more steps give the same bits as 10 straight steps.
func TestStateDictResume(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			straight := newParams(1)
			o := c.make(straight)
			for s := range 10 {
				setGrads(straight, s)
				o.Step()
			}

			resumed := newParams(1)
			o1 := c.make(resumed)
			for s := range 5 {
				setGrads(resumed, s)
				o1.Step()
			}
			sd := o1.StateDict()
			// Move the parameters to fresh Values, as loading a checkpoint would.
			fresh := make([]*autograd.Value, len(resumed))
			for i, p := range resumed {
				fresh[i] = autograd.Param(p.Data.Clone())
			}
			o2 := c.make(fresh)
			if err := o2.LoadStateDict(sd); err != nil {
				t.Fatal(err)
			}
			// The saved dict is a copy: stepping o1 further must not change it.
			before := sd
			sd = o1.StateDict()
			for k, v := range before {
				if !equalBits(v.Data(), sd[k].Data()) {
					t.Fatalf("StateDict shares %s with the optimiser", k)
				}
			}
			for s := 5; s < 10; s++ {
				setGrads(fresh, s)
				o2.Step()
			}
			want, got := snapshot(straight), snapshot(fresh)
			for i := range want {
				if !equalBits(want[i], got[i]) {
					t.Fatalf("param %d after resume:\n got %v\nwant %v", i, got[i], want[i])
				}
			}
			if sd2, sd10 := o2.StateDict(), o.StateDict(); len(sd2) != len(sd10) {
				t.Fatalf("state dict sizes %d and %d", len(sd2), len(sd10))
			} else {
				for k, v := range sd10 {
					if w, ok := sd2[k]; !ok || !equalBits(v.Data(), w.Data()) {
						t.Fatalf("state %s differs after resume", k)
					}
				}
			}
		})
	}
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestStateDictNames(t *testing.T) {
	params := newParams(2)
	o := Adam(params, AMSGrad(true))
	if n := len(o.StateDict()); n != 0 {
		t.Fatalf("fresh Adam has %d state entries, want 0", n)
	}
	params[0].Grad = tensor.Ones(3, 5)
	o.Step()
	sd := o.StateDict()
	want := []string{"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq"}
	if len(sd) != len(want) {
		t.Fatalf("keys %v, want %v", keys(sd), want)
	}
	for _, k := range want {
		if sd[k] == nil {
			t.Fatalf("missing %s in %v", k, keys(sd))
		}
	}
	if s := sd["state.0.step"]; len(s.Shape()) != 0 || s.Item() != 1 {
		t.Fatalf("step %v, want scalar 1", s)
	}
	// Adagrad's state exists from construction, as in PyTorch.
	ag := Adagrad(newParams(2), InitialAccumulator(0.5))
	sd = ag.StateDict()
	if len(sd) != 6 || sd["state.2.sum"].Data()[0] != 0.5 || sd["state.1.step"].Item() != 0 {
		t.Fatalf("Adagrad state %v", keys(sd))
	}
	// SGD without momentum has no state.
	if n := len(SGD(newParams(2)).StateDict()); n != 0 {
		t.Fatalf("SGD without momentum has %d state entries", n)
	}
}

func keys(m map[string]*tensor.Tensor) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestLoadStateDictErrors(t *testing.T) {
	params := newParams(3)
	o := Adam(params)
	setGrads(params, 1)
	o.Step()
	good := o.StateDict()
	cases := []struct {
		name string
		edit func(m map[string]*tensor.Tensor)
		want []string
	}{
		{"missing", func(m map[string]*tensor.Tensor) { delete(m, "state.0.exp_avg_sq") }, []string{"missing keys state.0.exp_avg_sq"}},
		{"unexpected", func(m map[string]*tensor.Tensor) {
			m["state.0.momentum_buffer"] = tensor.Zeros(3, 5)
			m["state.9.step"] = tensor.Scalar(1)
			m["param_groups.0.lr"] = tensor.Scalar(1)
		}, []string{"unexpected keys param_groups.0.lr, state.0.momentum_buffer, state.9.step"}},
		{"shape", func(m map[string]*tensor.Tensor) { m["state.2.exp_avg"] = tensor.Zeros(8) }, []string{"key state.2.exp_avg has shape [8], want [2 2 2]"}},
		{"step", func(m map[string]*tensor.Tensor) { m["state.0.step"] = tensor.Scalar(1.5) }, []string{"key state.0.step holds 1.5"}},
		{"partial", func(m map[string]*tensor.Tensor) {
			for k := range m {
				if strings.HasPrefix(k, "state.1.") && k != "state.1.step" {
					delete(m, k)
				}
			}
		}, []string{"missing keys state.1.exp_avg, state.1.exp_avg_sq"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]*tensor.Tensor{}
			for k, v := range good {
				m[k] = v
			}
			c.edit(m)
			before := o.StateDict()
			err := o.LoadStateDict(m)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
			after := o.StateDict()
			for k, v := range before {
				if !equalBits(v.Data(), after[k].Data()) {
					t.Fatalf("failed load changed %s", k)
				}
			}
		})
	}
	// Adagrad's state must be complete.
	ag := Adagrad(newParams(3))
	sd := ag.StateDict()
	delete(sd, "state.1.sum")
	delete(sd, "state.1.step")
	if err := ag.LoadStateDict(sd); err == nil || !strings.Contains(err.Error(), "missing keys state.1.step, state.1.sum") {
		t.Fatalf("Adagrad partial load: %v", err)
	}
}

// TestStepAllocs checks that Step allocates nothing once the state exists.
func TestStepAllocs(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			params := newParams(4)
			o := c.make(params)
			setGrads(params, 1)
			o.Step()
			if n := testing.AllocsPerRun(100, o.Step); n != 0 {
				t.Fatalf("Step allocates %v times", n)
			}
		})
	}
	params := newParams(4)
	setGrads(params, 1)
	if n := testing.AllocsPerRun(100, func() { ClipGradNorm(params, 1e9, 2) }); n != 0 {
		t.Fatalf("ClipGradNorm allocates %v times", n)
	}
}

// TestNilGradSkips checks that a parameter without a gradient is left alone
// and its state does not advance.
func TestNilGradSkips(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			params := newParams(5)
			o := c.make(params)
			before := snapshot(params)
			setGrads(params, 3) // params[1] gets no gradient
			o.Step()
			if !equalBits(before[1], params[1].Data.Data()) {
				t.Fatal("parameter without gradient changed")
			}
			if equalBits(before[0], params[0].Data.Data()) {
				t.Fatal("parameter with gradient unchanged")
			}
			for k, v := range o.StateDict() {
				if k == "state.1.step" && v.Item() != 0 {
					t.Fatalf("step of skipped parameter is %v", v.Item())
				}
			}
		})
	}
}

func TestZeroGradAndLR(t *testing.T) {
	params := newParams(6)
	setGrads(params, 1)
	o := AdamW(params, LR(0.5))
	o.ZeroGrad()
	for i, p := range params {
		if p.Grad != nil {
			t.Fatalf("param %d Grad not nil after ZeroGrad", i)
		}
	}
	if o.LR() != 0.5 {
		t.Fatalf("LR %v", o.LR())
	}
	o.SetLR(0.25)
	if o.LR() != 0.25 || len(o.Params()) != 3 || o.Params()[2] != params[2] {
		t.Fatal("SetLR or Params")
	}
}

// TestUpdateRules checks one element of each update against the formula
// worked by hand (in float64, so with a loose tolerance).
func TestUpdateRules(t *testing.T) {
	one := func(theta, grad float32) []*autograd.Value {
		p := autograd.Param(tensor.New([]float32{theta}, 1))
		p.Grad = tensor.New([]float32{grad}, 1)
		return []*autograd.Value{p}
	}
	cases := []struct {
		name  string
		make  func([]*autograd.Value) Optimizer
		steps int
		want  float64
	}{
		// θ=1, g=0.5 every step.
		{"sgd", func(p []*autograd.Value) Optimizer { return SGD(p, LR(0.1)) }, 1, 1 - 0.1*0.5},
		// b1 = 0.5+0.1 = 0.6, θ1 = 1-0.06 = 0.94; g2 = 0.5+0.1*0.94 = 0.594, b2 = 0.54+0.594, θ2 = 0.94-0.1134.
		{"sgd_momentum_wd", func(p []*autograd.Value) Optimizer { return SGD(p, LR(0.1), Momentum(0.9), WeightDecay(0.1)) }, 2, 0.94 - 0.1*(0.9*0.6+0.594)},
		// first step copies g into b (no dampening): b1 = 0.5, θ1 = 0.95; b2 = 0.45 + 0.5·0.5.
		{"sgd_dampening", func(p []*autograd.Value) Optimizer { return SGD(p, LR(0.1), Momentum(0.9), Dampening(0.5)) }, 2, 0.95 - 0.1*0.7},
		// maximize negates g before weight decay: d = −0.5 + 0.1.
		{"sgd_maximize_wd", func(p []*autograd.Value) Optimizer { return SGD(p, LR(0.1), WeightDecay(0.1), Maximize(true)) }, 1, 1.04},
		// m̂ = g, v̂ = g², so the first Adam step is lr·g/(|g|+ε) ≈ lr.
		{"adam", func(p []*autograd.Value) Optimizer { return Adam(p, LR(0.01)) }, 1, 1 - 0.01*0.5/(0.5+1e-8)},
		{"adam_max", func(p []*autograd.Value) Optimizer { return Adam(p, LR(0.01), Maximize(true)) }, 1, 1 + 0.01*0.5/(0.5+1e-8)},
		// AdamW: θ·(1-lr·λ) then the Adam step.
		{"adamw", func(p []*autograd.Value) Optimizer { return AdamW(p, LR(0.01), WeightDecay(0.1)) }, 1, 1*(1-0.001) - 0.01},
		// v = 0.01·0.25, θ = 1 - 0.01·0.5/(0.05+1e-8).
		{"rmsprop", func(p []*autograd.Value) Optimizer { return RMSprop(p) }, 1, 1 - 0.01*0.5/(math.Sqrt(0.0025)+1e-8)},
		// centered: ḡ = 0.005, v = 0.0025, s = √(0.0025-0.000025).
		{"rmsprop_centered", func(p []*autograd.Value) Optimizer { return RMSprop(p, Centered(true)) }, 1, 1 - 0.01*0.5/math.Sqrt(0.0025-0.000025)},
		// s = 0.1+0.25, θ = 1 - 0.1·0.5/√0.35.
		{"adagrad", func(p []*autograd.Value) Optimizer { return Adagrad(p, LR(0.1), InitialAccumulator(0.1)) }, 1, 1 - 0.1*0.5/math.Sqrt(0.35)},
		// second step uses lr/(1+η): s = 0.25, then 0.5.
		{"adagrad_decay", func(p []*autograd.Value) Optimizer { return Adagrad(p, LR(0.1), LRDecay(1)) }, 2, 1 - 0.1*0.5/0.5 - 0.05*0.5/math.Sqrt(0.5)},
	}
	for _, c := range cases {
		params := one(1, 0.5)
		o := c.make(params)
		for range c.steps {
			o.Step()
		}
		if got := float64(params[0].Data.Data()[0]); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("%s: θ = %.9g, want %.9g", c.name, got, c.want)
		}
	}
}

// TestAMSGrad uses a falling gradient so that the running maximum of v is
// not v: with β2 = 0.5, v1 = 0.5 and v2 = 0.255, so step 2 divides by √0.5.
func TestAMSGrad(t *testing.T) {
	p := autograd.Param(tensor.New([]float32{1}, 1))
	o := Adam([]*autograd.Value{p}, LR(0.01), Betas(0.9, 0.5), AMSGrad(true))
	for _, g := range []float32{1, 0.1} {
		p.Grad = tensor.New([]float32{g}, 1)
		o.Step()
	}
	theta1 := 1 - 0.01/(1+1e-8)
	want := theta1 - 0.01/0.19*0.1/(math.Sqrt(0.5)/math.Sqrt(0.75)+1e-8)
	if got := float64(p.Data.Data()[0]); math.Abs(got-want) > 1e-6 {
		t.Fatalf("θ = %.9g, want %.9g", got, want)
	}
	if v := o.StateDict()["state.0.max_exp_avg_sq"].Data()[0]; v != 0.5 {
		t.Fatalf("max_exp_avg_sq %v, want 0.5", v)
	}
}

func TestOptionPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"sgd betas", func() { SGD(newParams(1), Betas(0.9, 0.99)) }, "optim.SGD: option Betas does not apply"},
		{"adam momentum", func() { Adam(newParams(1), Momentum(0.9)) }, "optim.Adam: option Momentum does not apply"},
		{"adagrad centered", func() { Adagrad(newParams(1), Centered(true)) }, "optim.Adagrad: option Centered does not apply"},
		{"rmsprop amsgrad", func() { RMSprop(newParams(1), AMSGrad(true)) }, "optim.RMSprop: option AMSGrad does not apply"},
		{"plateau lr", func() { ReduceLROnPlateau(SGD(newParams(1)), LR(1)) }, "optim.ReduceLROnPlateau: option LR does not apply"},
		{"onecycle patience", func() { _, _ = OneCycleLR(1, 10, Patience(3)) }, "optim.OneCycleLR: option Patience does not apply"},
		{"negative lr", func() { Adam(newParams(1), LR(-1)) }, "invalid learning rate"},
		{"beta", func() { AdamW(newParams(1), Betas(1, 0.9)) }, "optim.AdamW: invalid beta parameter at index 0"},
		{"nesterov", func() { SGD(newParams(1), Nesterov(true)) }, "Nesterov momentum requires a momentum"},
		{"duplicate", func() { p := newParams(1); SGD(append(p, p[0])) }, "parameter 3 repeats parameter 0"},
		{"grad shape", func() {
			p := newParams(1)
			p[0].Grad = tensor.Zeros(5, 3)
			SGD(p).Step()
		}, "optim.SGD.Step: parameter 0 has shape [3 5] but its gradient has shape [5 3]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if msg, _ := r.(string); !strings.Contains(msg, c.want) {
					t.Fatalf("panic %q, want it to contain %q", r, c.want)
				}
			}()
			c.f()
		})
	}
}
