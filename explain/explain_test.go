package explain

import (
	"maps"
	"math"
	"testing"
)

// forward64 is the network's forward pass written out again in float64,
// independently of the engine, from a step's printed weights.
func forward64(w map[string]float64, act string, p Photo) float64 {
	f := map[string]func(float64) float64{
		"tanh":    math.Tanh,
		"sigmoid": func(z float64) float64 { return 1 / (1 + math.Exp(-z)) },
		"relu":    func(z float64) float64 { return math.Max(z, 0) },
	}[act]
	h1 := f(w["w1[h1,ears]"]*p.Ears + w["w1[h1,snout]"]*p.Snout + w["b1[h1]"])
	h2 := f(w["w1[h2,ears]"]*p.Ears + w["w1[h2,snout]"]*p.Snout + w["b1[h2]"])
	z := w["w2[h1]"]*h1 + w["w2[h2]"]*h2 + w["b2"]
	pred := 1 / (1 + math.Exp(-z))
	return (pred - p.Target) * (pred - p.Target)
}

func TestStoryNumbersAreTheEngines(t *testing.T) {
	cases := []Config{
		DefaultConfig,
		{Steps: 5, LR: 0.5, Seed: 7, Activation: "sigmoid"},
		{Steps: 5, LR: 2, Seed: 3, Activation: "relu"},
		{Steps: 3, LR: 0.1, Seed: 11, Activation: "tanh"},
	}
	for _, c := range cases {
		s, err := Run(c)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if len(s.Steps) != c.Steps || len(s.Final) != len(Photos) {
			t.Fatalf("%+v: %d steps and %d predictions", c, len(s.Steps), len(s.Final))
		}
		for _, st := range s.Steps {
			old, updated := map[string]float64{}, map[string]float64{}
			for _, w := range st.Weights {
				old[w.Name], updated[w.Name] = w.Old, w.New
			}
			// The printed error is the forward pass of the printed weights.
			if e := forward64(old, c.Activation, st.Photo); math.Abs(e-st.Error) > 1e-5 {
				t.Errorf("%+v step %d: printed error %g, forward pass of the printed weights %g", c, st.Number, st.Error, e)
			}
			for _, w := range st.Weights {
				// Central finite difference in float64: the change of the
				// error when this one weight moves by ±h.
				const h = 1e-6
				plus, minus := maps.Clone(old), maps.Clone(old)
				plus[w.Name] += h
				minus[w.Name] -= h
				fd := (forward64(plus, c.Activation, st.Photo) - forward64(minus, c.Activation, st.Photo)) / (2 * h)
				if math.Abs(fd-w.Gradient) > 1e-4+1e-3*math.Abs(fd) {
					t.Errorf("%+v step %d %s: gradient %g, finite difference %g", c, st.Number, w.Name, w.Gradient, fd)
				}
				if math.Abs(w.ChainProduct-w.Gradient) > 1e-5+1e-4*math.Abs(w.Gradient) {
					t.Errorf("%+v step %d %s: chain product %g, gradient %g", c, st.Number, w.Name, w.ChainProduct, w.Gradient)
				}
				if want := w.Old - c.LR*w.Gradient; math.Abs(w.New-want) > 1e-6+1e-6*math.Abs(want) {
					t.Errorf("%+v step %d %s: new %g, old − lr × gradient = %g", c, st.Number, w.Name, w.New, want)
				}
			}
			// The error after the step is a fresh forward pass of the new weights.
			if e := forward64(updated, c.Activation, st.Photo); math.Abs(e-st.ErrorAfter) > 1e-5 {
				t.Errorf("%+v step %d: error after %g, forward pass of the new weights %g", c, st.Number, st.ErrorAfter, e)
			}
		}
	}
}

func TestDefaultRunLearns(t *testing.T) {
	s, err := Run(DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	first := s.Steps[0]
	if first.ErrorAfter >= first.Error {
		t.Errorf("the first step did not lower its photo's error: %g -> %g", first.Error, first.ErrorAfter)
	}
	last := s.Steps[len(s.Steps)-1]
	if last.MeanErrorAfter >= s.MeanErrorStart/2 {
		t.Errorf("mean error %g -> %g: want at least halved", s.MeanErrorStart, last.MeanErrorAfter)
	}
	for _, f := range s.Final {
		if !f.Right {
			t.Errorf("%s: says %s (%.2f) after %d steps", f.Photo.Name, f.Says, f.Probability, len(s.Steps))
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Steps: 0, LR: 1, Activation: "tanh"},
		{Steps: 1, LR: math.NaN(), Activation: "tanh"},
		{Steps: 1, LR: -1, Activation: "tanh"},
		{Steps: 1, LR: math.Inf(1), Activation: "tanh"},
		{Steps: 1, LR: 1, Activation: "softmax"},
	} {
		if _, err := Run(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
