package dashboard

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/backprop-go/backprop/train"
)

// Snapshot is everything the dashboard page shows, as JSON. GET
// /api/metrics returns the whole of it, dashboard.json stores it, and each
// server-sent event carries one whose series hold only the points added
// since the previous event (From says where they start) and whose other
// fields are present only when they changed.
type Snapshot struct {
	Run        *RunInfo           `json:"run,omitempty"`
	From       Cursor             `json:"from"`
	Epochs     []train.EpochStats `json:"epochs"`
	Steps      []StepPoint        `json:"steps"`
	Norms      []NormPoint        `json:"norms"`
	Histograms []Histogram        `json:"histograms,omitempty"`
	// Confusion is the confusion matrix of the evaluation samples (rows:
	// true class, columns: predicted): whole for up to MaxDenseClasses
	// classes, otherwise over the classes of ConfusionClasses.
	Confusion [][]int `json:"confusion,omitempty"`
	// ConfusionClasses, for a run of more than MaxDenseClasses classes,
	// holds the class indices of Confusion's rows and columns (the
	// TopClasses most frequent true classes); nil: every class, in order.
	ConfusionClasses []int `json:"confusionClasses,omitempty"`
	// ConfusionOther counts, per row of a partial matrix, the predictions
	// of a class outside ConfusionClasses.
	ConfusionOther []int `json:"confusionOther,omitempty"`
	// Confused lists a partial matrix's most frequent mistakes, at most
	// MaxConfusedPairs, the most frequent first.
	Confused []ConfusedPair `json:"confused,omitempty"`
	// ClassNames names, for a run of more than MaxClassNames classes (whose
	// RunInfo.Classes is then empty), the classes that the matrix, the
	// mistakes and the image grid refer to, by index.
	ClassNames map[int]string `json:"classNames,omitempty"`
	Images     []ImageSample  `json:"images,omitempty"`
	EvalNote   string         `json:"evalNote,omitempty"`
	Alerts     []Alert        `json:"alerts"`
	Done       bool           `json:"done"`
}

// Cursor counts what a client has of each series, and which version of
// the rest.
type Cursor struct {
	Epochs int `json:"epochs"`
	Steps  int `json:"steps"`
	Norms  int `json:"norms"`
	// Heavy is the version of the histograms, confusion matrix and image
	// grid the client has; Version the version of everything.
	Heavy   int `json:"heavy"`
	Version int `json:"version"`
}

// RunInfo describes the run: what is trained on what.
type RunInfo struct {
	Arch  string `json:"arch"`
	Shape []int  `json:"shape"`
	// Classes names the classes, when there are at most MaxClassNames of
	// them; NumClasses counts them always (zero for regression).
	Classes    []string    `json:"classes,omitempty"`
	NumClasses int         `json:"numClasses,omitempty"`
	Parameters int         `json:"parameters"`
	Layers     []LayerInfo `json:"layers"`
	// Groups names the layers that own parameters, in the order of the
	// values of NormPoint and of Histograms.
	Groups []string `json:"groups"`
	// LanguageModel says the run is a language model (its evaluation data
	// is a text), so that its loss is a cross-entropy in nats per token and
	// the page draws its perplexity, e to the loss, beside it.
	LanguageModel bool `json:"languageModel,omitempty"`
}

// LayerInfo is one box of the architecture diagram.
type LayerInfo struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Spec   string `json:"spec,omitempty"`
	Output []int  `json:"output,omitempty"` // one sample's output shape; nil when unknown
	Params int    `json:"params"`
}

// StepPoint is the training figures at one step; with a stride above one
// it averages the steps since the previous point.
type StepPoint struct {
	Step             int  `json:"step"`
	Epoch            int  `json:"epoch"`
	Loss             Num  `json:"loss"`
	Accuracy         *Num `json:"accuracy,omitempty"` // nil for regression
	LR               Num  `json:"lr"`
	SamplesPerSecond Num  `json:"samplesPerSecond"`
}

// NormPoint holds, for one step, the L2 norm of each layer's gradient and
// of its weights, in RunInfo.Groups order.
type NormPoint struct {
	Step   int   `json:"step"`
	Grad   []Num `json:"grad"`
	Weight []Num `json:"weight"`
}

// Histogram is the distribution of one layer's weights and gradients at
// one step.
type Histogram struct {
	Layer  string `json:"layer"`
	Step   int    `json:"step"`
	Weight Bins   `json:"weight"`
	Grad   Bins   `json:"grad"`
}

// Bins is a histogram with equal-width bins from Min to Max.
type Bins struct {
	Min    Num   `json:"min"`
	Max    Num   `json:"max"`
	Counts []int `json:"counts"`
}

// ConfusedPair is one kind of mistake: how many evaluation samples of
// class True were predicted as Pred.
type ConfusedPair struct {
	True  int `json:"true"`
	Pred  int `json:"pred"`
	Count int `json:"count"`
}

// MaxClassNames is the most class names RunInfo lists; a run with more
// (a label column that is an ID, say) ships only the names in use, in
// Snapshot.ClassNames, so that every event stream does not begin with
// tens of thousands of names.
const MaxClassNames = 1000

// ImageSample is one tile of the image grid: an evaluation sample drawn as
// a PNG data URL, with its true and predicted class.
type ImageSample struct {
	Index      int    `json:"index"`
	Image      string `json:"image"`
	True       int    `json:"true"`
	Pred       int    `json:"pred"`
	Confidence Num    `json:"confidence"`
}

// Alert flags a layer whose gradients vanish or explode.
type Alert struct {
	Layer   string `json:"layer"`
	Kind    string `json:"kind"` // "vanishing" or "exploding"
	Step    int    `json:"step"`
	Message string `json:"message"`
}

// Num is a float64 that encodes NaN and the infinities as JSON null (JSON
// has no such numbers), so that one bad value cannot break the page.
type Num float64

// MarshalJSON writes a finite number in the shortest form, others as null.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}
