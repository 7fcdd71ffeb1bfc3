package optim

import (
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// fingerprint steps o 20 times with setGrads and hashes every parameter and
// state tensor bit for bit.
func fingerprint(o Optimizer, params []*autograd.Value) uint64 {
	h := fnv.New64a()
	put := func(v float32) {
		b := math.Float32bits(v)
		h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)})
	}
	for s := 1; s <= 20; s++ {
		setGrads(params, s)
		o.Step()
	}
	for _, p := range o.Params() {
		for _, v := range p.Data.Data() {
			put(v)
		}
	}
	sd := o.StateDict()
	var ks []string
	for k := range sd {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		h.Write([]byte(k))
		for _, v := range sd[k].Data() {
			put(v)
		}
	}
	return h.Sum64()
}

// TestOneGroupUnchanged checks that an optimiser over a plain list gives
// the same parameters and state, bit for bit, as before parameter groups
// existed (the hashes were taken from the code before the change), and that
// a list of one group gives the same again.
func TestOneGroupUnchanged(t *testing.T) {
	before := map[string]uint64{
		"sgd":                       0x95c8554b13a00a4e,
		"sgd_momentum":              0x21c0b6acc9ea07f5,
		"sgd_nesterov_max":          0xa94d1da55f532664,
		"adam":                      0x8983fb0ba97dda05,
		"adam_amsgrad":              0xda7fcb0561f28245,
		"adamw_amsgrad":             0x47e0112a5502c214,
		"rmsprop":                   0xf949a170b837d177,
		"rmsprop_centered_momentum": 0x474475471cfb8a4f,
		"adagrad":                   0xb558a8e44969e936,
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			p := newParams(1)
			if got := fingerprint(c.make(p), p); got != before[c.name] {
				t.Fatalf("hash %#x, before groups %#x", got, before[c.name])
			}
		})
	}
	p := newParams(1)
	o := Adam(Groups(ParamGroup(p)), LR(0.01), WeightDecay(0.1))
	if got := fingerprint(o, p); got != before["adam"] {
		t.Fatalf("one group: hash %#x, plain list %#x", got, before["adam"])
	}
}

