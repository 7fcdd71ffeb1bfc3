// Package explain runs backpropagation on the smallest network that still
// has a hidden layer, and records every number of every step, so that a
// reader can follow one training step with a calculator.
//
// The example is "cat or dog?": each photo is described by two made-up
// features, how pointy its ears are and how long its snout is (both from 0
// to 1), and a 2-2-1 network says how likely the photo is a dog. The
// forward pass, the backward pass and the update are the engine's own
// (package autograd and package optim); this package only reads the
// numbers off them and lays out the chain rule's factors beside the
// gradients, which Run checks against the engine's.
package explain

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// Photo is one training example: two features and its label.
type Photo struct {
	Name   string  `json:"name"`
	Ears   float64 `json:"ear_pointiness"` // 0: round, 1: very pointy
	Snout  float64 `json:"snout_length"`   // 0: short, 1: very long
	IsDog  bool    `json:"is_dog"`
	Target float64 `json:"target"` // 1 for a dog, 0 for a cat
}

// Photos are the example's training set: cats have pointy ears and short
// snouts, dogs the other way round, with some overlap.
var Photos = []Photo{
	{Name: "photo 1 (a cat)", Ears: 0.9, Snout: 0.2},
	{Name: "photo 2 (a dog)", Ears: 0.3, Snout: 0.8, IsDog: true, Target: 1},
	{Name: "photo 3 (a cat)", Ears: 0.7, Snout: 0.4},
	{Name: "photo 4 (a dog)", Ears: 0.5, Snout: 0.9, IsDog: true, Target: 1},
}

// Config chooses the run: how many steps, how big each one is, the random
// starting weights and the hidden neurons' activation.
type Config struct {
	Steps      int     // training steps in all (the first is told in full); at least 1
	LR         float64 // learning rate: the size of each step
	Seed       uint64  // seed of the starting weights
	Activation string  // the hidden layer's: "sigmoid", "tanh" or "relu"
}

// DefaultConfig is the run `backprop explain` makes without flags.
var DefaultConfig = Config{Steps: 20, LR: 1, Seed: 1, Activation: "tanh"}

// Weight is one weight (or bias) of the network at one step, with what the
// backward pass found for it and how the update moved it.
type Weight struct {
	Name string `json:"name"` // "w1[h1,ears]", "b2", ...
	// Says what the weight connects, in words.
	Role string `json:"role"`
	// Old is its value before the update.
	Old float64 `json:"old"`
	// Chain are the factors of the chain rule whose product is Gradient,
	// outermost first: "how the error changes with the prediction", ...
	Chain []Factor `json:"chain"`
	// Gradient is the engine's d(error)/d(weight), from Backward.
	Gradient float64 `json:"gradient"`
	// ChainProduct is the product of Chain's values, which equals Gradient
	// up to float32 rounding.
	ChainProduct float64 `json:"chain_product"`
	// New is old − learning rate × gradient, as the optimiser left it.
	New float64 `json:"new"`
}

// Factor is one link of the chain rule: a partial derivative and its value.
type Factor struct {
	Says    string  `json:"says"`    // in words
	Formula string  `json:"formula"` // in symbols
	Value   float64 `json:"value"`
}

// Neuron is one neuron's forward pass on one photo.
type Neuron struct {
	Name string `json:"name"`
	// Terms are the products weight × input that the neuron adds up, and
	// Bias the number added to them.
	Terms []Term  `json:"terms"`
	Bias  float64 `json:"bias"`
	// Sum is the weighted sum, Σ weight × input + bias.
	Sum float64 `json:"weighted_sum"`
	// Output is the activation of Sum.
	Output float64 `json:"output"`
}

// Term is one input of a neuron multiplied by its weight.
type Term struct {
	Input     string  `json:"input"`
	Value     float64 `json:"value"`
	Weight    float64 `json:"weight"`
	WeightFor string  `json:"weight_name"`
	Product   float64 `json:"product"`
}

