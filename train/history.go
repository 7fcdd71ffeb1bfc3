package train

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/backprop-go/backprop/internal/fsutil"
)

// EpochStats are the figures of one finished epoch, as written to
// metrics.jsonl (one JSON object per line).
type EpochStats struct {
	Epoch         int     `json:"epoch"`
	Step          int     `json:"step"`
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy,omitempty"`
	TrainTop5     float64 `json:"train_top5_accuracy,omitempty"`
	ValLoss       float64 `json:"val_loss,omitempty"`
	ValAccuracy   float64 `json:"val_accuracy,omitempty"`
	ValTop5       float64 `json:"val_top5_accuracy,omitempty"`
	HasVal        bool    `json:"has_val"`
	// Language models only (TaskLanguageModel): perplexity and bits per
	// token of the mean cross-entropy per token; 0 (left out) otherwise
	// and when not finite.
	TrainPerplexity   float64 `json:"train_perplexity,omitempty"`
	TrainBitsPerToken float64 `json:"train_bits_per_token,omitempty"`
	ValPerplexity     float64 `json:"val_perplexity,omitempty"`
	ValBitsPerToken   float64 `json:"val_bits_per_token,omitempty"`
	LR                float64 `json:"lr"`
	Seconds           float64 `json:"seconds"`
	SamplesPerSecond  float64 `json:"samples_per_second"`
}

// History is the list of finished epochs.
type History []EpochStats

// WriteJSONL writes one line per epoch.
func (h History) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, e := range h {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// SaveJSONL writes the history to path atomically.
func (h History) SaveJSONL(path string) error {
	return fsutil.WriteFileAtomic(path, 0o644, h.WriteJSONL)
}

// LoadHistory reads a metrics.jsonl file.
func LoadHistory(path string) (History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var h History
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e EpochStats
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		h = append(h, e)
	}
	return h, sc.Err()
}