// TestGroupsMatchSeparateOptimizers checks, for every optimiser and option
// that can differ per group, that each group of a two-group optimiser
// updates its parameters and state exactly as a one-group optimiser with
// the group's options would (the one-group updates are checked against
// PyTorch by the golden test).
func TestGroupsMatchSeparateOptimizers(t *testing.T) {
	type ctor func(p []Group, opts ...Option) Optimizer
	cases := []struct {
		name   string
		make   ctor
		common []Option
		a, b   []Option // the groups' own options
		single func(p []*autograd.Value, opts ...Option) Optimizer
	}{
		{"sgd", func(p []Group, o ...Option) Optimizer { return SGD(p, o...) },
			[]Option{LR(0.1)}, []Option{Momentum(0.9), WeightDecay(0.01)}, []Option{LR(0.01), Nesterov(false), Maximize(true)},
			func(p []*autograd.Value, o ...Option) Optimizer { return SGD(p, o...) }},
		{"adam", func(p []Group, o ...Option) Optimizer { return Adam(p, o...) },
			[]Option{LR(0.01)}, []Option{AMSGrad(true), Betas(0.8, 0.9)}, []Option{LR(0.001), WeightDecay(0.1), Eps(1e-6)},
			func(p []*autograd.Value, o ...Option) Optimizer { return Adam(p, o...) }},
		{"adamw", func(p []Group, o ...Option) Optimizer { return AdamW(p, o...) },
			[]Option{LR(0.01), WeightDecay(0.05)}, nil, []Option{WeightDecay(0)},
			func(p []*autograd.Value, o ...Option) Optimizer { return AdamW(p, o...) }},
		{"rmsprop", func(p []Group, o ...Option) Optimizer { return RMSprop(p, o...) },
			nil, []Option{Centered(true), Momentum(0.5)}, []Option{Alpha(0.9), LR(0.1)},
			func(p []*autograd.Value, o ...Option) Optimizer { return RMSprop(p, o...) }},
		{"adagrad", func(p []Group, o ...Option) Optimizer { return Adagrad(p, o...) },
			[]Option{LR(0.1)}, []Option{LRDecay(0.01), InitialAccumulator(0.1)}, []Option{WeightDecay(0.01)},
			func(p []*autograd.Value, o ...Option) Optimizer { return Adagrad(p, o...) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			grouped := newParams(3)
			opt := c.make(Groups(ParamGroup(grouped[:2], c.a...), ParamGroup(grouped[2:], c.b...)), c.common...)
			sepA, sepB := newParams(3), newParams(3)
			optA := c.single(sepA[:2], append(append([]Option(nil), c.common...), c.a...)...)
			optB := c.single(sepB[2:], append(append([]Option(nil), c.common...), c.b...)...)
			for s := 1; s <= 12; s++ {
				setGrads(grouped, s)
				setGrads(sepA, s)
				setGrads(sepB, s)
				opt.Step()
				optA.Step()
				optB.Step()
			}
			want := append(snapshot(sepA[:2]), snapshot(sepB[2:])...)
			if got := snapshot(grouped); !equalSnapshots(got, want) {
				t.Fatalf("grouped parameters differ from separate optimisers")
			}
			sd, sdA, sdB := opt.StateDict(), optA.StateDict(), optB.StateDict()
			for k, v := range sdA {
				if sd[k] == nil || !equalBits(sd[k].Data(), v.Data()) {
					t.Fatalf("state %s differs", k)
				}
			}
			for k, v := range sdB { // optB's parameter 0 is the grouped one's 2
				k2 := strings.Replace(k, "state.0.", "state.2.", 1)
				if sd[k2] == nil || !equalBits(sd[k2].Data(), v.Data()) {
					t.Fatalf("state %s (%s) differs", k2, k)
				}
			}
			if n := len(sd); n != len(sdA)+len(sdB)+2 {
				t.Fatalf("%d state entries, want %d", n, len(sdA)+len(sdB)+2)
			}
		})
	}
}

