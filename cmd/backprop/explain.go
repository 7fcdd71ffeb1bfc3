package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/backprop-go/backprop/explain"
)

func init() {
	register("explain", "one training step of a tiny cat-or-dog network, told with its real numbers", runExplain)
}

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := explain.DefaultConfig
	fs.IntVar(&c.Steps, "steps", c.Steps, "training steps in all (the first is told in full, the rest in a table)")
	fs.Float64Var(&c.LR, "lr", c.LR, "learning rate: how big a step each update takes")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the random starting weights")
	fs.StringVar(&c.Activation, "activation", c.Activation, "the hidden neurons' activation: "+strings.Join(explain.Activations(), ", "))
	jsonOut := fs.Bool("json", false, "print every number as one JSON object instead of the story")
	lang := fs.String("lang", "plain", "plain (words only) or math (words and formulas)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fail(stderr, "explain", usagef("unexpected argument %q", fs.Arg(0)))
	}
	if *lang != "plain" && *lang != "math" {
		return fail(stderr, "explain", usagef("--lang %q: want plain or math", *lang))
	}
	if err := c.Validate(); err != nil {
		return fail(stderr, "explain", usageError{err})
	}
	story, err := explain.Run(c)
	if err != nil {
		return fail(stderr, "explain", err)
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(story); err != nil {
			return fail(stderr, "explain", err)
		}
		return 0
	}
	tellStory(stdout, story, *lang == "math")
	return 0
}

// num prints a number with four significant digits, the way a calculator
// would show it, without exponents for the sizes that occur here.
func num(v float64) string {
	if v == 0 {
		return "0"
	}
	s := strconv.FormatFloat(v, 'g', 4, 64)
	if strings.ContainsAny(s, "e") {
		s = strconv.FormatFloat(v, 'f', 6, 64)
	}
	return s
}

// signed puts a negative number in brackets, as in 0.5 × (−0.3).
func signed(v float64) string {
	if v < 0 {
		return "(" + num(v) + ")"
	}
	return num(v)
}

var activationWords = map[string]string{
	"tanh":    "tanh squashes any number into the range −1 to 1",
	"sigmoid": "the sigmoid squashes any number into the range 0 to 1",
	"relu":    "ReLU keeps a positive number and turns a negative one into 0",
}

