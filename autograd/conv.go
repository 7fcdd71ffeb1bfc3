package autograd

import "github.com/backprop-go/backprop/tensor"

// ConvParams re-exports tensor.ConvParams: stride, padding and dilation as
// [height, width] pairs and groups; zero values mean PyTorch's defaults.
type ConvParams = tensor.ConvParams

// PoolParams re-exports tensor.PoolParams for MaxPool2d and AvgPool2d.
type PoolParams = tensor.PoolParams

// Conv2d returns the 2-D convolution (cross-correlation) of x [N,C,H,W] with
// weight [O,C/groups,kh,kw] plus bias [O] (bias may be nil), as
// torch.nn.functional.conv2d. In training (the weight requires its
// gradient and a graph is recorded) a float32 3×3 stride-1 convolution of
// at least 64 input and output channels and a batch of
// tensor.WinogradMinBatch runs as Winograd F(2×2, 3×3) in both directions
// (tensor.Conv2dWinogradKeep), which differs from im2col by rounding only.
func Conv2d(x, weight, bias *Value, p ConvParams) *Value {
	b := dataOf(bias)
	// The backward pass reuses what the forward kept: Winograd's input
	// transform (or im2col's columns).
	keep := weight.requiresGrad && recording(x, weight, bias)
	var y *tensor.Tensor
	var cols *tensor.ConvCols
	if keep {
		y, cols = tensor.Conv2dWinogradKeep(x.Data, weight.Data, b, p)
	} else {
		y = tensor.Conv2d(x.Data, weight.Data, b, p)
	}
	out := fresh(y, x, weight, bias)
	out.onBackward(func() {
		// dx = col2im(Wᵀ·G), dW = G·im2col(x)ᵀ, db = Σ_{n,y,x} G
		wantB := bias != nil && bias.requiresGrad
		dx, dw, db := tensor.Conv2dGradsKeep(x.Data, weight.Data, out.Grad, p, cols, x.requiresGrad, weight.requiresGrad, wantB)
		addConvGrads(x, weight, bias, dx, dw, db)
	})
	return out
}

// Conv2dReLU returns ReLU(Conv2d(x, weight, bias, p)), bit for bit, with
// the bias and the ReLU applied in the pass that lays out the convolution's
// result and the ReLU's derivative applied in the pass that lays out its
// gradient: two passes over the activations fewer in each direction than
// the two ops apart. In training it takes Winograd where Conv2d does.
func Conv2dReLU(x, weight, bias *Value, p ConvParams) *Value {
	b := dataOf(bias)
	var y *tensor.Tensor
	var cols *tensor.ConvCols
	if weight.requiresGrad && recording(x, weight, bias) {
		y, cols = tensor.Conv2dReLUWinogradKeep(x.Data, weight.Data, b, p)
	} else {
		y, cols = tensor.Conv2dReLUKeep(x.Data, weight.Data, b, p)
		cols.Release()
		cols = nil
	}
	out := fresh(y, x, weight, bias)
	if !out.requiresGrad {
		cols.Release()
	}
	out.onBackward(func() {
		// G' = G·[y > 0]; dx = col2im(Wᵀ·G'), dW = G'·im2col(x)ᵀ, db = Σ G'
		wantB := bias != nil && bias.requiresGrad
		dx, dw, db := tensor.Conv2dReLUGradsKeep(x.Data, weight.Data, out.Data, out.Grad, p, cols, x.requiresGrad, weight.requiresGrad, wantB)
		addConvGrads(x, weight, bias, dx, dw, db)
	})
	return out
}

// Conv2dReLUMaxPool2d returns MaxPool2d(Conv2dReLU(x, weight, bias, p),
// pool), bit for bit, values and gradients. For the common 2×2 window with
// stride 2 and no padding it never stores the unpooled activations: each
// plane is built in a scratch buffer and pooled at once, and the backward
// pass writes the convolution's gradient straight from the pooled one.
// Other pooling parameters run the two ops.
func Conv2dReLUMaxPool2d(x, weight, bias *Value, p ConvParams, pool PoolParams) *Value {
	if !pool.IsPlain2x2() {
		return MaxPool2d(Conv2dReLU(x, weight, bias, p), pool)
	}
	b := dataOf(bias)
	y, arg, cols := tensor.Conv2dReLUMaxPool2Keep(x.Data, weight.Data, b, p)
	if !weight.requiresGrad || !recording(x, weight, bias) {
		cols.Release()
		cols = nil
	}
	out := fresh(y, x, weight, bias)
	if !out.requiresGrad {
		cols.Release()
		tensor.RecycleInt32s(arg)
	}
	out.onBackward(func() {
		wantB := bias != nil && bias.requiresGrad
		dx, dw, db := tensor.Conv2dReLUMaxPool2GradsKeep(x.Data, weight.Data, out.Data, out.Grad, arg, p, cols, x.requiresGrad, weight.requiresGrad, wantB)
		tensor.RecycleInt32s(arg)
		addConvGrads(x, weight, bias, dx, dw, db)
	})
	return out
}

// addConvGrads hands a convolution's gradients to its inputs; a gradient
// not computed is nil.
func addConvGrads(x, weight, bias *Value, dx, dw, db *tensor.Tensor) {
	if dx != nil {
		x.addGradOwned(dx)
	}
	if dw != nil {
		weight.addGradOwned(dw)
	}
	if db != nil {
		bias.addGradOwned(db)
	}
}

// MaxPool2d returns the maximum over each window of x ([N,C,H,W] or
// [C,H,W]); the gradient flows to the element chosen.
func MaxPool2d(x *Value, p PoolParams) *Value {
	y, arg := tensor.MaxPool2d(x.Data, p)
	out := fresh(y, x)
	if !out.requiresGrad {
		tensor.RecycleInt32s(arg)
	}
	out.onBackward(func() {
		x.addGradOwned(tensor.MaxPool2dBackward(x.Data, out.Grad, arg)) // d(max)/dx = 1 at the argmax
		tensor.RecycleInt32s(arg)
	})
	return out
}

// AvgPool2d returns the mean over each window of x ([N,C,H,W] or [C,H,W]).
// Note that PoolParams.CountIncludePad is false in its zero value, while
// PyTorch's default is true.
func AvgPool2d(x *Value, p PoolParams) *Value {
	out := fresh(tensor.AvgPool2d(x.Data, p), x)
	out.onBackward(func() {
		x.addGrad(tensor.AvgPool2dBackward(x.Data, out.Grad, p)) // d(mean)/dx = 1/divisor
	})
	return out
}