func equalSnapshots(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalBits(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestGroupUpdateByHand checks a two-group SGD step and a two-group AdamW
// step against the update rules written out: per-group rate and decay.
func TestGroupUpdateByHand(t *testing.T) {
	w := autograd.Param(tensor.New([]float32{1, -2}, 1, 2))
	b := autograd.Param(tensor.New([]float32{0.5}, 1))
	w.Grad = tensor.New([]float32{0.25, 0.5}, 1, 2)
	b.Grad = tensor.New([]float32{-1}, 1)
	o := SGD(Groups(ParamGroup([]*autograd.Value{w}, WeightDecay(0.5)), ParamGroup([]*autograd.Value{b}, LR(0.01))), LR(0.1))
	o.Step()
	// w ← w − 0.1·(g + 0.5·w); b ← b − 0.01·g.
	wantW := []float64{1 - 0.1*(0.25+0.5*1), -2 - 0.1*(0.5+0.5*-2)}
	wantB := 0.5 - 0.01*-1
	for i, v := range w.Data.Data() {
		if math.Abs(float64(v)-wantW[i]) > 1e-6 {
			t.Fatalf("SGD w[%d] = %v, want %v", i, v, wantW[i])
		}
	}
	if v := b.Data.Data()[0]; math.Abs(float64(v)-wantB) > 1e-6 {
		t.Fatalf("SGD b = %v, want %v", v, wantB)
	}

	// AdamW's first step moves each weight by lr·g/(|g|+ε) ≈ lr·sign(g)
	// after decaying it by 1 − lr·λ; the second group has no decay.
	w = autograd.Param(tensor.New([]float32{1, -2}, 1, 2))
	b = autograd.Param(tensor.New([]float32{0.5}, 1))
	w.Grad = tensor.New([]float32{0.25, -0.5}, 1, 2)
	b.Grad = tensor.New([]float32{2}, 1)
	decay, noDecay := SplitDecay([]*autograd.Value{w, b})
	a := AdamW(Groups(ParamGroup(decay, WeightDecay(0.1)), ParamGroup(noDecay, WeightDecay(0), LR(0.5))), LR(0.01))
	a.Step()
	wantW = []float64{1*(1-0.01*0.1) - 0.01, -2*(1-0.01*0.1) + 0.01}
	wantB = 0 // 0.5 − 0.5·sign(2), no decay
	for i, v := range w.Data.Data() {
		if math.Abs(float64(v)-wantW[i]) > 1e-6 {
			t.Fatalf("AdamW w[%d] = %v, want %v", i, v, wantW[i])
		}
	}
	if v := b.Data.Data()[0]; math.Abs(float64(v)-wantB) > 1e-6 {
		t.Fatalf("AdamW b = %v, want %v", v, wantB)
	}
}

func TestSplitDecay(t *testing.T) {
	w := autograd.Param(tensor.Zeros(4, 3))
	bias := autograd.Param(tensor.Zeros(4))
	kernel := autograd.Param(tensor.Zeros(2, 1, 3, 3))
	gamma := autograd.Param(tensor.Zeros(2))
	scalar := autograd.Param(tensor.Scalar(1))
	decay, noDecay := SplitDecay([]*autograd.Value{w, bias, kernel, gamma, scalar})
	if len(decay) != 2 || decay[0] != w || decay[1] != kernel {
		t.Fatalf("decay %v", decay)
	}
	if len(noDecay) != 3 || noDecay[0] != bias || noDecay[1] != gamma || noDecay[2] != scalar {
		t.Fatalf("no decay %v", noDecay)
	}
}

// TestFrozenSkipped checks that a parameter with requires-grad off is not
// updated and gets no state, even when a stale gradient is attached.
func TestFrozenSkipped(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			params := newParams(4)
			frozen := params[0]
			frozen.SetRequiresGrad(false)
			before := append([]float32(nil), frozen.Data.Data()...)
			o := c.make(params)
			eagerKeys := len(o.StateDict())
			for s := 1; s <= 3; s++ {
				setGrads(params, s)
				o.Step()
			}
			if !equalBits(frozen.Data.Data(), before) {
				t.Fatal("frozen parameter changed")
			}
			for k, v := range o.StateDict() {
				if strings.HasPrefix(k, "state.0.") && eagerKeys == 0 {
					t.Fatalf("frozen parameter has state %s", k)
				}
				if k == "state.0.step" && v.Item() != 0 {
					t.Fatalf("frozen parameter stepped %v times", v.Item())
				}
			}
		})
	}
}

