package playground

import (
	"fmt"
	"math"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// Stage names, in the order the step mode walks them.
const (
	StageForward  = "forward"
	StageLoss     = "loss"
	StageBackward = "backward"
	StageUpdate   = "update"
)

// Stages lists the stages of one training step in order.
var Stages = []string{StageForward, StageLoss, StageBackward, StageUpdate}

// stepState is one step-mode step: the graph in progress and what each
// stage showed.
type stepState struct {
	index  int // 1..4: the last stage done
	batch  []int
	x, y   *ag.Value
	sums   []*ag.Value
	hidden []*ag.Value
	logits *ag.Value
	loss   *ag.Value

	view StageView
}

// StageView is what the page shows for the stage just done.
type StageView struct {
	Name    string `json:"name"`
	Index   int    `json:"index"` // 1 to 4
	Caption string `json:"caption"`
	// Batch holds the indices (into the training points) of the step's
	// minibatch.
	Batch []int `json:"batch"`
	// Activations holds, per hidden layer and then the output, each
	// neuron's mean activation over the batch (the output as the mean
	// probability of class 1).
	Activations [][]float32 `json:"activations,omitempty"`
	// Predictions holds the predicted probability of class 1 for each
	// point of the batch, from the prediction stage on.
	Predictions []float32 `json:"predictions,omitempty"`
	Loss        float64   `json:"loss,omitempty"`
	// Grads holds d(loss)/d(weight) for every edge, from the backward
	// stage on; Deltas how much each weight moved, at the update stage.
	Grads  []LayerValues `json:"grads,omitempty"`
	Deltas []LayerValues `json:"deltas,omitempty"`
	// LossAfter is the batch's loss after the update.
	LossAfter float64 `json:"lossAfter,omitempty"`
	// Point is the index (into the training points) of the batch's first
	// point, whose numbers Sums and Outputs hold: per hidden layer and
	// then the output, each neuron's weighted sum (Σ weight × input +
	// bias) and its activation (for the output, the probability of class
	// 1), so that a page can show one point's forward pass neuron by
	// neuron, as `backprop explain` prints it.
	Point   int         `json:"point"`
	Sums    [][]float32 `json:"sums,omitempty"`
	Outputs [][]float32 `json:"outputs,omitempty"`
	// PointSums and PointOutputs hold the same for every point of the
	// batch, in batch order (PointSums[0] is Sums), so that a page can show
	// the forward pass of whichever point a person chooses.
	PointSums    [][][]float32 `json:"pointSums,omitempty"`
	PointOutputs [][][]float32 `json:"pointOutputs,omitempty"`
}

// LayerValues holds one number per weight ([out][in]) and per bias of a
// layer.
type LayerValues struct {
	Weights [][]float32 `json:"weights"`
	Biases  []float32   `json:"biases"`
}

// Advance does the next stage of a step-by-step training step and returns
// what it shows. After the update stage the next call starts a new step.
// The stages run the real engine: the forward pass builds the autograd
// graph, the backward pass is loss.Backward(), the update the optimiser's
// Step, so that a step walked through stage by stage is the same as a
// step of Train.
func (e *Engine) Advance() StageView {
	s := e.stage
	if s == nil || s.index == len(Stages) {
		s = &stepState{}
		e.stage = s
	}
	s.index++
	v := &s.view
	v.Name, v.Index = Stages[s.index-1], s.index
	act := e.cfg.Activation
	switch v.Name {
	case StageForward:
		s.batch = append([]int{}, e.nextBatch()...)
		xt, yt := tensors(e.train, s.batch)
		s.x, s.y = ag.Const(xt), ag.Const(yt)
		s.sums, s.hidden, s.logits = e.forwardSums(s.x)
		v.Batch = s.batch
		v.Point = s.batch[0]
		for i := range s.batch {
			var sums, outs [][]float32
			for l := range s.hidden {
				sums = append(sums, row(s.sums[l], i))
				outs = append(outs, row(s.hidden[l], i))
			}
			sums = append(sums, row(s.logits, i))
			outs = append(outs, sigmoids(row(s.logits, i)))
			v.PointSums, v.PointOutputs = append(v.PointSums, sums), append(v.PointOutputs, outs)
		}
		v.Sums, v.Outputs = v.PointSums[0], v.PointOutputs[0]
		for _, h := range s.hidden {
			v.Activations = append(v.Activations, columnMeans(h.Data.Data(), h.Shape()[1]))
		}
		probs := sigmoids(s.logits.Data.Data())
		v.Activations = append(v.Activations, []float32{mean(probs)})
		enter := fmt.Sprintf("%d training points enter", len(s.batch))
		if len(s.batch) == 1 {
			enter = "1 training point enters"
		}
		v.Caption = fmt.Sprintf("Forward pass: %s at the left; each neuron adds up its weighted inputs plus its bias, applies %s, and passes the result on (a brighter ring is a stronger average activation).",
			enter, act)
	case StageLoss:
		s.loss = e.lossOf(s.logits, s.y)
		v.Predictions = sigmoids(s.logits.Data.Data())
		v.Loss = float64(s.loss.Item())
		wrong := 0
		for i, p := range v.Predictions {
			if (p >= 0.5) != (e.train[s.batch[i]].Label == 1) {
				wrong++
			}
		}
		errName := "cross-entropy loss"
		if e.cfg.Loss == "squared" {
			errName = "squared error, (prediction − target)²"
		}
		v.Caption = fmt.Sprintf("Prediction and error: the output is each point's probability of being orange; %d of %d points are on the wrong side, and the average error (%s) is %.4g.",
			wrong, len(s.batch), errName, v.Loss)
	case StageBackward:
		e.opt.ZeroGrad()
		s.loss.Backward()
		v.Grads = e.layerValues(func(l layer) ([]float32, []float32) { return dataOf(l.W.Grad), dataOf(l.B.Grad) })
		v.Caption = "Backward pass: the error flows back from the output, layer by layer (the chain rule); each edge now shows its gradient, how much the loss would grow if that weight grew (orange: grow it raises the loss, blue: lowers it)."
	case StageUpdate:
		before := e.layerValues(func(l layer) ([]float32, []float32) { return l.W.Data.Data(), l.B.Data.Data() })
		e.opt.Step()
		e.step++
		after := e.layerValues(func(l layer) ([]float32, []float32) { return l.W.Data.Data(), l.B.Data.Data() })
		v.Deltas = subtract(after, before)
		_, logits := e.forward(ag.NoGraph(s.x.Data))
		v.LossAfter = float64(e.lossOf(logits, s.y).Item())
		v.Caption = fmt.Sprintf("Gradient descent: every weight takes a small step against its gradient (learning rate %g), so the loss on these points goes from %.3f to %.3f; then the next step begins.",
			e.cfg.LR, v.Loss, v.LossAfter)
		s.x, s.y, s.sums, s.hidden, s.logits, s.loss = nil, nil, nil, nil, nil, nil // release the graph
	}
	return cloneView(*v)
}

// Stage returns the last stage shown, or nil when none is in progress.
func (e *Engine) Stage() *StageView {
	if e.stage == nil {
		return nil
	}
	v := cloneView(e.stage.view)
	return &v
}

// cloneView copies v's slices' headers so that later stages, which add to
// the view, do not change what an earlier caller got; the values inside
// are never modified after being set.
func cloneView(v StageView) StageView {
	v.Batch = append([]int{}, v.Batch...)
	return v
}

// layerValues copies two slices per layer (weights [out*in], biases) into
// LayerValues.
func (e *Engine) layerValues(get func(layer) ([]float32, []float32)) []LayerValues {
	out := make([]LayerValues, len(e.layers))
	for i, l := range e.layers {
		w, b := get(l)
		rows, cols := l.W.Shape()[0], l.W.Shape()[1]
		lv := LayerValues{Weights: make([][]float32, rows), Biases: make([]float32, rows)}
		for r := range rows {
			lv.Weights[r] = make([]float32, cols)
			if w != nil {
				copy(lv.Weights[r], w[r*cols:(r+1)*cols])
			}
		}
		if b != nil {
			copy(lv.Biases, b)
		}
		out[i] = lv
	}
	return out
}

func subtract(a, b []LayerValues) []LayerValues {
	out := make([]LayerValues, len(a))
	for i := range a {
		out[i] = LayerValues{Weights: make([][]float32, len(a[i].Weights)), Biases: make([]float32, len(a[i].Biases))}
		for r := range a[i].Weights {
			out[i].Weights[r] = make([]float32, len(a[i].Weights[r]))
			for c := range a[i].Weights[r] {
				out[i].Weights[r][c] = a[i].Weights[r][c] - b[i].Weights[r][c]
			}
		}
		for r := range a[i].Biases {
			out[i].Biases[r] = a[i].Biases[r] - b[i].Biases[r]
		}
	}
	return out
}

// row copies row i of v's [N, width] data.
func row(v *ag.Value, i int) []float32 {
	width := v.Shape()[1]
	return append([]float32{}, v.Data.Data()[i*width:(i+1)*width]...)
}

// dataOf returns t's values, or nil for a nil tensor (a gradient that was
// never computed).
func dataOf(t *tensor.Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.Data()
}

// columnMeans returns the mean of each column of a row-major [N, cols]
// matrix.
func columnMeans(v []float32, cols int) []float32 {
	out := make([]float32, cols)
	rows := len(v) / cols
	for r := range rows {
		for c := range cols {
			out[c] += v[r*cols+c]
		}
	}
	for c := range out {
		out[c] /= float32(max(rows, 1))
	}
	return out
}

func sigmoids(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(1 / (1 + math.Exp(-float64(x))))
	}
	return out
}

func mean(v []float32) float32 {
	s := float32(0)
	for _, x := range v {
		s += x
	}
	return s / float32(max(len(v), 1))
}
