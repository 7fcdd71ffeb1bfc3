package nn

import ag "github.com/backprop-go/backprop/autograd"

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
	if f, ok := layers[i].(Fuser); ok {
		if y, n := f.ForwardFused(x, layers[i+1:]); n > 0 {
			return y, n
		}
	}
	return layers[i].Forward(x), 1
}

// ForwardFused computes Conv2d-ReLU-MaxPool2d or Conv2d-ReLU as one op
// when next starts with ReLU (and MaxPool2d); see [Fuser].
func (l *Conv2dModule) ForwardFused(x *ag.Value, next []Module) (*ag.Value, int) {
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