// TestGroupStateDict checks that a two-group optimiser saves its groups,
// resumes bit for bit, and refuses a state of other groups.
func TestGroupStateDict(t *testing.T) {
	mk := func(p []*autograd.Value) *AdamOptimizer {
		return Adam(Groups(ParamGroup(p[:1], AMSGrad(true)), ParamGroup(p[1:], LR(0.1))), LR(0.01))
	}
	ref := newParams(5)
	o := mk(ref)
	for s := 1; s <= 10; s++ {
		setGrads(ref, s)
		o.Step()
	}

	p1 := newParams(5)
	o1 := mk(p1)
	for s := 1; s <= 5; s++ {
		setGrads(p1, s)
		o1.Step()
	}
	sd := o1.StateDict()
	if g := sd["param_groups.1.params"]; g == nil || !equalBits(g.Data(), []float32{1, 2}) {
		t.Fatalf("param_groups.1.params = %v", g)
	}
	if sd["state.0.max_exp_avg_sq"] == nil || sd["state.1.max_exp_avg_sq"] != nil {
		t.Fatalf("AMSGrad buffer in the wrong group: %v", keys(sd))
	}
	p2 := snapshot(p1)
	params2 := newParams(5)
	for i, p := range params2 {
		copy(p.Data.Data(), p2[i])
	}
	o2 := mk(params2)
	if err := o2.LoadStateDict(sd); err != nil {
		t.Fatal(err)
	}
	for s := 6; s <= 10; s++ {
		setGrads(params2, s)
		o2.Step()
	}
	if !equalSnapshots(snapshot(params2), snapshot(ref)) {
		t.Fatal("resumed two-group run differs from the uninterrupted one")
	}

	// A one-group optimiser refuses two groups' state, and the reverse; a
	// different split is refused too.
	if err := Adam(newParams(5), AMSGrad(true)).LoadStateDict(sd); err == nil || !strings.Contains(err.Error(), "unexpected keys param_groups.1.params") {
		t.Fatalf("one group loading two: %v", err)
	}
	old := Adam(newParams(5))
	setGrads(old.Params(), 1)
	old.Step()
	if err := mk(newParams(5)).LoadStateDict(old.StateDict()); err == nil || !strings.Contains(err.Error(), "the state has one parameter group, the optimiser 2") {
		t.Fatalf("two groups loading one: %v", err)
	}
	p3 := newParams(5)
	other := Adam(Groups(ParamGroup(p3[:2], AMSGrad(true)), ParamGroup(p3[2:])))
	if err := other.LoadStateDict(sd); err == nil || !strings.Contains(err.Error(), "param_groups.0.params holds parameters [0]") {
		t.Fatalf("other split: %v", err)
	}
	// A one-group state (as before groups) loads into a one-group optimiser.
	if err := Adam(newParams(5)).LoadStateDict(old.StateDict()); err != nil {
		t.Fatal(err)
	}
}

func TestGroupAccessorsAndPanics(t *testing.T) {
	p := newParams(6)
	o := SGD(Groups(ParamGroup(p[:2]), ParamGroup(p[2:], LR(0.5))), LR(0.1))
	if o.NumGroups() != 2 || len(o.GroupParams(0)) != 2 || o.GroupParams(1)[0] != p[2] || len(o.Params()) != 3 {
		t.Fatalf("groups %d, sizes %d %d", o.NumGroups(), len(o.GroupParams(0)), len(o.GroupParams(1)))
	}
	if o.LR() != 0.1 || o.GroupLR(1) != 0.5 {
		t.Fatalf("rates %v %v", o.LR(), o.GroupLR(1))
	}
	o.SetGroupLR(1, 0.25)
	if o.GroupLR(0) != 0.1 || o.GroupLR(1) != 0.25 {
		t.Fatalf("SetGroupLR: %v", GroupLRs(o))
	}
	o.SetLR(0.3)
	if o.GroupLR(0) != 0.3 || o.GroupLR(1) != 0.3 {
		t.Fatalf("SetLR: %v", GroupLRs(o))
	}
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"repeat across groups", func() { SGD(Groups(ParamGroup(p[:2]), ParamGroup(p[1:]))) }, "optim.SGD (param group 1): parameter 2 repeats parameter 1"},
		{"group option", func() { Adam(Groups(ParamGroup(p[:1]), ParamGroup(p[1:], Momentum(0.9)))) }, "optim.Adam (param group 1): option Momentum does not apply"},
		{"group value", func() { AdamW(Groups(ParamGroup(p[:1], Betas(1, 0.9)), ParamGroup(p[1:]))) }, "optim.AdamW (param group 0): invalid beta parameter at index 0"},
		{"group nesterov", func() { SGD(Groups(ParamGroup(p[:1], Nesterov(true)), ParamGroup(p[1:])), Momentum(0.9)) }, ""},
		{"no groups", func() { SGD([]Group{}) }, "optim.SGD: no parameter groups"},
		{"group range", func() { o.GroupLR(2) }, "optim.SGD.GroupLR: group 2 out of range [0, 2)"},
		{"negative group lr", func() { o.SetGroupLR(0, -1) }, "optim.SGD.SetGroupLR: invalid learning rate -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if c.want == "" {
					if r != nil {
						t.Fatalf("panic %v", r)
					}
					return
				}
				if r == nil || !strings.Contains(r.(string), c.want) {
					t.Fatalf("panic %v, want %q", r, c.want)
				}
			}()
			c.f()
		})
	}
}

