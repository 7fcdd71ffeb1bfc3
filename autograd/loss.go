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
	den := c.nllDenominator("autograd.CrossEntropy", targets, m, nc, logits.Data.DType())
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
// is scaled by. For float32 losses the product is taken in float32 (as
// before dtypes, bit for bit) and stored exactly in the float64 result.
func (c lossConfig) rowCoefs(targets []int, g *tensor.Tensor, scale func(g *tensor.Tensor, i int) float64) []float64 {
	coef := make([]float64, len(targets))
	for i, t := range targets {
		if t == c.ignoreIndex {
			continue
		}
		if g.DType() == tensor.Float32 {
			coef[i] = float64(c.classWeight(t) * float32(scale(g, i)))
		} else {
			coef[i] = c.classWeight64(t) * scale(g, i)
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

// classWeight64 is classWeight for float64 losses (the weights may be of
// either float dtype).
func (c lossConfig) classWeight64(t int) float64 {
	if c.weight == nil {
		return 1
	}
	return c.weight.Float(t)
}

// nllDenominator checks the targets and returns the mean reduction's
// divisor: the summed weights of the targets not ignored, added in float32
// for a float32 loss.
func (c lossConfig) nllDenominator(op string, targets []int, m, nc int, dt tensor.DType) float64 {
	if len(targets) != m {
		panic(fmt.Sprintf("%s: %d targets for %d samples", op, len(targets), m))
	}
	if c.weight != nil && c.weight.Size() != nc {
		panic(fmt.Sprintf("%s: class weights of shape %v for %d classes", op, c.weight.Shape(), nc))
	}
	var den float32
	var den64 float64
	for _, t := range targets {
		if t == c.ignoreIndex {
			continue
		}
		if t < 0 || t >= nc {
			panic(fmt.Sprintf("%s: target %d out of range for %d classes", op, t, nc))
		}
		if dt == tensor.Float32 {
			den += c.classWeight(t)
		} else {
			den64 += c.classWeight64(t)
		}
	}
	if dt == tensor.Float32 {
		return float64(den)
	}
	return den64
}

// reduceRows applies the reduction to per-row losses and returns the result
// with the factor each row's gradient is scaled by (per row for ReduceNone).
// A float32 loss is reduced and scaled in float32 arithmetic.
func reduceRows(per *tensor.Tensor, r Reduction, den float64) (*tensor.Tensor, func(g *tensor.Tensor, i int) float64) {
	if per.DType() != tensor.Float32 {
		switch r {
		case ReduceNone:
			return per, func(g *tensor.Tensor, i int) float64 { return g.Float(i) }
		case ReduceSum:
			return tensor.Sum(per), func(g *tensor.Tensor, _ int) float64 { return g.Item64() }
		}
		return tensor.ScalarOf(tensor.Float64, tensor.Sum(per).Item64()/den), func(g *tensor.Tensor, _ int) float64 { return g.Item64() / den }
	}
	d32 := float32(den)
	switch r {
	case ReduceNone:
		return per, func(g *tensor.Tensor, i int) float64 { return float64(g.Data()[i]) }
	case ReduceSum:
		return tensor.Scalar(float32(tensor.SumInOrder64(per.Data()))), func(g *tensor.Tensor, _ int) float64 { return float64(g.Item()) }
	}
	return tensor.Scalar(float32(tensor.SumInOrder64(per.Data()) / float64(d32))), func(g *tensor.Tensor, _ int) float64 { return float64(g.Item() / d32) }
}

// nllRows is NLLLoss on rows [M,C]; ReduceNone gives [M].
func nllRows(op string, logp *Value, targets []int, c lossConfig) *Value {
	m, nc := logp.Shape()[0], logp.Shape()[1]
	den := c.nllDenominator(op, targets, m, nc, logp.Data.DType())
	y, scale := reduceRows(tensor.NLLRows(logp.Data, targets, c.ignoreIndex, c.weight), c.reduction, den)
	out := result(y, logp)
	out.onBackward(func() {
		// d(-w·logp[t])/dlogp[t] = -w, scaled by the reduction
		logp.addGrad(tensor.NLLGrad(logp.Data.DType(), m, nc, targets, c.ignoreIndex, c.rowCoefs(targets, out.Grad, scale)))
	})
	return out
}

// smoothRows is the label-smoothing term on rows [M,C]:
// Σ_c -w_c·logp_c per row, reduced with nll's denominator.
func smoothRows(logp *Value, targets []int, c lossConfig) *Value {
	m, nc := logp.Shape()[0], logp.Shape()[1]
	den := c.nllDenominator("autograd.CrossEntropy", targets, m, nc, logp.Data.DType())
	y, scale := reduceRows(tensor.SmoothRows(logp.Data, targets, c.ignoreIndex, c.weight), c.reduction, den)
	out := result(y, logp)
	out.onBackward(func() {
		rs := make([]float64, m)
		for i := range rs {
			rs[i] = scale(out.Grad, i)
		}
		// d(Σ -w_c·logp_c)/dlogp_c = -w_c, scaled by the reduction
		logp.addGrad(tensor.SmoothGrad(logp.Data.DType(), m, nc, targets, c.ignoreIndex, c.weight, rs))
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
func pointwiseLoss(input, target *Value, c lossConfig, per, dx, dt *tensor.Tensor) *Value {
	y, scale := reduceRows(tensor.Reshape(per, -1), c.reduction, float64(per.Size()))
	if c.reduction == ReduceNone {
		y = tensor.Reshape(y, input.Shape()...)
	}
	out := result(y, input, target)
	out.onBackward(func() {
		// dl/dx and dl/dt per element, times the upstream gradient: one
		// value per element for ReduceNone, the reduction's factor otherwise.
		for _, p := range []struct {
			v *Value
			d *tensor.Tensor
		}{{input, dx}, {target, dt}} {
			if !p.v.requiresGrad {
				continue
			}
			d := p.d
			switch {
			case c.reduction == ReduceNone:
				p.v.addGrad(tensor.Mul(d, out.Grad))
			case d.DType() == tensor.Float32:
				p.v.addGrad(tensor.Scale(d, float32(scale(out.Grad, 0))))
			default:
				p.v.addGrad(tensor.Mul(d, tensor.ScalarOf(d.DType(), scale(out.Grad, 0))))
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
		w = tensor.BroadcastTo(c.weight.To(input.Data.DType()), shape...)
	}
	if c.posWeight != nil {
		pw = tensor.BroadcastTo(c.posWeight.To(input.Data.DType()), shape...)
	}
	// dl/dx = w·((1-t) - k·σ(-x)); dl/dt = w·(-x + (pw-1)·softplus(-x))
	per, dx, dt := tensor.BCEWithLogitsElems(input.Data, target.Data, w, pw)
	return pointwiseLoss(input, target, c, per, dx, dt)
}
