package nn

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/backprop-go/backprop/safetensors"
	"github.com/backprop-go/backprop/tensor"
)

// Metadata keys that Save writes into a safetensors file's __metadata__,
// next to the caller's own.
const (
	// ArchitectureKey holds the model's spec (see [ParseSpec]), as in the
	// files PyTorch writes for backprop.
	ArchitectureKey = "architecture"
	// InputShapeKey holds the sample shape the model was built for, as a
	// JSON array such as [1,28,28].
	InputShapeKey = "input_shape"
)

// NamedState returns m's parameters and buffers with their state_dict
// names, in PyTorch's state_dict order: for each module depth-first, its
// parameters, then its buffers, then its children's. The tensors are m's
// own, not copies.
func NamedState(m any) []NamedTensor {
	var out []NamedTensor
	Walk(m, func(prefix string, sub any) bool {
		for _, p := range localParameters(prefix, sub) {
			out = append(out, NamedTensor{p.Name, p.Value.Data})
		}
		out = append(out, localBuffers(prefix, sub)...)
		return true
	})
	return out
}

// StateDict returns m's parameters and buffers by state_dict name
// ("1.weight", "0.running_mean"). num_batches_tracked is a float32 scalar
// here (PyTorch keeps an int64; loading converts either way). The tensors
// are m's own: clone them to keep a snapshot that training will not change.
func StateDict(m any) map[string]*tensor.Tensor {
	sd := map[string]*tensor.Tensor{}
	for _, e := range NamedState(m) {
		sd[e.Name] = e.Tensor
	}
	return sd
}

// ShapeMismatch is a state_dict entry whose shape differs from the
// model's.
type ShapeMismatch struct {
	Key         string
	Model, Dict []int
}

// StateDictError lists what keeps a state dict from loading into a model.
// LoadStateDict returns it (as an error) and changes nothing.
type StateDictError struct {
	Missing    []string // in the model, not in the dict
	Unexpected []string // in the dict, not in the model
	Mismatched []ShapeMismatch
	// shapes of missing and unexpected keys, for the message
	modelShapes, dictShapes map[string][]int
}

// Error names every missing, unexpected and mis-shaped key, with shapes.
func (e *StateDictError) Error() string {
	// A hostile file may hold thousands of keys with long names: the
	// message lists the first few, each name cut short.
	const maxParts = 8
	var parts []string
	n := len(e.Mismatched) + len(e.Missing) + len(e.Unexpected)
	add := func(format string, args ...any) {
		if len(parts) < maxParts {
			parts = append(parts, fmt.Sprintf(format, args...))
		}
	}
	for _, m := range e.Mismatched {
		add("key %q has shape %v, but the model's is %v", shortKey(m.Key), shortShape(m.Dict), m.Model)
	}
	for _, k := range e.Missing {
		add("missing key %q (model shape %v)", shortKey(k), e.modelShapes[k])
	}
	for _, k := range e.Unexpected {
		add("unexpected key %q (shape %v)", shortKey(k), shortShape(e.dictShapes[k]))
	}
	if n > len(parts) {
		parts = append(parts, fmt.Sprintf("and %d more", n-len(parts)))
	}
	return "nn: cannot load state dict: " + strings.Join(parts, "; ")
}

// shortKey cuts a key taken from a file to a length fit for a message.
func shortKey(k string) string {
	const limit = 80
	if len(k) <= limit {
		return k
	}
	return strings.ToValidUTF8(k[:limit], "") + "..."
}

// shortShape formats a shape taken from a file, eliding the middle of one
// with many dimensions.
func shortShape(s []int) string {
	if len(s) > 8 {
		return fmt.Sprintf("%v ... %v (%d dimensions)", s[:4], s[len(s)-2:], len(s))
	}
	return fmt.Sprint(s)
}

// LoadStateDict copies the tensors of sd into m's parameters and buffers
// of the same names, as PyTorch's load_state_dict. The model's tensors are
// updated in place, so optimisers holding them see the new values.
//
// Every entry's shape must match (a scalar may load into a one-element
// buffer and back, for num_batches_tracked). With strict, sd must also have
// exactly m's keys, except that BatchNorm's num_batches_tracked may be
// missing, as PyTorch allows (files saved with only the floating-point
// entries lack it): the counter then keeps its value, 0 in a new model.
// On any problem it returns a *StateDictError naming each offending key,
// with both shapes, and changes nothing.
func LoadStateDict(m any, sd map[string]*tensor.Tensor, strict bool) error {
	state := NamedState(m)
	optional := map[string]bool{}
	Walk(m, func(prefix string, sub any) bool {
		if bn, ok := sub.(*BatchNormModule); ok && bn.NumBatchesTracked != nil {
			optional[join(prefix, "num_batches_tracked")] = true
		}
		return true
	})
	want := make([]StateShape, len(state))
	for i, s := range state {
		want[i] = StateShape{Name: s.Name, Shape: s.Tensor.Shape(), Optional: optional[s.Name]}
	}
	if e := compareState(want, StateShapes(sd), strict); e != nil {
		return e
	}
	for _, s := range state {
		if t, ok := sd[s.Name]; ok && t != nil {
			copy(s.Tensor.Data(), t.Data())
		}
	}
	return nil
}