// TestSchedulesPerGroup checks that a schedule drives each group from its
// own base rate (PyTorch's initial_lr per group) and resumes, and that
// ReduceLROnPlateau cuts every group with its own floor.
func TestSchedulesPerGroup(t *testing.T) {
	p := newParams(7)
	o := SGD(Groups(ParamGroup(p[:1]), ParamGroup(p[1:], LR(0.01))), LR(0.1), Momentum(0.9))
	cos, err := CosineAnnealingLR(10, 0.001)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScheduler(o, cos)
	for e := 1; e <= 4; e++ {
		s.Step()
		for g, base := range []float64{0.1, 0.01} {
			if got, want := o.GroupLR(g), cos(base, e); got != want {
				t.Fatalf("epoch %d group %d: lr %v, want %v", e, g, got, want)
			}
		}
	}
	if lrs := s.LastLR(); len(lrs) != 2 || lrs[1] != o.GroupLR(1) || s.LR() != o.GroupLR(0) {
		t.Fatalf("LastLR %v", lrs)
	}
	sd := s.StateDict()
	if len(sd) != 3 || sd["base_lrs.0"] != 0.1 || sd["base_lrs.1"] != 0.01 || sd["last_epoch"] != 4 {
		t.Fatalf("state %v", sd)
	}
	o2 := SGD(Groups(ParamGroup(newParams(7)[:1]), ParamGroup(newParams(7)[1:], LR(0.01))), LR(0.1), Momentum(0.9))
	s2 := NewScheduler(o2, cos)
	if err := s2.LoadStateDict(sd); err != nil {
		t.Fatal(err)
	}
	if o2.GroupLR(0) != o.GroupLR(0) || o2.GroupLR(1) != o.GroupLR(1) {
		t.Fatalf("resumed rates %v, want %v", GroupLRs(o2), GroupLRs(o))
	}
	if err := NewScheduler(SGD(newParams(7)), cos).LoadStateDict(sd); err == nil || !strings.Contains(err.Error(), "missing keys base_lr") {
		t.Fatalf("one group loading two: %v", err)
	}

	o3 := SGD(Groups(ParamGroup(p[:1]), ParamGroup(p[1:], LR(0.01))), LR(0.1))
	pl := ReduceLROnPlateau(o3, Patience(0), Factor(0.5), MinLRs(0.01, 0.004))
	for _, m := range []float64{1, 2, 3, 4} {
		pl.Step(m)
	}
	// Three bad epochs: group 0 halves to 0.0125 (above its floor), group 1
	// halves to 0.005, then stops at 0.004.
	if o3.GroupLR(0) != 0.0125 || o3.GroupLR(1) != 0.004 {
		t.Fatalf("plateau rates %v", GroupLRs(o3))
	}
	psd := pl.StateDict()
	if psd["lrs.0"] != 0.0125 || psd["lrs.1"] != 0.004 {
		t.Fatalf("plateau state %v", psd)
	}
	o4 := SGD(Groups(ParamGroup(newParams(7)[:1]), ParamGroup(newParams(7)[1:])), LR(0.1))
	if err := ReduceLROnPlateau(o4, MinLRs(0, 0)).LoadStateDict(psd); err != nil || o4.GroupLR(1) != 0.004 {
		t.Fatalf("plateau resume: %v, rates %v", err, GroupLRs(o4))
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "expected 2 min_lrs, got 1") {
			t.Fatalf("panic %v", r)
		}
	}()
	ReduceLROnPlateau(o4, MinLRs(0))
}