// Step is one whole training step on one photo.
type Step struct {
	Number int      `json:"step"`
	Photo  Photo    `json:"photo"`
	Hidden []Neuron `json:"hidden"`
	Output Neuron   `json:"output"`
	// Prediction is the network's probability that the photo is a dog.
	Prediction float64 `json:"prediction"`
	// Error is (prediction − target)², the squared error.
	Error float64 `json:"error"`
	// Weights hold every weight's gradient and update, output layer first
	// (the order in which the backward pass reaches them).
	Weights []Weight `json:"weights"`
	// ErrorAfter is this photo's error in a fresh forward pass after the
	// update.
	ErrorAfter float64 `json:"error_after"`
	// MeanErrorAfter is the mean error over all photos after the update.
	MeanErrorAfter float64 `json:"mean_error_after"`
}

// Prediction is the trained network's answer for one photo.
type Prediction struct {
	Photo       Photo   `json:"photo"`
	Probability float64 `json:"probability_dog"`
	Says        string  `json:"says"` // "dog" or "cat"
	Right       bool    `json:"right"`
}

// Story is every number of a run.
type Story struct {
	Config         Config       `json:"config"`
	Photos         []Photo      `json:"photos"`
	StartWeights   []Weight     `json:"start_weights"` // Name, Role and Old only
	MeanErrorStart float64      `json:"mean_error_start"`
	Steps          []Step       `json:"steps"`
	Final          []Prediction `json:"final"`
}

// network is the 2-2-1 network: w1 (2×2, PyTorch's out×in layout) and b1
// for the hidden layer, w2 (1×2) and b2 for the output.
type network struct {
	w1, b1, w2, b2 *ag.Value
	act            string
}

var activations = map[string]func(*ag.Value) *ag.Value{
	"sigmoid": ag.Sigmoid,
	"tanh":    ag.Tanh,
	"relu":    ag.ReLU,
}

// Activations lists the hidden layer's activations Run accepts.
func Activations() []string { return []string{"sigmoid", "tanh", "relu"} }

// forward runs the network on one photo and returns the hidden layer's
// weighted sums and outputs, the output's weighted sum, the prediction and
// the error, all as values of the graph.
func (n *network) forward(p Photo) (z1, h, z2, pred, loss *ag.Value) {
	x := ag.Const(tensor.New([]float32{float32(p.Ears), float32(p.Snout)}, 1, 2))
	y := ag.Const(tensor.New([]float32{float32(p.Target)}, 1, 1))
	z1 = ag.Linear(x, n.w1, n.b1)
	h = activations[n.act](z1)
	z2 = ag.Linear(h, n.w2, n.b2)
	pred = ag.Sigmoid(z2)
	loss = ag.Sum(ag.PowScalar(ag.Sub(pred, y), 2)) // (prediction − target)²
	return
}

func (n *network) meanError() float64 {
	var sum float64
	for _, p := range Photos {
		_, _, _, _, loss := n.forward(p)
		sum += float64(loss.Item())
	}
	return sum / float64(len(Photos))
}

// Validate reports what is wrong with c, if anything.
func (c Config) Validate() error {
	switch {
	case c.Steps < 1 || c.Steps > 100000:
		return fmt.Errorf("steps %d: want 1 to 100000", c.Steps)
	case math.IsNaN(c.LR) || math.IsInf(c.LR, 0) || c.LR <= 0 || c.LR > 1000:
		return fmt.Errorf("learning rate %v: want a number above 0 and at most 1000", c.LR)
	case activations[c.Activation] == nil:
		return fmt.Errorf("activation %q: want sigmoid, tanh or relu", c.Activation)
	}
	return nil
}

// InitialWeights returns the starting weights Run draws for seed: w1 (2×2,
// row j holding hidden neuron j's weights for the ear and snout inputs),
// b1 (2), w2 (1×2) and b2 (1), uniform in [−1, 1] and rounded to two
// decimals so that a reader can follow them. The playground's cat-or-dog
// network starts from the same numbers, so that its steps match Run's.
func InitialWeights(seed uint64) (w1, b1, w2, b2 []float32) {
	r := rand.New(rand.NewPCG(seed, 0x6578706c61696e)) // "explain"
	// Small enough that no neuron starts saturated, large enough that the
	// two hidden neurons differ.
	uniform := func(k int) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32(math.Round((2*r.Float64()-1)*100) / 100)
		}
		return v
	}
	return uniform(4), uniform(2), uniform(2), uniform(1)
}

