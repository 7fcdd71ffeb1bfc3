package train

import (
	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
)

// EvalConfig sets up Evaluate.
type EvalConfig struct {
	BatchSize int      // default 256
	Loss      LossFunc // default: cross-entropy for classification, MSE for regression
	K         int      // top-k accuracy (default 5)
	Workers   int
}

// Result holds the figures of an evaluation.
type Result struct {
	Loss      float64
	Accuracy  float64 // NaN for regression
	TopK      float64
	Samples   int
	Confusion [][]int // rows: true class, columns: predicted
}

// Evaluate runs model in evaluation mode (no graph, batch norm on running
// statistics, no dropout) over ds and returns its loss and accuracy. It
// leaves the model in evaluation mode.
func Evaluate(model nn.Module, ds data.Dataset, cfg EvalConfig) (Result, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 256
	}
	if cfg.Loss == nil {
		cfg.Loss = CrossEntropyLoss
		if ds.Classes() == nil {
			cfg.Loss = MSELossFunc
		}
	}
	loader, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: cfg.BatchSize, Workers: cfg.Workers})
	if err != nil {
		return Result{}, err
	}
	nn.Eval(model)
	m := &Meter{K: cfg.K, Classes: len(ds.Classes())}
	for b, err := range loader.Epoch(0) {
		if err != nil {
			return Result{}, err
		}
		ag.NoGrad(func() {
			out := model.Forward(ag.Const(b.X))
			m.Add(cfg.Loss(out, b).Item(), out.Data, b.Labels)
		})
	}
	return Result{Loss: m.Loss(), Accuracy: m.Accuracy(), TopK: m.TopK(), Samples: m.Samples(), Confusion: m.Confusion()}, nil
}
