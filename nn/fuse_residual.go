package nn

import (
	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// The inference form of torchvision's ResNet: without a graph and with
// every batch norm in evaluation mode, each convolution runs together with
// its batch norm, the residual add and the ReLU that follow it as one
// tensor.Conv2dBatchNormResidual (one pass over each output instead of
// three or four, and Winograd F(4×4, 3×3) or F(2×2, 3×3) for the 3×3
// stride-1 convolutions that they suit), the stem's pooling keeps no argmax
// (tensor.MaxPool2dValues), and the intermediate activations go back to
// the buffer pool as soon as they are read. The values are the separate
// layers' bit for bit except where Winograd runs, which differs by
// rounding, as nn.Infer's fused conv-batchnorm-ReLU of a Sequential does.

// inferBN returns bn's evaluation-mode statistics, or ok = false when bn
// would normalise by the batch or does not fit a convolution of out
// channels.
func inferBN(bn *BatchNormModule, out int) (tensor.NormStats, bool) {
	if bn == nil || bn.Dims != 2 || bn.Training() || bn.RunningMean == nil || bn.RunningVar == nil || bn.NumFeatures != out {
		return tensor.NormStats{}, false
	}
	return tensor.RunningStats(bn.RunningMean, bn.RunningVar, bn.Eps), true
}

// convBNStep is one convolution of the fused forward pass with its batch
// norm's statistics.
type convBNStep struct {
	conv *Conv2dModule
	bn   *BatchNormModule
	st   tensor.NormStats
}

// newConvBNStep checks that c and bn can run fused.
func newConvBNStep(c *Conv2dModule, bn *BatchNormModule) (convBNStep, bool) {
	if c == nil || c.Weight == nil || c.Weight.Data.Dims() != 4 || c.Weight.Data.DType() != tensor.Float32 {
		return convBNStep{}, false
	}
	st, ok := inferBN(bn, c.Weight.Data.Dim(0))
	return convBNStep{c, bn, st}, ok
}

// run returns relu(bn(conv(x)) + res) (res may be nil, relu optional),
// with the convolution's prepared Winograd weight from p where p holds
// one.
func (s convBNStep) run(x, res *tensor.Tensor, relu bool, p *Inference) *tensor.Tensor {
	var f *tensor.WinogradFilter
	if p != nil {
		f = p.filters[s.conv]
	}
	return tensor.Conv2dBatchNormResidualFilter(x, s.conv.Weight.Data, f, dataOf(s.conv.Bias), s.conv.Params, s.st,
		dataOf(s.bn.Weight), dataOf(s.bn.Bias), res, relu)
}

// inferSteps returns the block's convolutions in order and its shortcut's
// (ok = false when one of them cannot run fused).
func (b *ResNetBlock) inferSteps() (main []convBNStep, short *convBNStep, ok bool) {
	pairs := [][2]any{{b.Conv1, b.BN1}, {b.Conv2, b.BN2}}
	if b.Conv3 != nil {
		pairs = append(pairs, [2]any{b.Conv3, b.BN3})
	}
	for _, p := range pairs {
		c, _ := p[0].(*Conv2dModule)
		bn, _ := p[1].(*BatchNormModule)
		s, ok := newConvBNStep(c, bn)
		if !ok {
			return nil, nil, false
		}
		main = append(main, s)
	}
	if b.Downsample != nil {
		if len(b.Downsample.Layers) != 2 {
			return nil, nil, false
		}
		c, _ := b.Downsample.Layers[0].(*Conv2dModule)
		bn, _ := b.Downsample.Layers[1].(*BatchNormModule)
		s, ok := newConvBNStep(c, bn)
		if !ok {
			return nil, nil, false
		}
		short = &s
	}
	return main, short, true
}

// prepare adds to p the Winograd-transformed weights of m's residual
// blocks' 3×3 convolutions that take Winograd (the stem's 7×7 and the
// strided ones do not), for NewInference.
func (m *ResNetModule) prepare(p *Inference) {
	for _, l := range m.Layers {
		for _, layer := range l.Layers {
			b, ok := layer.(*ResNetBlock)
			if !ok {
				continue
			}
			for _, c := range []*Conv2dModule{b.Conv1, b.Conv2, b.Conv3} {
				if c == nil || c.Weight == nil {
					continue
				}
				if f := tensor.NewWinogradFilter(c.Weight.Data, c.Params); f != nil {
					p.filters[c] = f
				}
			}
		}
	}
}

// forwardInfer is ResNetModule.Forward's fused form, with p's prepared
// weights where p is not nil; it returns nil where it does not apply (a
// graph, a batch norm in training mode, a layer that is not
// torchvision's), and Forward then runs the layers one by one.
func (m *ResNetModule) forwardInfer(x *ag.Value, p *Inference) *ag.Value {
	if !x.NoGraph() || x.Data == nil || x.Data.Dims() != 4 || x.Data.DType() != tensor.Float32 {
		return nil
	}
	stem, ok := newConvBNStep(m.Conv1, m.BN1)
	if !ok || m.ReLU == nil || m.MaxPool == nil {
		return nil
	}
	type block struct {
		main  []convBNStep
		short *convBNStep
	}
	var blocks []block
	for _, l := range m.Layers {
		for _, layer := range l.Layers {
			b, isBlock := layer.(*ResNetBlock)
			if !isBlock {
				return nil
			}
			main, short, ok := b.inferSteps()
			if !ok {
				return nil
			}
			blocks = append(blocks, block{main, short})
		}
	}
	// Shapes are checked as the layers run, as Forward checks them.
	h := stem.run(x.Data, nil, true, p)
	pooled := tensor.MaxPool2dValues(h, m.MaxPool.Params)
	tensor.Recycle(h)
	h = pooled
	for _, b := range blocks {
		y := h
		for _, s := range b.main[:len(b.main)-1] {
			z := s.run(y, nil, true, p)
			if y != h {
				tensor.Recycle(y)
			}
			y = z
		}
		res := h
		if b.short != nil {
			res = b.short.run(h, nil, false, p)
		}
		out := b.main[len(b.main)-1].run(y, res, true, p)
		if y != h {
			tensor.Recycle(y)
		}
		if res != h {
			tensor.Recycle(res)
		}
		tensor.Recycle(h)
		h = out
	}
	avg := m.AvgPool.Forward(ag.NoGraph(h))
	if !shareStorage(avg.Data, h) {
		tensor.Recycle(h)
	}
	return m.FC.Forward(ag.Flatten(avg))
}
