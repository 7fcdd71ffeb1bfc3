package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/backprop-go/backprop/tensor"
)

// DenseConfusionClasses is the number of classes up to which a Meter keeps
// its confusion matrix dense (classes × classes counts). Above it the
// matrix is kept sparse, as counts of the (true, predicted) pairs seen:
// 30,000 classes would need 7 GB dense, and never more pairs than samples
// are seen.
const DenseConfusionClasses = 256

// Meter accumulates the figures of one pass over data: mean loss, accuracy,
// top-k accuracy and a confusion matrix (rows: true class, columns:
// predicted), dense up to DenseConfusionClasses classes and sparse above.
// The zero value is ready; set K for top-k (default 5) and Classes to
// fill the confusion matrix.
type Meter struct {
	K       int
	Classes int

	samples   int
	lossSum   float64
	correct   int
	topK      int
	confusion [][]int
	pairs     map[[2]int32]int // the sparse confusion matrix, above DenseConfusionClasses
}

// ConfusionPair is one cell of a sparse confusion matrix: how many samples
// of class True were predicted as Pred.
type ConfusionPair struct {
	True  int `json:"true"`
	Pred  int `json:"pred"`
	Count int `json:"count"`
}

// Add records a batch: its mean loss, and for classification the logits
// [B, C] with the true labels (labels nil for regression). A label outside
// [0, C) counts as a wrong prediction.
func (m *Meter) Add(meanLoss float32, logits *tensor.Tensor, labels []int) {
	b := len(labels)
	if labels == nil {
		b = logits.Dim(0)
	}
	m.samples += b
	m.lossSum += float64(meanLoss) * float64(b)
	if labels == nil {
		return
	}
	classify(m, logits.Data(), labels, logits.Size()/max(b, 1), 1)
}

// AddTargets records a batch whose targets are an Int64 tensor, as the
// losses take them (ag.CrossEntropyT): logits [N, C] with targets [N], or
// logits [N, C, d...] (a sequence's, [N, C, T]) with targets [N, d...].
// Each target counts as one sample (a token, for a language model), with
// meanLoss the mean over them, except negative ones: padding marked with a
// negative ignore index (PyTorch's default, -100, is ag's too), which the
// loss leaves out as well, is neither a sample nor a prediction. It panics
// when the shapes do not match or targets is not Int64.
func (m *Meter) AddTargets(meanLoss float32, logits, targets *tensor.Tensor) {
	ls, ts := logits.Shape(), targets.Shape()
	if len(ls) < 2 || !slices.Equal(ts, append([]int{ls[0]}, ls[2:]...)) {
		panic(fmt.Sprintf("train.Meter.AddTargets: targets of shape %v for logits %v, want the logits' shape without dimension 1", ts, ls))
	}
	ids := targets.Int64s()
	n := 0
	for _, y := range ids {
		if y >= 0 {
			n++
		}
	}
	m.samples += n
	m.lossSum += float64(meanLoss) * float64(n)
	classify(m, logits.Data(), ids, ls[1], logits.Size()/max(ls[0]*ls[1], 1))
}

// classify counts the right, top-k and confused predictions of labels
// against logits laid out [N, C, D] (D positions per sample after the
// class dimension, 1 for [N, C]): label i belongs to sample i/D at
// position i%D.
func classify[L int | int64](m *Meter, d []float32, labels []L, c, positions int) {
	k := m.K
	if k == 0 {
		k = 5
	}
	switch {
	case m.Classes <= 0:
	case m.Classes <= DenseConfusionClasses && m.confusion == nil:
		m.confusion = make([][]int, m.Classes)
		for i := range m.confusion {
			m.confusion[i] = make([]int, m.Classes)
		}
	case m.Classes > DenseConfusionClasses && m.pairs == nil:
		m.pairs = map[[2]int32]int{}
	}
	var gathered []float32 // one position's logits, when they are strided
	if positions > 1 {
		gathered = make([]float32, c)
	}
	for i, label := range labels {
		var row []float32
		if positions == 1 {
			row = d[i*c : (i+1)*c]
		} else {
			base := (i/positions)*c*positions + i%positions
			for j := range gathered {
				gathered[j] = d[base+j*positions]
			}
			row = gathered
		}
		pred := Argmax(row)
		if label < 0 || label >= L(c) {
			continue // a class the model has no output for: wrong
		}
		y := int(label)
		rank := 0
		for _, v := range row {
			if v > row[y] {
				rank++
			}
		}
		if pred == y {
			m.correct++
		}
		if rank < k {
			m.topK++
		}
		if y < m.Classes && pred < m.Classes {
			if m.confusion != nil {
				m.confusion[y][pred]++
			} else if m.pairs != nil {
				m.pairs[[2]int32{int32(y), int32(pred)}]++
			}
		}
	}
}

// AddLoss records a batch's mean loss over n samples, without outputs
// (a step that returns only a loss).
func (m *Meter) AddLoss(meanLoss float32, n int) {
	m.samples += n
	m.lossSum += float64(meanLoss) * float64(n)
}

// Samples returns the number of samples recorded.
func (m *Meter) Samples() int { return m.samples }

// Loss returns the mean loss per sample (NaN before any sample).
func (m *Meter) Loss() float64 {
	if m.samples == 0 {
		return math.NaN()
	}
	return m.lossSum / float64(m.samples)
}

// Accuracy returns the fraction of samples whose top prediction is right.
func (m *Meter) Accuracy() float64 { return ratio(m.correct, m.samples) }

// TopK returns the fraction of samples whose true class is among the K
// highest logits.
func (m *Meter) TopK() float64 { return ratio(m.topK, m.samples) }

// Confusion returns the dense confusion matrix: nil unless Classes was set,
// and nil above DenseConfusionClasses classes (see ConfusionPairs).
func (m *Meter) Confusion() [][]int { return m.confusion }

// ConfusionPairs returns the non-zero cells of the confusion matrix,
// sorted by true then predicted class, whether it is kept dense or sparse.
func (m *Meter) ConfusionPairs() []ConfusionPair {
	var out []ConfusionPair
	for y, row := range m.confusion {
		for p, n := range row {
			if n > 0 {
				out = append(out, ConfusionPair{True: y, Pred: p, Count: n})
			}
		}
	}
	for k, n := range m.pairs {
		out = append(out, ConfusionPair{True: int(k[0]), Pred: int(k[1]), Count: n})
	}
	slices.SortFunc(out, func(a, b ConfusionPair) int {
		if a.True != b.True {
			return a.True - b.True
		}
		return a.Pred - b.Pred
	})
	return out
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// Argmax returns the index of the largest value (the first, on ties).
func Argmax(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}

// checkFinite returns an error when a loss is NaN or infinite.
func checkFinite(loss float32, epoch, step int) error {
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return &DivergedError{Epoch: epoch, Step: step, Loss: loss}
	}
	return nil
}

// DivergedError reports a loss that became NaN or infinite.
type DivergedError struct {
	Epoch, Step int
	Loss        float32
	// Layer names the first parameter whose gradient or value was not
	// finite, when one was found.
	Layer string
}

func (e *DivergedError) Error() string {
	where := ""
	if e.Layer != "" {
		where = fmt.Sprintf(" (first non-finite values in %s)", e.Layer)
	}
	return fmt.Sprintf("training diverged: loss is %v at epoch %d, step %d%s; try a lower learning rate (--lr)", e.Loss, e.Epoch, e.Step, where)
}