// Run trains the network for c.Steps steps, one photo per step in turn,
// and returns every number. It checks its own bookkeeping: each printed
// chain of factors must multiply to the engine's gradient.
func Run(c Config) (*Story, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w1, b1, w2, b2 := InitialWeights(c.Seed)
	n := &network{act: c.Activation}
	n.w1 = ag.Param(tensor.New(w1, 2, 2))
	n.b1 = ag.Param(tensor.New(b1, 2))
	n.w2 = ag.Param(tensor.New(w2, 1, 2))
	n.b2 = ag.Param(tensor.New(b2, 1))
	opt := optim.SGD([]*ag.Value{n.w1, n.b1, n.w2, n.b2}, optim.LR(c.LR))

	s := &Story{Config: c, Photos: Photos, MeanErrorStart: n.meanError()}
	for _, w := range n.weights(nil, nil, nil, nil, Photo{}) {
		s.StartWeights = append(s.StartWeights, Weight{Name: w.Name, Role: w.Role, Old: w.Old})
	}
	for i := range c.Steps {
		p := Photos[i%len(Photos)]
		st, err := n.step(i+1, p, opt)
		if err != nil {
			return nil, err
		}
		s.Steps = append(s.Steps, st)
	}
	for _, p := range Photos {
		_, _, _, pred, _ := n.forward(p)
		prob := float64(pred.Item())
		says := "cat"
		if prob >= 0.5 {
			says = "dog"
		}
		s.Final = append(s.Final, Prediction{Photo: p, Probability: prob, Says: says, Right: (prob >= 0.5) == p.IsDog})
	}
	return s, nil
}

// step runs one forward pass, backward pass and update on photo p.
func (n *network) step(number int, p Photo, opt optim.Optimizer) (Step, error) {
	z1, h, z2, pred, loss := n.forward(p)
	st := Step{Number: number, Photo: p, Prediction: float64(pred.Item()), Error: float64(loss.Item())}
	inputs := []string{"ear pointiness", "snout length"}
	xs := []float64{p.Ears, p.Snout}
	for j := range 2 {
		nr := Neuron{Name: fmt.Sprintf("hidden neuron h%d", j+1), Bias: at(n.b1, j), Sum: at(z1, 0, j), Output: at(h, 0, j)}
		for i := range 2 {
			w := at(n.w1, j, i)
			nr.Terms = append(nr.Terms, Term{Input: inputs[i], Value: xs[i], Weight: w, WeightFor: w1Name(j, i), Product: w * xs[i]})
		}
		st.Hidden = append(st.Hidden, nr)
	}
	st.Output = Neuron{Name: "output neuron", Bias: at(n.b2, 0), Sum: at(z2, 0, 0), Output: st.Prediction}
	for j := range 2 {
		w := at(n.w2, 0, j)
		st.Output.Terms = append(st.Output.Terms, Term{Input: fmt.Sprintf("h%d", j+1), Value: at(h, 0, j), Weight: w, WeightFor: fmt.Sprintf("w2[h%d]", j+1), Product: w * at(h, 0, j)})
	}

	opt.ZeroGrad()
	loss.Backward()
	st.Weights = n.weights(z1, h, pred, loss, p)
	for _, w := range st.Weights {
		if d := math.Abs(w.ChainProduct - w.Gradient); d > 1e-5+1e-3*math.Abs(w.Gradient) {
			return st, fmt.Errorf("explain: the chain rule's product for %s is %g but the engine's gradient is %g", w.Name, w.ChainProduct, w.Gradient)
		}
	}
	opt.Step()
	after := n.weights(nil, nil, nil, nil, p)
	for i := range st.Weights {
		st.Weights[i].New = after[i].Old
	}
	_, _, _, _, loss2 := n.forward(p)
	st.ErrorAfter = float64(loss2.Item())
	st.MeanErrorAfter = n.meanError()
	if math.IsNaN(st.MeanErrorAfter) {
		return st, errors.New("explain: the error became NaN: try a smaller learning rate")
	}
	return st, nil
}

func w1Name(j, i int) string { return fmt.Sprintf("w1[h%d,%s]", j+1, []string{"ears", "snout"}[i]) }

// at reads one element of v's data as a float64.
func at(v *ag.Value, idx ...int) float64 { return float64(v.Data.At(idx...)) }

// grad reads one element of v's gradient (0 when Backward gave it none).
func grad(v *ag.Value, idx ...int) float64 {
	if v.Grad == nil {
		return 0
	}
	return float64(v.Grad.At(idx...))
}

