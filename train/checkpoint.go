package train

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/backprop-go/backprop/safetensors"
	"github.com/backprop-go/backprop/tensor"
)

// CheckpointFormat identifies backprop's training checkpoints in their
// metadata ("format" key).
const CheckpointFormat = "backprop-checkpoint/1"

// optimizerPrefix marks the optimiser's tensors in a checkpoint file, so
// that the model's own keys keep their PyTorch state_dict names. A PyTorch
// user loads the weights with every key not starting with it.
const optimizerPrefix = "optimizer."

// bestPrefix marks early stopping's best weights in a checkpoint.
const bestPrefix = "best."

// Checkpoint is everything needed to resume training bit for bit, or to
// use the model: the weights (PyTorch state_dict names), the optimiser
// state, the position in the run and the random state, and the caller's
// metadata (architecture, input shape, class names, preprocessing).
type Checkpoint struct {
	Model     map[string]*tensor.Tensor
	Optimizer map[string]*tensor.Tensor
	// BestModel holds early stopping's best weights so far (nil without
	// early stopping), so that a resumed run can still restore them.
	BestModel map[string]*tensor.Tensor
	// Meta is the caller's metadata; keys starting with "train." are
	// reserved for the fields below.
	Meta map[string]string

	Epoch  int // the epoch in progress (or the next one, when Batch is 0)
	Batch  int // batches of Epoch already done
	Step   int // optimiser steps taken in the whole run
	BaseLR float64
	// BaseLRs holds every parameter group's base learning rate when the
	// optimiser has more than one group (BaseLR is group 0's); nil
	// otherwise.
	BaseLRs []float64
	RNG     []byte // the model's random state (dropout)
	History History
	// Partial holds the training figures of the unfinished epoch.
	Partial PartialEpoch
	// Best holds early stopping's state.
	Best BestState
}

// PartialEpoch are the running sums of an epoch interrupted between steps.
type PartialEpoch struct {
	Samples int     `json:"samples"`
	LossSum float64 `json:"loss_sum"`
	Correct int     `json:"correct"`
	TopK    int     `json:"top_k"`
	Seconds float64 `json:"seconds"`
}

// BestState is early stopping's memory: the best monitored value, the
// epoch it was seen, and the epochs since.
type BestState struct {
	Value float64 `json:"value"`
	Epoch int     `json:"epoch"`
	Bad   int     `json:"bad"`
	Set   bool    `json:"set"`
}

// Save writes the checkpoint to path atomically (temp file, fsync, rename):
// a crash leaves either the old file or the new one.
func (c *Checkpoint) Save(path string) error {
	tensors := make(map[string]*tensor.Tensor, len(c.Model)+len(c.Optimizer))
	maps.Copy(tensors, c.Model)
	for k, v := range c.Optimizer {
		tensors[optimizerPrefix+k] = v
	}
	for k, v := range c.BestModel {
		tensors[bestPrefix+k] = v
	}
	meta := maps.Clone(c.Meta)
	if meta == nil {
		meta = map[string]string{}
	}
	hist, err := json.Marshal(c.History)
	if err != nil {
		return err
	}
	partial, _ := json.Marshal(c.Partial)
	best, _ := json.Marshal(c.Best)
	meta["format"] = CheckpointFormat
	meta["train.epoch"] = strconv.Itoa(c.Epoch)
	meta["train.batch"] = strconv.Itoa(c.Batch)
	meta["train.step"] = strconv.Itoa(c.Step)
	meta["train.base_lr"] = strconv.FormatFloat(c.BaseLR, 'g', -1, 64)
	if len(c.BaseLRs) > 1 {
		lrs, _ := json.Marshal(c.BaseLRs)
		meta["train.base_lrs"] = string(lrs)
	}
	meta["train.rng"] = base64.StdEncoding.EncodeToString(c.RNG)
	meta["train.history"] = string(hist)
	meta["train.partial"] = string(partial)
	meta["train.best"] = string(best)
	return safetensors.Save(path, tensors, meta)
}

