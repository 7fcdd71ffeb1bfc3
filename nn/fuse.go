package nn

import (
	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// forwardFused applies layers[i] to x, together with the layers after it
// when it has a fused form for them (see [Fuser]): the same values and
// gradients, bit for bit, in fewer passes over memory. The built-in forms:
//
//	Conv2d ReLU MaxPool2d  →  ag.Conv2dReLUMaxPool2d
//	Conv2d ReLU            →  ag.Conv2dReLU
//	Linear ReLU            →  ag.LinearReLU
//
// It returns the output and how many layers it consumed.
func forwardFused(layers []Module, i int, x *ag.Value) (*ag.Value, int) {
	return forwardFusedPrepared(layers, i, x, nil)
}

// forwardFusedPrepared is forwardFused with p's prepared forms of the
// layers (nil: none).
func forwardFusedPrepared(layers []Module, i int, x *ag.Value, p *Inference) (*ag.Value, int) {
	if c, ok := layers[i].(*Conv2dModule); ok && p != nil {
		if f := p.filters[c]; f != nil {
			if y, n := c.forwardBN(x, layers[i+1:], f); n > 0 {
				return y, n
			}
		}
	}
	if f, ok := layers[i].(Fuser); ok {
		if y, n := f.ForwardFused(x, layers[i+1:]); n > 0 {
			return y, n
		}
	}
	return layers[i].Forward(x), 1
}

// ForwardFused computes Conv2d-ReLU-MaxPool2d or Conv2d-ReLU as one op
// when next starts with ReLU (and MaxPool2d); see [Fuser]. Without a
// graph (inference) it also takes an evaluation-mode BatchNorm2d
// between the convolution and the ReLU into the op.
func (l *Conv2dModule) ForwardFused(x *ag.Value, next []Module) (*ag.Value, int) {
	if y, n := l.forwardBN(x, next, nil); n > 0 {
		return y, n
	}
	if len(next) == 0 || !isReLU(next[0]) {
		return nil, 0
	}
	if len(next) > 1 {
		if p, ok := next[1].(*MaxPool2dModule); ok {
			return ag.Conv2dReLUMaxPool2d(x, l.Weight, l.Bias, l.Params, p.Params), 3
		}
	}
	return ag.Conv2dReLU(x, l.Weight, l.Bias, l.Params), 2
}

// ForwardFused computes Linear-ReLU as one op when next starts with ReLU;
// see [Fuser].
func (l *LinearModule) ForwardFused(x *ag.Value, next []Module) (*ag.Value, int) {
	if len(next) == 0 || !isReLU(next[0]) {
		return nil, 0
	}
	return ag.LinearReLU(x, l.Weight, l.Bias), 2
}

func isReLU(m Module) bool {
	_, ok := m.(*ReLUModule)
	return ok
}

// forwardBN computes Conv2d-BatchNorm2d[-ReLU[-MaxPool2d 2×2]] as
// tensor.Conv2dBatchNormReLUWinograd when x needs no graph and the batch
// norm is in evaluation mode with running statistics, in one pass over the
// output: the values of the separate layers bit for bit, except that a 3×3
// stride-1 convolution of 16 or more channels runs as Winograd F(2×2, 3×3)
// or F(4×4, 3×3) (see tensor.Conv2dBatchNormReLUWinograd) and differs from them by
// rounding, its transformed weight taken from f where f is not nil (and was
// made from the weight's present values), and one of one input channel
// runs directly (the separate layers' values on AVX2). It returns n = 0
// where that does not apply.
func (l *Conv2dModule) forwardBN(x *ag.Value, next []Module, f *tensor.WinogradFilter) (*ag.Value, int) {
	if len(next) == 0 || !x.NoGraph() || x.Data == nil || x.Data.Dims() != 4 {
		return nil, 0
	}
	bn, ok := next[0].(*BatchNormModule)
	if !ok || bn.Dims != 2 || bn.Training() || bn.RunningMean == nil || bn.RunningVar == nil ||
		l.Weight == nil || l.Weight.Data.Dims() != 4 || bn.NumFeatures != l.Weight.Data.Dim(0) {
		return nil, 0
	}
	n, relu, pool := 1, false, false
	if len(next) > 1 && isReLU(next[1]) {
		n, relu = 2, true
		if len(next) > 2 {
			if p, ok := next[2].(*MaxPool2dModule); ok && p.Params.IsPlain2x2() {
				n, pool = 3, true
			}
		}
	}
	st := tensor.RunningStats(bn.RunningMean, bn.RunningVar, bn.Eps)
	y, arg := tensor.Conv2dBatchNormReLUWinogradFilter(x.Data, l.Weight.Data, f, dataOf(l.Bias), l.Params, st, dataOf(bn.Weight), dataOf(bn.Bias), relu, pool)
	if arg != nil {
		tensor.RecycleInt32s(arg)
	}
	return ag.NoGraph(y), n + 1
}

// dataOf returns v's tensor, nil for a nil v.
func dataOf(v *ag.Value) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.Data
}
