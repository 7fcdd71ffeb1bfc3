package dashboard

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"sort"
	"sync"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// evalResult is what one pass over the evaluation subset gives.
type evalResult struct {
	confusion [][]int
	images    []ImageSample
	note      string
}

// evalBatch is the number of samples per forward pass of the evaluation.
const evalBatch = 250

// evaluate runs model, in evaluation mode and without a graph, on up to n
// samples of ds evenly spaced over it, and returns the confusion matrix
// (rows: true class, columns: predicted) and up to tiles samples for the
// image grid, wrong predictions first. It must run in the training
// goroutine (NoGrad is process-wide) and leaves the model in training mode.
//
// pngs caches the tiles' PNG data URLs by sample index: the evaluation
// samples do not change between epochs, only which of them are shown.
func evaluate(model nn.Module, ds data.Dataset, n, tiles int, pngs map[int]string) evalResult {
	classes := len(ds.Classes())
	res := evalResult{confusion: make([][]int, classes)}
	for i := range res.confusion {
		res.confusion[i] = make([]int, classes)
	}
	total := ds.Len()
	n = min(n, total)
	if n == 0 || classes == 0 {
		return res
	}
	shape := ds.Shape()
	size := data.Numel(shape)
	target := make([]float32, ds.TargetSize())
	type sample struct {
		index, label, pred int
		conf               float64
	}
	samples := make([]sample, 0, n)
	nn.Eval(model)
	defer nn.Train(model)
	for start := 0; start < n; start += evalBatch {
		b := min(evalBatch, n-start)
		x := tensor.Zeros(append([]int{b}, shape...)...)
		xs := x.Data()
		labels := make([]int, b)
		indices := make([]int, b)
		for j := range b {
			idx := (start + j) * total / n
			label, err := ds.Sample(idx, nil, xs[j*size:(j+1)*size], target)
			if err != nil {
				res.note = fmt.Sprintf("evaluation sample %d: %v", idx, err)
				return res
			}
			labels[j], indices[j] = label, idx
		}
		var out *ag.Value
		ag.NoGrad(func() { out = model.Forward(ag.Const(x)) })
		logits := out.Data.Data()
		if out.Data.Size() != b*classes {
			res.note = fmt.Sprintf("the model gives %v outputs for %d classes", out.Shape(), classes)
			return res
		}
		for j := range b {
			pred, conf := softmaxArgmax(logits[j*classes : (j+1)*classes])
			if labels[j] >= 0 && labels[j] < classes {
				res.confusion[labels[j]][pred]++
			}
			samples = append(samples, sample{indices[j], labels[j], pred, conf})
		}
	}
	res.note = fmt.Sprintf("%d of %d evaluation samples", n, total)
	if len(shape) != 3 || (shape[0] != 1 && shape[0] != 3) {
		return res // not images: no grid
	}
	// Wrong ones first, the most confidently wrong at the top; then the
	// least confident right ones, which are the next to go wrong.
	sort.SliceStable(samples, func(a, b int) bool {
		wa, wb := samples[a].pred != samples[a].label, samples[b].pred != samples[b].label
		if wa != wb {
			return wa
		}
		if wa {
			return samples[a].conf > samples[b].conf
		}
		return samples[a].conf < samples[b].conf
	})
	x := make([]float32, size)
	for _, s := range samples[:min(tiles, len(samples))] {
		url, ok := pngs[s.index]
		if !ok {
			if _, err := ds.Sample(s.index, nil, x, target); err != nil {
				continue
			}
			url = pngDataURL(x, shape)
			pngs[s.index] = url
		}
		res.images = append(res.images, ImageSample{Index: s.index, Image: url, True: s.label, Pred: s.pred, Confidence: Num(s.conf)})
	}
	return res
}

// softmaxArgmax returns the index of the largest logit and its softmax
// probability.
func softmaxArgmax(logits []float32) (int, float64) {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	sum := 0.0
	for _, v := range logits {
		sum += math.Exp(float64(v - logits[best]))
	}
	return best, 1 / sum
}

// pngDataURL draws a [C,H,W] sample (C is 1 or 3) as a PNG data URL. The
// features may be normalised, so each image is stretched from its own
// minimum to its maximum.
func pngDataURL(x []float32, shape []int) string {
	c, h, w := shape[0], shape[1], shape[2]
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	scale := float32(0)
	if hi > lo {
		scale = 255 / (hi - lo)
	}
	px := func(v float32) uint8 { return uint8(math.Round(float64((v - lo) * scale))) }
	var img image.Image
	if c == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range h * w {
			g.Pix[i] = px(x[i])
		}
		img = g
	} else {
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		plane := h * w
		for i := range plane {
			rgba.SetRGBA(i%w, i/w, color.RGBA{px(x[i]), px(x[plane+i]), px(x[2*plane+i]), 255})
		}
		img = rgba
	}
	var buf bytes.Buffer
	if err := pngEncoder.Encode(&buf, img); err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// pngEncoder reuses its compressor between images: a fresh zlib writer
// costs more than encoding a small tile.
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}

// pngBuffers is a png.EncoderBufferPool over a sync.Pool.
type pngBuffers struct{ pool sync.Pool }

// Get returns a buffer to reuse, or nil for the encoder to make one.
func (p *pngBuffers) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}

// Put keeps a buffer for the next image.
func (p *pngBuffers) Put(b *png.EncoderBuffer) { p.pool.Put(b) }
