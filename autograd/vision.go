package autograd

import (
	"fmt"

	"github.com/backprop-go/backprop/tensor"
)

// The ops of modern vision networks. The normalisations are composed from
// other ops (their gradients follow); the activations, adaptive pooling
// and interpolation have kernels in package tensor; the transposed
// convolution is the convolution's backward pass run forwards.

// Hardtanh returns x limited to [lo, hi], as torch.nn.functional.hardtanh;
// ReLU6 is Hardtanh(x, 0, 6).
func Hardtanh(x *Value, lo, hi float32) *Value {
	if lo > hi {
		panic(fmt.Sprintf("autograd.Hardtanh: min %v above max %v", lo, hi))
	}
	out := fresh(tensor.Hardtanh(x.Data, lo, hi), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.HardtanhGrad(out.Grad, x.Data, lo, hi)) // d/dx = [lo < x < hi]
	})
	return out
}

// ReLU6 returns min(max(x, 0), 6), as torch.nn.functional.relu6.
func ReLU6(x *Value) *Value { return Hardtanh(x, 0, 6) }

// Hardsigmoid returns relu6(x+3)/6, as torch.nn.functional.hardsigmoid.
func Hardsigmoid(x *Value) *Value {
	out := fresh(tensor.Hardsigmoid(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.HardsigmoidGrad(out.Grad, x.Data)) // d/dx = 1/6 for -3 < x < 3
	})
	return out
}

// Hardswish returns x·relu6(x+3)/6, as torch.nn.functional.hardswish.
func Hardswish(x *Value) *Value {
	out := fresh(tensor.Hardswish(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.HardswishGrad(out.Grad, x.Data)) // d/dx = x/3 + 1/2 on [-3, 3]
	})
	return out
}

// Mish returns x·tanh(softplus(x)), as torch.nn.functional.mish.
func Mish(x *Value) *Value {
	out := fresh(tensor.Mish(x.Data), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.MishGrad(out.Grad, x.Data)) // d/dx = tanh(sp) + x·σ(x)·(1 - tanh²(sp))
	})
	return out
}

// AdaptiveAvgPool2d averages x [N,C,H,W] into an oh×ow output, as
// torch.nn.functional.adaptive_avg_pool2d: output row i covers input rows
// floor(i·H/oh) to ceil((i+1)·H/oh), the columns alike.
func AdaptiveAvgPool2d(x *Value, oh, ow int) *Value {
	out := fresh(tensor.AdaptiveAvgPool2d(x.Data, oh, ow), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.AdaptiveAvgPool2dBackward(x.Data, out.Grad)) // d(mean)/dx = 1/window size
	})
	return out
}

// InterpParams re-exports tensor.InterpParams, the attributes of
// Interpolate.
type InterpParams = tensor.InterpParams

// Interpolate resizes x [N,C,H,W] by nearest or bilinear interpolation, as
// torch.nn.functional.interpolate.
func Interpolate(x *Value, p InterpParams) *Value {
	out := fresh(tensor.Interpolate(x.Data, p), x)
	out.onBackward(func() {
		x.addGradOwned(tensor.InterpolateBackward(x.Data, out.Grad, p)) // each tap's weight
	})
	return out
}

// GroupNorm normalises x [N,C,*] over each group of C/numGroups channels
// (and all the positions), then scales and shifts per channel by weight
// and bias ([C] each, either may be nil), as torch.nn.functional.group_norm.
// It is LayerNorm over x seen as [N, numGroups, rest].
func GroupNorm(x *Value, numGroups int, weight, bias *Value, eps float32) *Value {
	xs := x.Shape()
	if len(xs) < 2 || numGroups < 1 || xs[1]%numGroups != 0 {
		panic(fmt.Sprintf("autograd.GroupNorm: input %v must be [N, C, *] with C divisible by %d groups", xs, numGroups))
	}
	c := xs[1]
	for _, v := range []*Value{weight, bias} {
		if v != nil && (v.Data.Dims() != 1 || v.Shape()[0] != c) {
			panic(fmt.Sprintf("autograd.GroupNorm: weight or bias of shape %v for %d channels", v.Shape(), c))
		}
	}
	rest := x.Data.Size() / (xs[0] * numGroups)
	y := Reshape(LayerNorm(Reshape(x, xs[0], numGroups, rest), []int{rest}, nil, nil, eps), xs...)
	return channelAffine(y, weight, bias)
}

// channelAffine returns y·weight + bias with weight and bias [C] applied
// along dimension 1 of y [N, C, *].
func channelAffine(y, weight, bias *Value) *Value {
	shape := make([]int, y.Data.Dims()-1)
	for i := range shape {
		shape[i] = 1
	}
	shape[0] = y.Shape()[1]
	if weight != nil {
		y = Mul(y, Reshape(weight, shape...))
	}
	if bias != nil {
		y = Add(y, Reshape(bias, shape...))
	}
	return y
}

