package autograd

import (
	"fmt"

	"github.com/backprop-go/backprop/tensor"
)

// Reduction says how a loss combines its per-element values.
type Reduction int

const (
	// ReduceMean averages (PyTorch's default).
	ReduceMean Reduction = iota
	// ReduceSum adds.
	ReduceSum
	// ReduceNone keeps one loss per element.
	ReduceNone
)

// ParseReduction turns PyTorch's names "mean", "sum" and "none" into a
// Reduction.
func ParseReduction(s string) (Reduction, error) {
	switch s {
	case "mean":
		return ReduceMean, nil
	case "sum":
		return ReduceSum, nil
	case "none":
		return ReduceNone, nil
	}
	return 0, fmt.Errorf("unknown reduction %q (want mean, sum or none)", s)
}

// LossOption sets an option of a loss function.
type LossOption func(*lossConfig)

type lossConfig struct {
	reduction      Reduction
	labelSmoothing float32
	ignoreIndex    int
	weight         *tensor.Tensor
	posWeight      *tensor.Tensor
	delta          float32
}

func newLossConfig(opts []LossOption) lossConfig {
	c := lossConfig{ignoreIndex: -100, delta: 1}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithReduction sets how per-element losses combine (default ReduceMean).
func WithReduction(r Reduction) LossOption { return func(c *lossConfig) { c.reduction = r } }

// LabelSmoothing mixes the one-hot target of CrossEntropy with the uniform
// distribution: target = (1-eps)·onehot + eps/C.
func LabelSmoothing(eps float32) LossOption { return func(c *lossConfig) { c.labelSmoothing = eps } }

// IgnoreIndex sets the class index whose targets contribute nothing to
// CrossEntropy and NLLLoss (default -100, as in PyTorch).
func IgnoreIndex(i int) LossOption { return func(c *lossConfig) { c.ignoreIndex = i } }

// ClassWeights rescales each class's loss in CrossEntropy and NLLLoss
// (a [C] tensor), or each element's loss in BCEWithLogits (broadcast).
func ClassWeights(w *tensor.Tensor) LossOption { return func(c *lossConfig) { c.weight = w } }

// PosWeight weights the positive term of BCEWithLogits (broadcast over the
// input, one per class in the last dimension).
func PosWeight(w *tensor.Tensor) LossOption { return func(c *lossConfig) { c.posWeight = w } }

// Delta sets HuberLoss's threshold between quadratic and linear (default 1).
func Delta(d float32) LossOption { return func(c *lossConfig) { c.delta = d } }

// classesLast turns x [N,C,d...] into [N·d..., C] (a view when there are no
// extra dims) so the class losses work on rows; [C] becomes [1,C].
func classesLast(op string, x *Value) (*Value, int) {
	s := x.Shape()
	switch len(s) {
	case 0:
		panic(fmt.Sprintf("%s: input of shape %v has no class dimension", op, s))
	case 1:
		return Reshape(x, 1, s[0]), s[0]
	case 2:
		return x, s[1]
	}
	perm := []int{0}
	for i := 2; i < len(s); i++ {
		perm = append(perm, i)
	}
	perm = append(perm, 1)
	return Reshape(Permute(x, perm...), -1, s[1]), s[1]
}

// targetShape is the shape of per-sample losses: x's shape without the
// class dimension.
func targetShape(s []int) []int {
	if len(s) <= 1 {
		return []int{}
	}
	return append([]int{s[0]}, s[2:]...)
}

// CrossEntropy returns the cross-entropy between logits [N,C] (or [N,C,d...]
// or [C]) and class-index targets (one per sample), as
// torch.nn.functional.cross_entropy: NLLLoss of LogSoftmax over the class
// dimension, with optional label smoothing, class weights and ignore index.
func CrossEntropy(logits *Value, targets []int, opts ...LossOption) *Value {
	c := newLossConfig(opts)
	if logits.Data.Dims() == 2 && c.labelSmoothing == 0 {
		return crossEntropyRows(logits, targets, c)
	}
	rows, nc := classesLast("autograd.CrossEntropy", logits)
	logp := LogSoftmax(rows, 1)
	nll := nllRows("autograd.CrossEntropy", logp, targets, c)
	if c.labelSmoothing != 0 {
		// (1-ε)·nll + (ε/C)·Σ_c -w_c·logp_c, normalised like nll.
		smooth := smoothRows(logp, targets, c)
		nll = Add(MulScalar(nll, 1-c.labelSmoothing), MulScalar(smooth, c.labelSmoothing/float32(nc)))
	}
	if c.reduction == ReduceNone {
		return Reshape(nll, targetShape(logits.Shape())...)
	}
	return nll
}

// crossEntropyRows is CrossEntropy on logits [M,C] without label
// smoothing, fused: one pass computes the log-softmax and the loss, and the
// backward rule writes coef·(softmax - onehot) directly instead of going
// through NLLLoss's one-hot gradient and LogSoftmax's rule. The arithmetic
// is that of the unfused ops, term for term, so the results are the same.
func crossEntropyRows(logits *Value, targets []int, c lossConfig) *Value {
	m, nc := logits.Shape()[0], logits.Shape()[1]
	den := c.nllDenominator("autograd.CrossEntropy", targets, m, nc)
	logp := tensor.LogSoftmax(logits.Data, 1)
	per := tensor.NLLRows(logp, targets, c.ignoreIndex, c.weight)
	y, scale := reduceRows(per, c.reduction, den)
	out := fresh(y, logits)
	if !out.requiresGrad {
		tensor.Recycle(logp)
		return out
	}
	out.onBackward(func() {
		// d(-w·log softmax_t)/dx_j = w·(softmax_j - [j = t]), scaled by the reduction.
		dx := tensor.CrossEntropyGrad(logp, targets, c.ignoreIndex, c.rowCoefs(targets, out.Grad, scale))
		tensor.Recycle(logp)
		logits.addGradOwned(dx)
	})
	return out
}

// rowCoefs returns each row's class weight times the reduction's factor
// (0 for rows whose target is ignored): what the gradient of a row's loss
// is scaled by.
func (c lossConfig) rowCoefs(targets []int, g *tensor.Tensor, scale func(g *tensor.Tensor, i int) float32) []float32 {
	coef := make([]float32, len(targets))
	for i, t := range targets {
		if t != c.ignoreIndex {
			coef[i] = c.classWeight(t) * scale(g, i)
		}
	}
	return coef
}

// NLLLoss returns the negative log-likelihood loss of log-probabilities
// logp [N,C] (or [N,C,d...] or [C]) for class-index targets, as
// torch.nn.functional.nll_loss: -w[t]·logp[t] per sample.
func NLLLoss(logp *Value, targets []int, opts ...LossOption) *Value {
	c := newLossConfig(opts)
	rows, _ := classesLast("autograd.NLLLoss", logp)
	out := nllRows("autograd.NLLLoss", rows, targets, c)
	if c.reduction == ReduceNone {
		return Reshape(out, targetShape(logp.Shape())...)
	}
	return out
}

// classWeight is the weight of class t (1 without class weights).
func (c lossConfig) classWeight(t int) float32 {
	if c.weight == nil {
		return 1
	}
	return c.weight.Data()[t]
}

// nllDenominator checks the targets and returns the mean reduction's
// divisor: the summed weights of the targets not ignored.
func (c lossConfig) nllDenominator(op string, targets []int, m, nc int) float32 {
	if len(targets) != m {
		panic(fmt.Sprintf("%s: %d targets for %d samples", op, len(targets), m))
	}
	if c.weight != nil && c.weight.Size() != nc {
		panic(fmt.Sprintf("%s: class weights of shape %v for %d classes", op, c.weight.Shape(), nc))
	}
	var den float32
	for _, t := range targets {
		if t == c.ignoreIndex {
			continue
		}
		if t < 0 || t >= nc {
			panic(fmt.Sprintf("%s: target %d out of range for %d classes", op, t, nc))
		}
		den += c.classWeight(t)
	}
	return den
}

// reduceRows applies the reduction to per-row losses and returns the result
// with the factor each row's gradient is scaled by (per row for ReduceNone).
func reduceRows(per []float32, r Reduction, den float32) (*tensor.Tensor, func(g *tensor.Tensor, i int) float32) {
	switch r {
	case ReduceNone:
		return tensor.New(per, len(per)), func(g *tensor.Tensor, i int) float32 { return g.Data()[i] }
	case ReduceSum:
		return tensor.Scalar(float32(tensor.SumInOrder64(per))), func(g *tensor.Tensor, _ int) float32 { return g.Item() }
	}
	return tensor.Scalar(float32(tensor.SumInOrder64(per) / float64(den))), func(g *tensor.Tensor, _ int) float32 { return g.Item() / den }
}

// nllRows is NLLLoss on rows [M,C]; ReduceNone gives [M].
func nllRows(op string, logp *Value, targets []int, c lossConfig) *Value {
	m, nc := logp.Shape()[0], logp.Shape()[1]
	den := c.nllDenominator(op, targets, m, nc)
	y, scale := reduceRows(tensor.NLLRows(logp.Data, targets, c.ignoreIndex, c.weight), c.reduction, den)
	out := result(y, logp)
	out.onBackward(func() {
		// d(-w·logp[t])/dlogp[t] = -w, scaled by the reduction
		logp.addGrad(tensor.NLLGrad(m, nc, targets, c.ignoreIndex, c.rowCoefs(targets, out.Grad, scale)))
	})
	return out
}

// smoothRows is the label-smoothing term on rows [M,C]:
// Σ_c -w_c·logp_c per row, reduced with nll's denominator.
func smoothRows(logp *Value, targets []int, c lossConfig) *Value {
	m, nc := logp.Shape()[0], logp.Shape()[1]
	den := c.nllDenominator("autograd.CrossEntropy", targets, m, nc)
	y, scale := reduceRows(tensor.SmoothRows(logp.Data, targets, c.ignoreIndex, c.weight), c.reduction, den)
	out := result(y, logp)
	out.onBackward(func() {
		rs := make([]float32, m)
		for i := range rs {
			rs[i] = scale(out.Grad, i)
		}
		// d(Σ -w_c·logp_c)/dlogp_c = -w_c, scaled by the reduction
		logp.addGrad(tensor.SmoothGrad(m, nc, targets, c.ignoreIndex, c.weight, rs))
	})
	return out
}

// sameShape panics, naming op, unless input and target have the same shape.
func sameShape(op string, input, target *Value) {
	if !tensor.SameShape(input.Data, target.Data) {
		panic(fmt.Sprintf("%s: input %v and target %v must have the same shape", op, input.Shape(), target.Shape()))
	}
}

// pointwiseLoss builds a loss from the per-element losses and their
// derivatives with respect to input and target (package tensor's *Elems).
func pointwiseLoss(input, target *Value, c lossConfig, per, dx, dt []float32) *Value {
	y, scale := reduceRows(per, c.reduction, float32(len(per)))
	if c.reduction == ReduceNone {
		y = tensor.Reshape(y, input.Shape()...)
	}
	out := result(y, input, target)
	out.onBackward(func() {
		// dl/dx and dl/dt per element, times the upstream gradient: one
		// value per element for ReduceNone, the reduction's factor otherwise.
		for _, p := range []struct {
			v *Value
			d []float32
		}{{input, dx}, {target, dt}} {
			if !p.v.requiresGrad {
				continue
			}
			d := tensor.New(p.d, input.Shape()...)
			if c.reduction == ReduceNone {
				p.v.addGrad(tensor.Mul(d, out.Grad))
			} else {
				p.v.addGrad(tensor.Scale(d, scale(out.Grad, 0)))
			}
		}
	})
	return out
}

// MSELoss returns the mean squared error (x-t)², as
// torch.nn.functional.mse_loss.
func MSELoss(input, target *Value, opts ...LossOption) *Value {
	sameShape("autograd.MSELoss", input, target)
	per, dx, dt := tensor.MSEElems(input.Data, target.Data) // d(x-t)²/dx = 2(x-t)
	return pointwiseLoss(input, target, newLossConfig(opts), per, dx, dt)
}

// L1Loss returns the mean absolute error |x-t|, as
// torch.nn.functional.l1_loss.
func L1Loss(input, target *Value, opts ...LossOption) *Value {
	sameShape("autograd.L1Loss", input, target)
	per, dx, dt := tensor.L1Elems(input.Data, target.Data) // d|x-t|/dx = sign(x-t)
	return pointwiseLoss(input, target, newLossConfig(opts), per, dx, dt)
}

// HuberLoss returns ½d² where |d| < delta and delta·(|d| - ½delta)
// elsewhere, d = x-t, as torch.nn.functional.huber_loss (see Delta).
func HuberLoss(input, target *Value, opts ...LossOption) *Value {
	c := newLossConfig(opts)
	sameShape("autograd.HuberLoss", input, target)
	per, dx, dt := tensor.HuberElems(input.Data, target.Data, c.delta) // d/dx = d inside delta, delta·sign(d) outside
	return pointwiseLoss(input, target, c, per, dx, dt)
}

// BCEWithLogits returns the binary cross-entropy of sigmoid(x) against
// targets t in [0,1], computed stably from the logits x, as
// torch.nn.functional.binary_cross_entropy_with_logits:
// l = w·[(1-t)·x + (1+(pw-1)·t)·softplus(-x)], pw the PosWeight.
func BCEWithLogits(input, target *Value, opts ...LossOption) *Value {
	c := newLossConfig(opts)
	sameShape("autograd.BCEWithLogits", input, target)
	shape := input.Shape()
	var w, pw *tensor.Tensor
	if c.weight != nil {
		w = tensor.BroadcastTo(c.weight, shape...)
	}
	if c.posWeight != nil {
		pw = tensor.BroadcastTo(c.posWeight, shape...)
	}
	// dl/dx = w·((1-t) - k·σ(-x)); dl/dt = w·(-x + (pw-1)·softplus(-x))
	per, dx, dt := tensor.BCEWithLogitsElems(input.Data, target.Data, w, pw)
	return pointwiseLoss(input, target, c, per, dx, dt)
}
