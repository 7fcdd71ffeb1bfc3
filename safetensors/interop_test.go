package safetensors

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"
)

// TestReadPyTorchFile reads a file that PyTorch wrote (see
// ../shared/interop/README.md, copied into testdata/interop) and checks it
// against the facts recorded next to it.
func TestReadPyTorchFile(t *testing.T) {
	const dir = "../testdata/interop/"
	f, err := Load(dir + "mnist_mlp.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(dir + "mnist_mlp.expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected struct {
		Architecture  string   `json:"architecture"`
		StateDictKeys []string `json:"state_dict_keys"`
	}
	if err := json.Unmarshal(js, &expected); err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(expected.StateDictKeys))
	if got := f.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	t.Logf("architecture: %s", f.Metadata["architecture"])
	t.Logf("input: %s", f.Metadata["input"])
	if f.Metadata["architecture"] != expected.Architecture {
		t.Errorf("metadata architecture %q, want %q", f.Metadata["architecture"], expected.Architecture)
	}
	// "flatten linear(128) relu linear(64) tanh linear(10)" on 28×28 input;
	// PyTorch's Linear stores weight as [out, in].
	shapes := map[string][]int{
		"1.weight": {128, 784}, "1.bias": {128},
		"3.weight": {64, 128}, "3.bias": {64},
		"5.weight": {10, 64}, "5.bias": {10},
	}
	for name, shape := range shapes {
		tt := f.Tensors[name]
		if tt == nil {
			t.Errorf("no tensor %q", name)
			continue
		}
		if !slices.Equal(tt.Shape(), shape) {
			t.Errorf("%s: shape %v, want %v", name, tt.Shape(), shape)
		}
		for i, v := range tt.Data() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 100 {
				t.Errorf("%s[%d] = %g, not a trained weight", name, i, v)
				break
			}
		}
		if f.DTypes[name] != F32 {
			t.Errorf("%s: dtype %s, want F32", name, f.DTypes[name])
		}
	}
}