func tellStory(w io.Writer, s *explain.Story, math bool) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	c := s.Config
	p("Cat or dog? One step of backpropagation, with its real numbers.")
	p("")
	p("The network looks at two numbers about a photo: how pointy its ears are and")
	p("how long its snout is (each from 0 to 1). It answers with one number from 0")
	p("to 1: how sure it is that the photo shows a dog (1: surely a dog, 0: surely a")
	p("cat). In between are 2 hidden neurons, h1 and h2. Each connection has a")
	p("weight and each neuron a bias: %d numbers in all, which training adjusts.", len(s.StartWeights))
	p("They start as random numbers (seed %d):", c.Seed)
	for _, wt := range s.StartWeights {
		p("  %-16s = %8s   %s", wt.Name, num(wt.Old), wt.Role)
	}
	p("")
	p("The photos it learns from:")
	for _, ph := range s.Photos {
		p("  %-16s ear pointiness %.2f, snout length %.2f, right answer %g", ph.Name, ph.Ears, ph.Snout, ph.Target)
	}
	p("Their average error now: %s.", num(s.MeanErrorStart))

	st := s.Steps[0]
	p("")
	p("STEP 1, on %s: ear pointiness %.2f, snout length %.2f; the right answer is %g.", st.Photo.Name, st.Photo.Ears, st.Photo.Snout, st.Photo.Target)
	p("")
	p("1. Forward pass: the numbers flow from the inputs to the answer.")
	p("   Each neuron multiplies each input by its weight, adds the products and its")
	p("   bias (the weighted sum), then passes the sum through its activation.")
	for _, n := range append(append([]explain.Neuron{}, st.Hidden...), st.Output) {
		var terms []string
		for _, t := range n.Terms {
			terms = append(terms, signed(t.Weight)+" × "+signed(t.Value))
		}
		p("   %s: weighted sum = %s + %s = %s", n.Name, strings.Join(terms, " + "), signed(n.Bias), num(n.Sum))
		if n.Name == "output neuron" {
			p("      the sigmoid squashes it into 0 to 1: prediction %s", num(n.Output))
			if math {
				p("      z = Σ w2·h + b2,  p = σ(z) = 1 / (1 + e^(−z))")
			}
		} else {
			p("      %s: output %s", activationWords[c.Activation], num(n.Output))
			if math {
				p("      s = Σ w1·x + b1,  h = %s(s)", c.Activation)
			}
		}
	}
	p("")
	p("2. Prediction and error: the network says %s, that is %.0f%% sure it is a dog.", num(st.Prediction), 100*st.Prediction)
	p("   The right answer is %g. The error is the square of how far off it is:", st.Photo.Target)
	p("   (%s − %g)² = %s.", num(st.Prediction), st.Photo.Target, num(st.Error))
	if math {
		p("   E = (p − y)²")
	}
	p("")
	p("3. Backward pass: for every weight, how would the error change if that weight")
	p("   grew a little? That number is the weight's gradient. The engine finds it by")
	p("   going back from the error, layer by layer, multiplying the small effects")
	p("   along the way (the chain rule); check the products with a calculator.")
	p("   A positive gradient means growing the weight would raise the error, a")
	p("   negative one that it would lower it.")
	for _, wt := range st.Weights {
		p("   %s (%s): gradient %s", wt.Name, wt.Role, num(wt.Gradient))
		for i, f := range wt.Chain {
			op := "="
			if i > 0 {
				op = "×"
			}
			line := fmt.Sprintf("     %s %9s  %s", op, signed(f.Value), f.Says)
			if math {
				line += "  [" + f.Formula + "]"
			}
			p("%s", line)
		}
		p("     If %s grew by 0.01, the error would change by about %s.", wt.Name, num(0.01*wt.Gradient))
	}
	p("")
	p("4. Update (gradient descent): every weight takes a small step against its")
	p("   gradient, so that the error shrinks: new = old − learning rate × gradient.")
	for _, wt := range st.Weights {
		p("   %-14s %s − %s × %s = %s", wt.Name, num(wt.Old), num(c.LR), signed(wt.Gradient), num(wt.New))
	}
	p("")
	verb := "smaller"
	if st.ErrorAfter >= st.Error {
		verb = "not smaller: the step was too big; try a smaller --lr"
	}
	p("After this one step the error on %s is %s (it was %s): %s.", st.Photo.Name, num(st.ErrorAfter), num(st.Error), verb)
	p("The average error over all photos is %s (it was %s).", num(st.MeanErrorAfter), num(s.MeanErrorStart))

	if len(s.Steps) > 1 {
		p("")
		p("The same four steps again, one photo at a time, in turn:")
		p("  %4s  %-16s  %10s  %12s  %11s  %14s", "step", "photo", "prediction", "error before", "error after", "average error")
		for _, st := range s.Steps {
			p("  %4d  %-16s  %10s  %12s  %11s  %14s", st.Number, st.Photo.Name, num(st.Prediction), num(st.Error), num(st.ErrorAfter), num(st.MeanErrorAfter))
		}
	}
	p("")
	p("After %d steps the network says:", len(s.Steps))
	right := 0
	for _, f := range s.Final {
		mark := "wrong"
		if f.Right {
			mark, right = "right", right+1
		}
		p("  %-16s %s%% dog: %s (%s)", f.Photo.Name, fmt.Sprintf("%.0f", 100*f.Probability), f.Says, mark)
	}
	p("%d of %d right. The same four steps, repeated millions of times over many more", right, len(s.Final))
	p("weights, are how `backprop train` teaches a network to read digits.")
}
