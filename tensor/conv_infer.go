package tensor

import (
	"bytes"
	"fmt"
	"sync"
	"unsafe"
)

// Conv2dBatchNormReLU returns ReLU(BatchNorm(Conv2d(x, w, bias, p), bnWeight,
// bnBias, st)) (without relu, the batch norm's output) and, with pool,
// MaxPool2d of that over 2×2 windows with stride 2 and no padding,
// together with MaxPool2d's argmax indices (from the pool that
// RecycleInt32s fills; nil without pool). The values are those of the
// separate ops bit for bit, computed in one pass over the output while
// each plane of the GEMM's result is still in cache: the batch-norm,
// ReLU and pooling passes over memory go. It keeps nothing for a
// backward pass: the inference form of a conv-batchnorm-ReLU block
// (evaluation mode, st from RunningStats). bnWeight and bnBias may be nil
// (1 and 0), as in BatchNorm.
func Conv2dBatchNormReLU(x, w, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias *Tensor, relu, pool bool) (*Tensor, []int32) {
	return conv2dBNReLU(x, w, nil, bias, p, st, bnWeight, bnBias, relu, pool, false)
}

// conv2dBNReLU is Conv2dBatchNormReLU, its convolution by Winograd's
// F(2×2, 3×3) or F(4×4, 3×3) (winoWeightsFor) with wino where winograd
// allows (with f's transformed weights where f is not nil and was made
// from w's values), or directly for one input channel (direct1).
func conv2dBNReLU(x, w *Tensor, f *WinogradFilter, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias *Tensor, relu, pool, wino bool) (*Tensor, []int32) {
	x, w, bias, bnWeight, bnBias = contig(x), contig(w), contig(bias), contig(bnWeight), contig(bnBias)
	if is64("tensor.Conv2dBatchNormReLU", x, w, bias) || st.Mean == nil {
		y := BatchNorm(Conv2d(x, w, bias, p), bnWeight, bnBias, st)
		if relu || pool {
			y = ReLU(y)
		}
		if !pool {
			return y, nil
		}
		return MaxPool2d(y, PoolParams{Kernel: [2]int{2, 2}})
	}
	g := newConvGeom(x, w, p)
	if len(st.Mean) != g.o || len(st.InvStd) != g.o {
		panic(fmt.Sprintf("tensor.Conv2dBatchNormReLU: %d statistics for %d channels", len(st.Mean), g.o))
	}
	bn := newConvBN(st, bnWeight, bnBias)
	var wu []float32
	if wino && g.winograd() && g.n >= winoBatch() { // forward's Winograd path
		u, fresh := g.winoWeightsFor(w, f, f.madeFrom(w), pool)
		if fresh {
			defer putFloats(u)
		}
		wu = u
	}
	if !pool {
		out := Empty(g.n, g.o, g.oh, g.ow)
		g.forward(x, w, bias, false, convOut{relu: relu, out: out.data, bn: bn, wino: wino, wu: wu})
		return out, nil
	}
	ph, pw := g.oh/2, g.ow/2
	if ph < 1 || pw < 1 {
		panic(fmt.Sprintf("tensor.Conv2dBatchNormReLU: output %d×%d too small for 2×2 pooling", g.oh, g.ow))
	}
	pooled := Empty(g.n, g.o, ph, pw)
	arg := Int32s(len(pooled.data))
	dst := convOut{relu: true, pool: true, pooled: pooled.data, arg: arg, ph: ph, pw: pw, bn: bn, wino: wino, wu: wu}
	if wino && g.direct1() {
		g.direct1Pooled(x, w, bias, dst)
		return pooled, arg
	}
	g.forward(x, w, bias, false, dst)
	return pooled, arg
}

// convBN is an evaluation-mode batch norm applied by the convolution's
// layout pass: dst = (y - mean)·scale + shift per output channel.
type convBN struct {
	mean, scale, shift []float32
}