// RMSNorm returns x·rsqrt(mean(x², last dims) + eps)·weight, the mean over
// the last len(normalizedShape) dimensions, which must equal
// normalizedShape; weight (of that shape) may be nil. It is
// torch.nn.functional.rms_norm; PyTorch's default eps (None) is the
// dtype's machine epsilon, 1.1920929e-07 for float32.
func RMSNorm(x *Value, normalizedShape []int, weight *Value, eps float32) *Value {
	xs := x.Shape()
	k := len(normalizedShape)
	if k == 0 || k > len(xs) || !tensor.EqualShapes(xs[len(xs)-k:], normalizedShape) {
		panic(fmt.Sprintf("autograd.RMSNorm: input %v does not end in normalized shape %v", xs, normalizedShape))
	}
	if weight != nil && !tensor.EqualShapes(weight.Shape(), normalizedShape) {
		panic(fmt.Sprintf("autograd.RMSNorm: weight of shape %v for normalized shape %v", weight.Shape(), normalizedShape))
	}
	dims := make([]int, k)
	for i := range dims {
		dims[i] = len(xs) - k + i
	}
	ms := MeanDims(Mul(x, x), dims, true)
	y := Mul(x, PowScalar(AddScalar(ms, eps), -0.5))
	if weight != nil {
		y = Mul(y, weight)
	}
	return y
}

// ConvTransposeParams are the attributes of a transposed convolution, as
// torch.nn.functional.conv_transpose2d: [height, width] pairs and groups;
// zero values mean the defaults (stride 1, padding 0, output padding 0,
// dilation 1, groups 1).
type ConvTransposeParams struct {
	Stride, Padding, OutputPadding, Dilation [2]int
	Groups                                   int
}

// conv returns the convolution whose input gradient this transposed
// convolution computes.
func (p ConvTransposeParams) conv() ConvParams {
	return ConvParams{Stride: p.Stride, Padding: p.Padding, Dilation: p.Dilation, Groups: p.Groups}
}

// ConvTransposeOutSize is a transposed convolution's output length:
// (in-1)·stride - 2·pad + dil·(k-1) + outPad + 1.
func ConvTransposeOutSize(in, k, stride, pad, outPad, dil int) int {
	return (in-1)*max(stride, 1) - 2*pad + max(dil, 1)*(k-1) + outPad + 1
}

// ConvTranspose2d returns the transposed convolution of x [N,Cin,H,W] with
// weight [Cin, Cout/groups, kh, kw] plus bias [Cout] (may be nil), as
// torch.nn.functional.conv_transpose2d: the gradient of Conv2d (weight
// read as [O=Cin, I/groups=Cout/groups]) with respect to its input.
func ConvTranspose2d(x, weight, bias *Value, p ConvTransposeParams) *Value {
	xs, ws := x.Shape(), weight.Shape()
	g := max(p.Groups, 1)
	if len(xs) != 4 || len(ws) != 4 || xs[1] != ws[0] || ws[0]%g != 0 {
		panic(fmt.Sprintf("autograd.ConvTranspose2d: input %v and weight %v must be [N, Cin, H, W] and [Cin, Cout/groups, kh, kw] with groups=%d dividing Cin", xs, ws, g))
	}
	cp := p.conv()
	size := [2]int{}
	for i := range 2 {
		s, d, op := max(p.Stride[i], 1), max(p.Dilation[i], 1), p.OutputPadding[i]
		if op < 0 || (op >= s && op >= d) || p.Padding[i] < 0 {
			panic(fmt.Sprintf("autograd.ConvTranspose2d: output padding %v must be smaller than stride %v or dilation %v", p.OutputPadding, p.Stride, p.Dilation))
		}
		size[i] = ConvTransposeOutSize(xs[2+i], ws[2+i], s, p.Padding[i], op, d)
		if size[i] < 1 {
			panic(fmt.Sprintf("autograd.ConvTranspose2d: input %v and weight %v with %+v give an empty output", xs, ws, p))
		}
		// An output padding of at least the stride (allowed below the
		// dilation) makes the convolution of the output one position
		// longer than x: pad x with zeros there, which add nothing.
		if extra := tensor.ConvOutSize(size[i], ws[2+i], s, p.Padding[i], d) - xs[2+i]; extra > 0 {
			zs := append([]int{}, x.Shape()...)
			zs[2+i] = extra
			x = Concat(2+i, x, Const(tensor.ZerosOf(x.Data.DType(), zs...)))
		}
	}
	return channelAffine(convTranspose(x, weight, cp, size), nil, bias)
}

// convTranspose is ConvTranspose2d without bias: y = col2im(Wᵀ·x) for the
// convolution cp whose input is [N, Cout, size].
func convTranspose(x, weight *Value, cp ConvParams, size [2]int) *Value {
	xs, ws := x.Shape(), weight.Shape()
	g := max(cp.Groups, 1)
	ys := []int{xs[0], ws[1] * g, size[0], size[1]}
	// The convolution's input gradient needs its input only for the shape.
	shape := tensor.ZerosOf(x.Data.DType(), ys...)
	y, _, _ := tensor.Conv2dGrads(shape, weight.Data, x.Data, cp, true, false, false)
	out := fresh(y, x, weight)
	out.onBackward(func() {
		// dx = conv2d(G, W); dW = the convolution's weight gradient with G as its input and x as its output gradient
		if x.requiresGrad {
			x.addGradOwned(tensor.Conv2d(out.Grad, weight.Data, nil, cp))
		}
		if weight.requiresGrad {
			_, dw, _ := tensor.Conv2dGrads(out.Grad, weight.Data, x.Data, cp, false, true, false)
			weight.addGradOwned(dw)
		}
	})
	return out
}
