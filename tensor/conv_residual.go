package tensor

import "fmt"

// winoMinInferTiles is the fewest 2×2 tiles (over the batch) for which
// Conv2dBatchNormResidual takes the Winograd path: its weight transform
// and the packing of U cost O·C per ξ whatever the batch, repaid by the
// products' 2.25× fewer multiply-adds once there are a few dozen tiles.
// Measured on this project's AVX2 machine (BenchmarkConvResidualPaths, CPU
// time, one image at 224×224): Winograd 5.6 against im2col 9.0 ms at
// 64 channels of 56×56 (784 tiles), 5.0 against 8.0 at 128 of 28×28,
// 6.9 against 9.7 at 256 of 14×14 (49 tiles), but 12.0 against 8.9 at
// 512 of 7×7 (16 tiles); 58 against 70 ms for 8 images of 512×7×7.
const winoMinInferTiles = 32

// winoMinInferTilesPrepared is winoMinInferTiles for a weight transformed
// beforehand (Conv2dBatchNormResidualFilter), which leaves the products'
// cost alone to weigh against im2col's. Measured as winoMinInferTiles
// (BenchmarkConvResidualPrepared, CPU time, one image): 5.7 against im2col
// 9.4 ms at 512 channels of 7×7 (16 tiles), 1.5 against 2.4 at 256 of 7×7,
// but 6.5 against 4.7 at 512 of 5×5 (9 tiles) and 1.7 against 1.3 at 256
// of 5×5.
const winoMinInferTilesPrepared = 16

// Conv2dBatchNormResidual returns BatchNorm(Conv2d(x, w, bias, p)), plus
// res when res is not nil (of the output's shape), then ReLU with relu:
// the inference form of ResNet's conv-batchnorm(-add)-ReLU, in one pass
// over the output while each plane of the product is still in cache. The
// batch norm is in evaluation mode (st from RunningStats); bnWeight and
// bnBias may be nil (1 and 0). The expressions are those of the separate
// ops (BatchNorm, Add, ReLU), bit for bit, except that a convolution that
// Winograd F(2×2, 3×3) suits (a 3×3 kernel, stride and dilation 1, one
// group, at least 16 input channels, and at least 32 tiles of 2×2 outputs
// over the batch) is computed by it and differs from im2col's
// by rounding (by F(4×4, 3×3) with AVX2 and FMA where an image's output
// holds at least 16 tiles of 4×4, which rounds more: within 8e-6 of the
// largest output, as Conv2dBatchNormReLUWinograd says); the results do not
// depend on the thread count.
func Conv2dBatchNormResidual(x, w, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias, res *Tensor, relu bool) *Tensor {
	return conv2dBNResidual(x, w, nil, bias, p, st, bnWeight, bnBias, res, relu)
}

// Conv2dBatchNormResidualFilter is Conv2dBatchNormResidual with the
// Winograd-transformed weight taken from f, made by NewWinogradFilter from
// w's values (a nil f, or one made from other values, is transformed
// again), for models that run inference many times with the same weights:
// the same values bit for bit. With a prepared weight the Winograd path
// pays from fewer tiles (winoMinInferTilesPrepared), so at batch 1 it
// also takes ResNet's 7×7 planes of 512 channels.
func Conv2dBatchNormResidualFilter(x, w *Tensor, f *WinogradFilter, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias, res *Tensor, relu bool) *Tensor {
	return conv2dBNResidual(x, w, f, bias, p, st, bnWeight, bnBias, res, relu)
}

// conv2dBNResidual is Conv2dBatchNormResidual, with f's transformed weight
// where f is not nil and was made from w's values.
func conv2dBNResidual(x, w *Tensor, f *WinogradFilter, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias, res *Tensor, relu bool) *Tensor {
	x, w, bias, bnWeight, bnBias, res = contig(x), contig(w), contig(bias), contig(bnWeight), contig(bnBias), contig(res)
	if is64("tensor.Conv2dBatchNormResidual", x, w, bias, res) || st.Mean == nil {
		y := BatchNorm(Conv2d(x, w, bias, p), bnWeight, bnBias, st)
		if res != nil {
			y = Add(y, res)
		}
		if relu {
			y = ReLU(y)
		}
		return y
	}
	g := newConvGeom(x, w, p)
	if len(st.Mean) != g.o || len(st.InvStd) != g.o {
		panic(fmt.Sprintf("tensor.Conv2dBatchNormResidual: %d statistics for %d channels", len(st.Mean), g.o))
	}
	if res != nil && !EqualShapes(res.shape, []int{g.n, g.o, g.oh, g.ow}) {
		panic(fmt.Sprintf("tensor.Conv2dBatchNormResidual: residual %v for output [%d %d %d %d]", res.shape, g.n, g.o, g.oh, g.ow))
	}
	if bias != nil && (bias.Dims() != 1 || bias.shape[0] != g.o) {
		panic(fmt.Sprintf("tensor.Conv2d: bias %v for %d output channels", bias.shape, g.o))
	}
	bn := newConvBN(st, bnWeight, bnBias)
	out := Empty(g.n, g.o, g.oh, g.ow)
	dst := convOut{relu: relu, out: out.data, bn: bn}
	if res != nil {
		dst.res = res.data
	}
	tiles := g.n * ((g.oh + 1) / 2) * ((g.ow + 1) / 2)
	minTiles := winoMinInferTiles
	made := f.matchesParallel(w)
	if made {
		minTiles = winoMinInferTilesPrepared
	}
	if g.winograd() && tiles >= minTiles {
		u, fresh := g.winoWeightsFor(w, f, made, false)
		if fresh {
			defer putFloats(u)
		}
		dst.wu = u
		g.winoForward(x, w, bias, dst)
		return out
	}
	g.forward(x, w, bias, false, dst)
	return out
}

// addResidual adds the residual plane r to d, then applies max(·, 0) with
// relu: Add's and ReLU's expressions.
func addResidual(d, r []float32, relu bool) {
	addAll(d, r)
	if relu {
		biasReLU(d, d, 1, 0, false, true)
	}
}