// newConvBN computes an evaluation-mode batch norm's per-channel factors
// from its statistics and its (optional) weight and bias, as BatchNorm
// computes them: scale = InvStd·weight, shift = bias.
func newConvBN(st NormStats, weight, bias *Tensor) *convBN {
	o := len(st.Mean)
	bn := &convBN{mean: st.Mean, scale: make([]float32, o), shift: make([]float32, o)}
	for c := range o {
		bn.scale[c] = st.InvStd[c]
		if weight != nil {
			bn.scale[c] *= weight.data[c]
		}
		if bias != nil {
			bn.shift[c] = bias.data[c]
		}
	}
	return bn
}

// apply normalises one plane of output channel oc in place, then takes
// max(·, 0) with relu: BatchNorm's and ReLU's expressions.
func (bn *convBN) apply(d []float32, oc int, relu bool) {
	mean, scale, shift := bn.mean[oc], bn.scale[oc], bn.shift[oc]
	k := bnAffineVec(d, d, mean, scale, shift)
	for j, v := range d[k:] {
		d[k+j] = (v-mean)*scale + shift
	}
	if relu {
		biasReLU(d, d, 1, 0, false, true)
	}
}

// WinogradFilter is a 3×3 convolution's weight transformed once for
// Winograd's F(2×2, 3×3) (16/9 of the weight's size) and, on the first
// call that takes F(4×4, 3×3), for that too (4 times the weight's size,
// kept from then on), for models that run inference many times with
// the same weights (a server): Conv2dBatchNormReLUWinogradFilter then
// skips the transform each call would make (at batch 1, a fifth of a
// 32→64-channel convolution's time). It keeps a copy of the weight it was
// made from, and a call whose weight no longer holds those values
// transforms it again, so a stale filter costs time, never a wrong answer.
// It is read only: safe for concurrent use.
type WinogradFilter struct {
	w      []float32 // the weight's values, as made from
	u      []float32 // winoWeightsPacked's or winoWeights' layout, as winoForward takes it
	o, c   int
	once43 sync.Once
	u43    []float32 // wino43WeightsPacked's layout, made on its first use (weights43)
}

// NewWinogradFilter transforms w [O,C,3,3] for a convolution with
// parameters p, or returns nil where such a convolution does not take
// the Winograd path (another kernel size, stride or dilation, groups, too
// few input channels, a float64 weight).
func NewWinogradFilter(w *Tensor, p ConvParams) *WinogradFilter {
	p = p.withDefaults()
	if w == nil || w.DType() != Float32 || w.Dims() != 4 || w.shape[2] != 3 || w.shape[3] != 3 {
		return nil
	}
	g := convGeom{c: w.shape[1], o: w.shape[0], kh: 3, kw: 3, g: p.Groups, p: p}
	if !g.winograd() {
		return nil
	}
	w = contig(w)
	f := &WinogradFilter{w: append([]float32(nil), w.data...), o: g.o, c: g.c}
	var u []float32
	if winoMulOK() {
		u = winoWeightsPacked(w.data, g.o, g.c)
	} else {
		u = winoWeights(w.data, g.o, g.c)
	}
	// out of the pool: the filter keeps it
	f.u = append([]float32(nil), u...)
	putFloats(u)
	return f
}

// madeFrom reports whether f (which may be nil) was made from w's present
// values.
func (f *WinogradFilter) madeFrom(w *Tensor) bool {
	if f == nil || w.DType() != Float32 || len(w.data) != len(f.w) || len(f.w) == 0 ||
		w.shape[0] != f.o || w.shape[1] != f.c {
		return false
	}
	b := func(s []float32) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s)) }
	return bytes.Equal(b(w.data), b(f.w))
}

// Conv2dBatchNormReLUWinogradFilter is Conv2dBatchNormReLUWinograd with
// the transformed weight taken from f, made by NewWinogradFilter from w's
// values (a nil f, or one made from other values, is transformed again):
// the same values bit for bit.
func Conv2dBatchNormReLUWinogradFilter(x, w *Tensor, f *WinogradFilter, bias *Tensor, p ConvParams, st NormStats, bnWeight, bnBias *Tensor, relu, pool bool) (*Tensor, []int32) {
	return conv2dBNReLU(x, w, f, bias, p, st, bnWeight, bnBias, relu, pool, true)
}