// LoadCheckpoint reads a checkpoint written by Save. A plain safetensors
// file (weights only, such as one PyTorch wrote) loads too, with the
// training fields zero.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := safetensors.Load(path)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{Model: map[string]*tensor.Tensor{}, Optimizer: map[string]*tensor.Tensor{}, Meta: map[string]string{}}
	for k, v := range f.Tensors {
		if name, ok := strings.CutPrefix(k, optimizerPrefix); ok {
			c.Optimizer[name] = v
		} else if name, ok := strings.CutPrefix(k, bestPrefix); ok {
			if c.BestModel == nil {
				c.BestModel = map[string]*tensor.Tensor{}
			}
			c.BestModel[name] = v
		} else {
			c.Model[k] = v
		}
	}
	for k, v := range f.Ints {
		// Integer buffers (PyTorch's num_batches_tracked) become float32.
		data := make([]float32, len(v.Data))
		for i, x := range v.Data {
			data[i] = float32(x)
		}
		c.Model[k] = tensor.New(data, v.Shape...)
	}
	var bad []string
	ints := func(key string, dst *int) {
		if s, ok := f.Metadata[key]; ok {
			v, err := strconv.Atoi(s)
			if err != nil {
				bad = append(bad, key)
			}
			*dst = v
		}
	}
	jsonField := func(key string, dst any) {
		if s, ok := f.Metadata[key]; ok && s != "" {
			if err := json.Unmarshal([]byte(s), dst); err != nil {
				bad = append(bad, key)
			}
		}
	}
	ints("train.epoch", &c.Epoch)
	ints("train.batch", &c.Batch)
	ints("train.step", &c.Step)
	if s, ok := f.Metadata["train.base_lr"]; ok {
		if c.BaseLR, err = strconv.ParseFloat(s, 64); err != nil {
			bad = append(bad, "train.base_lr")
		}
	}
	if s, ok := f.Metadata["train.base_lrs"]; ok {
		if err := json.Unmarshal([]byte(s), &c.BaseLRs); err != nil || !allFiniteNonNeg(c.BaseLRs) {
			bad = append(bad, "train.base_lrs")
		}
	}
	if s, ok := f.Metadata["train.rng"]; ok {
		if c.RNG, err = base64.StdEncoding.DecodeString(s); err != nil {
			bad = append(bad, "train.rng")
		}
	}
	jsonField("train.history", &c.History)
	jsonField("train.partial", &c.Partial)
	jsonField("train.best", &c.Best)
	for _, f := range []struct {
		key string
		v   int
	}{{"train.epoch", c.Epoch}, {"train.batch", c.Batch}, {"train.step", c.Step}} {
		if f.v < 0 && !slices.Contains(bad, f.key) {
			bad = append(bad, f.key)
		}
	}
	if math.IsNaN(c.BaseLR) || math.IsInf(c.BaseLR, 0) || c.BaseLR < 0 {
		bad = append(bad, "train.base_lr")
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: bad checkpoint metadata %v", path, bad)
	}
	// Weights that are NaN or infinite evaluate to nonsense and train to
	// more of it: refuse them, naming the tensor, rather than report a
	// chance accuracy.
	for _, part := range []struct {
		prefix, what string
		tensors      map[string]*tensor.Tensor
	}{{"", "the weights are corrupt", c.Model}, {optimizerPrefix, "the optimiser state is corrupt", c.Optimizer},
		{bestPrefix, "early stopping's best weights are corrupt", c.BestModel}} {
		if err := checkFiniteTensors(path, part.prefix, part.what, part.tensors); err != nil {
			return nil, err
		}
	}
	for k, v := range f.Metadata {
		if !strings.HasPrefix(k, "train.") && k != "format" {
			c.Meta[k] = v
		}
	}
	return c, nil
}

// IsTrainingCheckpoint reports whether the file held training state (not
// just weights).
func (c *Checkpoint) IsTrainingCheckpoint() bool { return c.Step > 0 || len(c.Optimizer) > 0 }

// checkFiniteTensors returns an error naming the first tensor (in name order)
// with a NaN or an infinity, and where.
func checkFiniteTensors(path, prefix, what string, tensors map[string]*tensor.Tensor) error {
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		for i, v := range tensors[name].Data() {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("%s: tensor %q has %v at index %d: %s", path, prefix+name, v, i, what)
			}
		}
	}
	return nil
}

// allFiniteNonNeg reports whether every rate is a finite number ≥ 0.
func allFiniteNonNeg(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return false
		}
	}
	return true
}
