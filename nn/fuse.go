package nn

import ag "github.com/backprop-go/backprop/autograd"

// forwardFused applies layers[i] to x, together with the layers after it
// when they form a pattern that autograd computes as one fused op — the
// same values and gradients, bit for bit, in fewer passes over memory:
//
//	Conv2d ReLU MaxPool2d  →  ag.Conv2dReLUMaxPool2d
//	Conv2d ReLU            →  ag.Conv2dReLU
//	Linear ReLU            →  ag.LinearReLU
//
// It returns the output and how many layers it consumed.
func forwardFused(layers []Module, i int, x *ag.Value) (*ag.Value, int) {
	followedByReLU := i+1 < len(layers) && isReLU(layers[i+1])
	switch l := layers[i].(type) {
	case *Conv2dModule:
		if !followedByReLU {
			break
		}
		if i+2 < len(layers) {
			if p, ok := layers[i+2].(*MaxPool2dModule); ok {
				return ag.Conv2dReLUMaxPool2d(x, l.Weight, l.Bias, l.Params, p.Params), 3
			}
		}
		return ag.Conv2dReLU(x, l.Weight, l.Bias, l.Params), 2
	case *LinearModule:
		if followedByReLU {
			return ag.LinearReLU(x, l.Weight, l.Bias), 2
		}
	}
	return layers[i].Forward(x), 1
}

func isReLU(m Module) bool {
	_, ok := m.(*ReLUModule)
	return ok
}