// weights lists every weight, output layer first, with its gradient and
// the chain rule's factors when the forward values are given (z1, h, pred
// and loss not nil), and its value only otherwise.
func (n *network) weights(z1, h, pred, loss *ag.Value, p Photo) []Weight {
	var out []Weight
	full := loss != nil
	var dErr, dPred float64
	if full {
		prob := at(pred, 0, 0)
		dErr = 2 * (prob - p.Target) // d(error)/d(prediction) = 2·(prediction − target)
		dPred = prob * (1 - prob)    // d(prediction)/d(sum) = p·(1 − p), the sigmoid's slope
	}
	outer := func() []Factor {
		return []Factor{
			{"how the error changes with the prediction", "∂E/∂p = 2·(p − y)", dErr},
			{"how the prediction changes with the output neuron's sum", "∂p/∂z = p·(1 − p)", dPred},
		}
	}
	add := func(name, role string, v *ag.Value, idx []int, chain []Factor) {
		w := Weight{Name: name, Role: role, Old: at(v, idx...)}
		if full {
			w.Gradient = grad(v, idx...)
			w.Chain = chain
			w.ChainProduct = 1
			for _, f := range chain {
				w.ChainProduct *= f.Value
			}
		}
		out = append(out, w)
	}
	for j := range 2 {
		var hj float64
		if full {
			hj = at(h, 0, j)
		}
		add(fmt.Sprintf("w2[h%d]", j+1), fmt.Sprintf("from hidden neuron h%d to the output", j+1), n.w2, []int{0, j},
			append(outer(), Factor{fmt.Sprintf("how the sum changes with this weight: h%d's output", j+1), fmt.Sprintf("∂z/∂w = h%d", j+1), hj}))
	}
	add("b2", "the output neuron's bias", n.b2, []int{0}, append(outer(), Factor{"how the sum changes with the bias", "∂z/∂b = 1", 1}))
	xs := []float64{p.Ears, p.Snout}
	inputs := []string{"ear pointiness", "snout length"}
	for j := range 2 {
		var w2j, slope float64
		if full {
			w2j = at(n.w2, 0, j)
			slope = actSlope(n.act, at(z1, 0, j), at(h, 0, j))
		}
		hidden := append(outer(),
			Factor{fmt.Sprintf("how the output's sum changes with h%d: the weight w2[h%d]", j+1, j+1), fmt.Sprintf("∂z/∂h%d = w2[h%d]", j+1, j+1), w2j},
			Factor{fmt.Sprintf("how h%d's output changes with its own sum: the %s's slope", j+1, n.act), slopeFormula(n.act, j), slope})
		for i := range 2 {
			add(w1Name(j, i), fmt.Sprintf("from %s to hidden neuron h%d", inputs[i], j+1), n.w1, []int{j, i},
				append(append([]Factor{}, hidden...), Factor{fmt.Sprintf("how h%d's sum changes with this weight: the %s", j+1, inputs[i]), fmt.Sprintf("∂s%d/∂w = x%d", j+1, i+1), xs[i]}))
		}
		add(fmt.Sprintf("b1[h%d]", j+1), fmt.Sprintf("hidden neuron h%d's bias", j+1), n.b1, []int{j},
			append(append([]Factor{}, hidden...), Factor{fmt.Sprintf("how h%d's sum changes with the bias", j+1), fmt.Sprintf("∂s%d/∂b = 1", j+1), 1}))
	}
	return out
}

// actSlope is the derivative of the hidden activation at sum z, where it
// output a.
func actSlope(act string, z, a float64) float64 {
	switch act {
	case "tanh":
		return 1 - a*a // d tanh(z)/dz = 1 − tanh(z)²
	case "relu":
		if z > 0 {
			return 1 // d relu(z)/dz = 1 for z > 0, else 0
		}
		return 0
	}
	return a * (1 - a) // d σ(z)/dz = σ(z)·(1 − σ(z))
}

func slopeFormula(act string, j int) string {
	h := fmt.Sprintf("h%d", j+1)
	switch act {
	case "tanh":
		return "∂" + h + "/∂s = 1 − " + h + "²"
	case "relu":
		return "∂" + h + "/∂s = 1 if s > 0, else 0"
	}
	return "∂" + h + "/∂s = " + h + "·(1 − " + h + ")"
}
