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
	confusion confusion
	images    []ImageSample
	note      string
}

// evalBatch is the number of samples per forward pass of the evaluation.
const evalBatch = 250

// Bounds on what the evaluation computes and ships, whatever the number of
// classes: a dense matrix at 5,000 classes would be 50 MB per epoch, and
// at 30,000 more memory than the machine has.
const (
	// MaxDenseClasses is the most classes whose whole confusion matrix the
	// dashboard shows (50×50 counts).
	MaxDenseClasses = 50
	// TopClasses is the size of the partial matrix shown for more classes
	// than MaxDenseClasses: the most frequent true classes of the
	// evaluation samples.
	TopClasses = 20
	// MaxConfusedPairs is the number of most frequent mistakes listed
	// along with a partial matrix.
	MaxConfusedPairs = 20
	// maxEvalLogits bounds the logits of one forward pass of the
	// evaluation (4 MB of float32), so that a model with many classes is
	// evaluated in smaller batches.
	maxEvalLogits = 1 << 20
)

// confusion is the confusion matrix of the evaluation samples, whole for
// up to MaxDenseClasses classes and otherwise over the TopClasses most
// frequent true classes, with the most frequent mistakes.
type confusion struct {
	matrix  [][]int        // rows: true class, columns: predicted
	classes []int          // the classes of a partial matrix's rows and columns; nil when whole
	other   []int          // per row of a partial matrix, predictions of a class not in classes
	pairs   []ConfusedPair // the most frequent mistakes, for a partial matrix
	note    string         // what a partial matrix shows
}

// outcome is one evaluated sample's true and predicted class.
type outcome struct{ label, pred int }

// confusionOf counts outcomes over classes classes. Its memory is bounded
// by the number of outcomes and MaxDenseClasses, never classes²: beyond
// MaxDenseClasses only the outcomes seen are counted, in maps.
func confusionOf(classes int, outs []outcome) confusion {
	valid := func(o outcome) bool { return o.label >= 0 && o.label < classes && o.pred >= 0 && o.pred < classes }
	if classes <= MaxDenseClasses {
		m := make([][]int, classes)
		for i := range m {
			m[i] = make([]int, classes)
		}
		for _, o := range outs {
			if valid(o) {
				m[o.label][o.pred]++
			}
		}
		return confusion{matrix: m}
	}
	freq := map[int]int{}
	mistakes := map[outcome]int{}
	for _, o := range outs {
		if !valid(o) {
			continue
		}
		freq[o.label]++
		if o.pred != o.label {
			mistakes[o]++
		}
	}
	top := make([]int, 0, len(freq))
	for c := range freq {
		top = append(top, c)
	}
	// The most frequent first; ties by class index, so that the page does
	// not reshuffle between epochs for nothing.
	sort.Slice(top, func(a, b int) bool {
		if freq[top[a]] != freq[top[b]] {
			return freq[top[a]] > freq[top[b]]
		}
		return top[a] < top[b]
	})
	top = top[:min(len(top), TopClasses)]
	sort.Ints(top)
	row := make(map[int]int, len(top))
	for i, c := range top {
		row[c] = i
	}
	cf := confusion{matrix: make([][]int, len(top)), classes: top, other: make([]int, len(top))}
	for i := range cf.matrix {
		cf.matrix[i] = make([]int, len(top))
	}
	for _, o := range outs {
		if !valid(o) {
			continue
		}
		i, ok := row[o.label]
		if !ok {
			continue
		}
		if j, ok := row[o.pred]; ok {
			cf.matrix[i][j]++
		} else {
			cf.other[i]++
		}
	}
	for o, n := range mistakes {
		cf.pairs = append(cf.pairs, ConfusedPair{True: o.label, Pred: o.pred, Count: n})
	}
	sort.Slice(cf.pairs, func(a, b int) bool {
		pa, pb := cf.pairs[a], cf.pairs[b]
		if pa.Count != pb.Count {
			return pa.Count > pb.Count
		}
		if pa.True != pb.True {
			return pa.True < pb.True
		}
		return pa.Pred < pb.Pred
	})
	cf.pairs = cf.pairs[:min(len(cf.pairs), MaxConfusedPairs)]
	cf.note = fmt.Sprintf("%d classes, more than the %d a whole matrix is shown for: the matrix covers the %d most frequent true classes of the evaluation samples (\"other\" counts their predictions of any other class), and the list the %d most frequent mistakes",
		classes, MaxDenseClasses, len(top), MaxConfusedPairs)
	return cf
}

// evaluate runs model, in evaluation mode and without a graph, on up to n
// samples of ds evenly spaced over it, and returns the confusion matrix
// (rows: true class, columns: predicted) and up to tiles samples for the
// image grid, wrong predictions first. Its input is marked ag.NoGraph, so
// it builds no graph; it must still run in the training goroutine, since
// it switches the model's mode and reads the weights the optimiser
// updates, and it leaves the model in training mode.
//
// pngs caches the tiles' PNG data URLs by sample index: the evaluation
// samples do not change between epochs, only which of them are shown.
func evaluate(model nn.Module, ds data.Dataset, n, tiles int, pngs map[int]string) evalResult {
	classes := len(ds.Classes())
	var res evalResult
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
	batch := max(min(evalBatch, maxEvalLogits/classes), 1)
	for start := 0; start < n; start += batch {
		b := min(batch, n-start)
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
		out := model.Forward(ag.NoGraph(x))
		logits := out.Data.Data()
		if out.Data.Size() != b*classes {
			res.note = fmt.Sprintf("the model gives %v outputs for %d classes", out.Shape(), classes)
			return res
		}
		for j := range b {
			pred, conf := softmaxArgmax(logits[j*classes : (j+1)*classes])
			samples = append(samples, sample{indices[j], labels[j], pred, conf})
		}
	}
	outs := make([]outcome, len(samples))
	for i, s := range samples {
		outs[i] = outcome{s.label, s.pred}
	}
	res.confusion = confusionOf(classes, outs)
	res.note = fmt.Sprintf("%d of %d evaluation samples", n, total)
	if res.confusion.note != "" {
		res.note += "; " + res.confusion.note
	}
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
