package train

import (
	"fmt"
	"math"

	"github.com/backprop-go/backprop/tensor"
)

// Meter accumulates the figures of one pass over data: mean loss, accuracy,
// top-k accuracy and a confusion matrix (rows: true class, columns:
// predicted). The zero value is ready; set K for top-k (default 5) and
// Classes to fill the confusion matrix.
type Meter struct {
	K       int
	Classes int

	samples   int
	lossSum   float64
	correct   int
	topK      int
	confusion [][]int
}

// Add records a batch: its mean loss, and for classification the logits
// [B, C] with the true labels (labels nil for regression).
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
	c := logits.Size() / max(b, 1)
	k := m.K
	if k == 0 {
		k = 5
	}
	if m.Classes > 0 && m.confusion == nil {
		m.confusion = make([][]int, m.Classes)
		for i := range m.confusion {
			m.confusion[i] = make([]int, m.Classes)
		}
	}
	d := logits.Data()
	for i, y := range labels {
		row := d[i*c : (i+1)*c]
		pred, rank := Argmax(row), 0
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
		if m.confusion != nil && y < m.Classes && pred < m.Classes {
			m.confusion[y][pred]++
		}
	}
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

// Confusion returns the confusion matrix (nil unless Classes was set).
func (m *Meter) Confusion() [][]int { return m.confusion }

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