// compareState compares a model's entries with a dict's shapes (a nil
// tensor counts as missing). Mismatched shapes always count; missing
// (other than Optional) and unexpected keys only when strict.
func compareState(want []StateShape, have map[string][]int, strict bool) *StateDictError {
	e := &StateDictError{modelShapes: map[string][]int{}, dictShapes: map[string][]int{}}
	known := make(map[string]bool, len(want))
	for _, s := range want {
		known[s.Name] = true
		shape, ok := have[s.Name]
		if !ok {
			if !s.Optional {
				e.Missing = append(e.Missing, s.Name)
				e.modelShapes[s.Name] = s.Shape
			}
			continue
		}
		if !shapesMatch(s.Shape, shape) {
			e.Mismatched = append(e.Mismatched, ShapeMismatch{s.Name, s.Shape, shape})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if !known[k] {
			e.Unexpected = append(e.Unexpected, k)
			e.dictShapes[k] = have[k]
		}
	}
	if !strict {
		e.Missing, e.Unexpected = nil, nil
	}
	if len(e.Mismatched) == 0 && len(e.Missing) == 0 && len(e.Unexpected) == 0 {
		return nil
	}
	return e
}

// shapesMatch compares shapes, letting a 0-d scalar stand for a
// one-element tensor: some writers store num_batches_tracked as [1].
func shapesMatch(a, b []int) bool {
	if tensor.EqualShapes(a, b) {
		return true
	}
	return numel(a) == 1 && numel(b) == 1 && len(a) <= 1 && len(b) <= 1
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Save writes m's state dict to a safetensors file at path, atomically,
// with PyTorch's names, so that PyTorch's load_state_dict reads it. The
// metadata (which may be nil) goes into __metadata__, with two keys added
// unless the caller set them: "architecture", m's spec when it has one
// (see [SpecOf]), and "input_shape", when m was made by Build.
func Save(path string, m Module, metadata map[string]string) error {
	meta := map[string]string{}
	if spec, err := SpecOf(m); err == nil && spec != "" {
		meta[ArchitectureKey] = spec
	}
	if s, ok := m.(*SequentialModule); ok && s.InputShape != nil {
		b, _ := json.Marshal(s.InputShape)
		meta[InputShapeKey] = string(b)
	}
	maps.Copy(meta, metadata)
	if err := safetensors.Save(path, StateDict(m), meta); err != nil {
		return fmt.Errorf("nn.Save: %w", err)
	}
	return nil
}

// Load reads a safetensors file written by Save or by PyTorch into m,
// strictly: the file must hold exactly m's keys, with m's shapes. Other
// floating dtypes (F16, BF16, F64) and integer ones (num_batches_tracked's
// I64) are converted to float32. On error m is unchanged.
func Load(path string, m Module) error {
	sd, _, err := LoadFile(path)
	if err != nil {
		return err
	}
	if err := LoadStateDict(m, sd, true); err != nil {
		return fmt.Errorf("nn.Load %s: %w", path, err)
	}
	return nil
}

// LoadFile reads a safetensors file's tensors, all as float32, and its
// metadata, for use with LoadStateDict (non-strict loading, say).
func LoadFile(path string) (map[string]*tensor.Tensor, map[string]string, error) {
	f, err := safetensors.Load(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nn.Load: %w", err)
	}
	sd := maps.Clone(f.Tensors)
	if sd == nil {
		sd = map[string]*tensor.Tensor{}
	}
	for name, it := range f.Ints {
		t := tensor.Zeros(it.Shape...)
		for i, v := range it.Data {
			t.Data()[i] = float32(v)
		}
		sd[name] = t
	}
	return sd, f.Metadata, nil
}

// LoadModel builds a model from the architecture in a safetensors file's
// metadata and loads the file's weights into it, strictly. inputShape is
// the sample shape (such as [1, 28, 28]); nil takes it from the file's
// "input_shape" metadata. opts go to Build. It returns the metadata too.
func LoadModel(path string, inputShape []int, opts ...Option) (*SequentialModule, map[string]string, error) {
	sd, meta, err := LoadFile(path)
	if err != nil {
		return nil, nil, err
	}
	spec, ok := meta[ArchitectureKey]
	if !ok {
		return nil, nil, fmt.Errorf("nn.LoadModel %s: no %q in the file's metadata", path, ArchitectureKey)
	}
	if inputShape == nil {
		s, ok := meta[InputShapeKey]
		if !ok {
			return nil, nil, fmt.Errorf("nn.LoadModel %s: no input shape given and no %q in the file's metadata", path, InputShapeKey)
		}
		if err := json.Unmarshal([]byte(s), &inputShape); err != nil {
			return nil, nil, fmt.Errorf("nn.LoadModel %s: metadata %q is %q: %w", path, InputShapeKey, s, err)
		}
	}
	// Check the file's tensors against the spec before building, so that
	// a spec naming huge layers is refused rather than allocated: the
	// model is then no larger than the file.
	shapes, err := InferShapes(spec, inputShape, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("nn.LoadModel %s: %w", path, err)
	}
	if err := shapes.Check(StateShapes(sd)); err != nil {
		return nil, nil, fmt.Errorf("nn.LoadModel %s: %w", path, err)
	}
	m, err := Build(spec, inputShape, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("nn.LoadModel %s: %w", path, err)
	}
	if err := LoadStateDict(m, sd, true); err != nil {
		return nil, nil, fmt.Errorf("nn.LoadModel %s: %w", path, err)
	}
	return m, meta, nil
}

// StateShapes returns the shapes of a state dict's tensors by name, for
// [ModelShapes.Check]; nil tensors are left out.
func StateShapes(sd map[string]*tensor.Tensor) map[string][]int {
	out := make(map[string][]int, len(sd))
	for k, t := range sd {
		if t != nil {
			out[k] = t.Shape()
		}
	}
	return out
}
