package autograd

import (
	"fmt"
	"math/rand/v2"

	"github.com/backprop-go/backprop/tensor"
)

// BatchNorm normalises x [N,C,*] per channel and applies weight and bias
// ([C] each, either may be nil), as torch.nn.functional.batch_norm.
//
// In training mode it uses the batch's mean and biased variance and, when
// runningMean and runningVar are not nil, updates them in place:
// running = (1-momentum)·running + momentum·batch, with the unbiased variance.
// In evaluation mode it uses runningMean and runningVar, which must be set.
func BatchNorm(x, weight, bias *Value, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32) *Value {
	var st tensor.NormStats
	if training {
		st = tensor.BatchStats(x.Data, eps)
		if runningMean != nil && runningVar != nil {
			tensor.UpdateRunningStats(runningMean, runningVar, st, momentum)
		}
	} else {
		if runningMean == nil || runningVar == nil {
			panic(fmt.Sprintf("autograd.BatchNorm: evaluation mode on input %v needs running mean and variance", x.Shape()))
		}
		st = tensor.RunningStats(runningMean, runningVar, eps)
	}
	w, b := dataOf(weight), dataOf(bias)
	out := fresh(tensor.BatchNorm(x.Data, w, b, st), x, weight, bias)
	out.onBackward(func() {
		// dx = w·invstd·(g - mean(g) - x̂·mean(g·x̂)) in training; w·invstd·g otherwise
		dx, dw, db := tensor.BatchNormBackward(x.Data, w, out.Grad, st, training)
		x.addGradOwned(dx)
		weight.addGradOwned(dw) // dw = Σ g·x̂
		bias.addGradOwned(db)   // db = Σ g
	})
	return out
}

// LayerNorm normalises x over its last len(normalizedShape) dimensions,
// which must equal normalizedShape, and applies weight and bias (of that
// shape; either may be nil), as torch.nn.functional.layer_norm.
func LayerNorm(x *Value, normalizedShape []int, weight, bias *Value, eps float32) *Value {
	xs := x.Shape()
	k := len(normalizedShape)
	if k > len(xs) || !tensor.EqualShapes(xs[len(xs)-k:], normalizedShape) {
		panic(fmt.Sprintf("autograd.LayerNorm: input %v does not end in normalized shape %v", xs, normalizedShape))
	}
	d := 1
	for _, s := range normalizedShape {
		d *= s
	}
	w, b := dataOf(weight), dataOf(bias)
	for _, t := range []*tensor.Tensor{w, b} {
		if t != nil && t.Size() != d {
			panic(fmt.Sprintf("autograd.LayerNorm: weight or bias of shape %v for normalized shape %v", t.Shape(), normalizedShape))
		}
	}
	st := tensor.LayerNormStats(x.Data, d, eps)
	out := fresh(tensor.LayerNorm(x.Data, w, b, st), x, weight, bias)
	out.onBackward(func() {
		// dx = invstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂)), dx̂ = g·w
		dx, dw, db := tensor.LayerNormBackward(x.Data, w, out.Grad, st)
		x.addGradOwned(dx)
		if weight != nil {
			weight.addGrad(tensor.Reshape(dw, weight.Shape()...)) // dw = Σ g·x̂
		}
		if bias != nil {
			bias.addGrad(tensor.Reshape(db, bias.Shape()...)) // db = Σ g
		}
	})
	return out
}

func dataOf(v *Value) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.Data
}

// Embedding looks up rows of weight [V, D] by indices, returning shape
// [shape..., D], where shape is the indices' shape (len(indices) elements).
// Rows at paddingIdx (when it is >= 0) receive no gradient.
func Embedding(weight *Value, indices []int, shape []int, paddingIdx int) *Value {
	ws := weight.Shape()
	if weight.Data.Dims() != 2 {
		panic(fmt.Sprintf("autograd.Embedding: weight %v must be 2-D [num, dim]", ws))
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	if n != len(indices) {
		panic(fmt.Sprintf("autograd.Embedding: %d indices for shape %v", len(indices), shape))
	}
	y := tensor.GatherRows(weight.Data, indices, shape)
	out := result(y, weight)
	out.onBackward(func() {
		// each looked-up row gets its output's gradient, but the padding row
		weight.addGrad(tensor.ScatterAddRows(out.Grad, indices, ws[0], paddingIdx))
	})
	return out
}

// Dropout zeroes each element of x with probability p and scales the rest
// by 1/(1-p) (inverted dropout), drawing from rng. With training false, or
// p == 0, it returns x unchanged.
func Dropout(x *Value, p float32, training bool, rng *rand.Rand) *Value {
	if !training || p == 0 {
		return x
	}
	if p < 0 || p > 1 {
		panic(fmt.Sprintf("autograd.Dropout: probability %v outside [0, 1]", p))
	}
	scale := float32(0)
	if p < 1 {
		scale = 1 / (1 - p)
	}
	mask := tensor.FromFunc(func(int) float32 {
		if rng.Float32() < p {
			return 0
		}
		return scale
	}, x.Shape()...).To(x.Data.DType())
	out := fresh(tensor.Mul(x.Data, mask), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.Mul(out.Grad, mask)) // d(x·mask)/dx = mask
	})
	return out
}
