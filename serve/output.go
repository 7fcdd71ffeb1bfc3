package serve

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
)

// Float is a float64 that encodes NaN and ±Inf as JSON null: encoding/json
// refuses them, and a model with NaN weights must still give valid JSON.
type Float float64

// MarshalJSON writes the number, or null when it is not finite.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// ClassProb is one class of a prediction and its probability.
type ClassProb struct {
	Class       string `json:"class"`
	Probability Float  `json:"probability"`
}

// TopClasses returns the k most probable classes under softmax(logits),
// most probable first (ties in class order). A class without a name is
// named by its index. backprop predict prints the same list.
func TopClasses(logits []float32, classes []string, k int) []ClassProb {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var sum float64
	probs := make([]float64, len(logits))
	for i, v := range logits {
		probs[i] = math.Exp(float64(v) - m)
		sum += probs[i]
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	var out []ClassProb
	for _, i := range idx[:min(max(k, 0), len(idx))] {
		name := strconv.Itoa(i)
		if i < len(classes) {
			name = classes[i]
		}
		out = append(out, ClassProb{Class: name, Probability: Float(probs[i] / sum)})
	}
	return out
}

// Prediction is the answer for one input: the top classes of a
// classifier, or the outputs of a regression model in the target's units.
type Prediction struct {
	Input string      `json:"input"` // which input: "image", "line 3", "rows[0]", a multipart file name
	Top   []ClassProb `json:"top,omitempty"`
	Value []Float     `json:"value,omitempty"`
}
