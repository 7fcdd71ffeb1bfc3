package safetensors

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/tensor"
)

// sameBits reports whether two tensors have equal shapes (nil and empty
// are the same 0-d shape) and bit-identical elements, NaN payloads included.
func sameBits(a, b *tensor.Tensor) bool {
	if !slices.Equal(a.Shape(), b.Shape()) || len(a.Data()) != len(b.Data()) {
		return false
	}
	for i, v := range a.Data() {
		if math.Float32bits(v) != math.Float32bits(b.Data()[i]) {
			return false
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	special := []float32{
		0, float32(math.Copysign(0, -1)), 1, -1.5,
		math.MaxFloat32, math.SmallestNonzeroFloat32, 1e-40, // subnormal
		float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00001), // quiet NaN with a payload
		math.Float32frombits(0xff800123), // negative signalling NaN
		3.14159265,
	}
	cases := []struct {
		name     string
		tensors  map[string]*tensor.Tensor
		metadata map[string]string
	}{
		{"nothing", map[string]*tensor.Tensor{}, nil},
		{"scalar", map[string]*tensor.Tensor{"s": tensor.Scalar(42)}, nil},
		{"empty", map[string]*tensor.Tensor{"e": tensor.Zeros(0), "e2": tensor.Zeros(2, 0, 3)}, nil},
		{"special values", map[string]*tensor.Tensor{"v": tensor.New(special, 3, 4)}, nil},
		{"state dict", map[string]*tensor.Tensor{
			"0.weight": tensor.FromFunc(func(i int) float32 { return float32(i) * 0.25 }, 4, 3),
			"0.bias":   tensor.Full(-1, 4),
			"2.weight": tensor.FromFunc(func(i int) float32 { return 1 / float32(i+1) }, 2, 4),
			"2.bias":   tensor.Zeros(2),
			"step":     tensor.Scalar(1000),
			"unused":   tensor.Zeros(0, 5),
		}, map[string]string{"architecture": "linear(4) relu linear(2)", "epoch": "3"}},
		{"awkward strings", map[string]*tensor.Tensor{
			`quote"and\backslash`: tensor.Scalar(1),
			"<html> & ünïcödé 🙂":  tensor.Scalar(2),
			"tab\tnewline\n":      tensor.Scalar(3),
		}, map[string]string{"": "empty key", "k\"": "v\n\u0000<>&", "utf8": "日本語"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, c.tensors, c.metadata); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			hdrLen := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
			if hdrLen%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", hdrLen)
			}
			f, err := readBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.Names(), slices.Sorted(maps.Keys(c.tensors))) {
				t.Errorf("names %v, want %v", f.Names(), slices.Sorted(maps.Keys(c.tensors)))
			}
			for name, want := range c.tensors {
				if got := f.Tensors[name]; got == nil || !sameBits(got, want) {
					t.Errorf("tensor %q = %v, want %v", name, got, want)
				}
				if f.DTypes[name] != F32 {
					t.Errorf("dtype of %q = %s, want F32", name, f.DTypes[name])
				}
			}
			if f.Metadata == nil || !maps.Equal(f.Metadata, c.metadata) {
				t.Errorf("metadata %q, want %q", f.Metadata, c.metadata)
			}
			// Writing what was read gives the same bytes again.
			var again bytes.Buffer
			if err := Write(&again, f.Tensors, f.Metadata); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), b) {
				t.Errorf("rewrite differs:\n%q\n%q", again.Bytes(), b)
			}
		})
	}
}

// TestWriteExactBytes pins the layout against bytes worked out by hand: the
// length prefix, the metadata first, sorted keys, space padding, data.
func TestWriteExactBytes(t *testing.T) {
	tensors := map[string]*tensor.Tensor{
		"b": tensor.New([]float32{1, -2}, 2),
		"a": tensor.Scalar(0.5),
	}
	var buf bytes.Buffer
	if err := Write(&buf, tensors, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	json := `{"__metadata__":{"k":"v"},` +
		`"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},` +
		`"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
	// 132 bytes of JSON, padded to 136.
	if len(json) != 132 {
		t.Fatalf("test is wrong: JSON is %d bytes", len(json))
	}
	want := []byte{136, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, json+"    "...)
	want = append(want,
		0x00, 0x00, 0x00, 0x3f, // a = 0.5
		0x00, 0x00, 0x80, 0x3f, // b[0] = 1
		0x00, 0x00, 0x00, 0xc0, // b[1] = -2
	)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), want)
	}
}

func TestWriteDeterministic(t *testing.T) {
	tensors := map[string]*tensor.Tensor{}
	meta := map[string]string{}
	for i := range 50 {
		name := string(rune('a'+i%26)) + itoa(i)
		tensors[name] = tensor.Full(float32(i), i%4, 3)
		meta["key"+itoa(i)] = name
	}
	var first bytes.Buffer
	if err := Write(&first, tensors, meta); err != nil {
		t.Fatal(err)
	}
	for range 20 { // map iteration order differs from run to run
		var again bytes.Buffer
		if err := Write(&again, tensors, meta); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), again.Bytes()) {
			t.Fatal("two writes of the same input differ")
		}
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	ok := tensor.Scalar(1)
	cases := []struct {
		name     string
		tensors  map[string]*tensor.Tensor
		metadata map[string]string
		want     string
	}{
		{"nil tensor", map[string]*tensor.Tensor{"w": nil}, nil, `tensor "w" is nil`},
		{"empty name", map[string]*tensor.Tensor{"": ok}, nil, "tensor name is empty"},
		{"reserved name", map[string]*tensor.Tensor{"__metadata__": ok}, nil, "reserved"},
		{"invalid UTF-8 name", map[string]*tensor.Tensor{"\xff": ok}, nil, "not valid UTF-8"},
		{"invalid UTF-8 metadata", map[string]*tensor.Tensor{"w": ok}, map[string]string{"k": "\xfe"}, `metadata "k"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, c.tensors, c.metadata)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before refusing", buf.Len())
			}
			path := filepath.Join(t.TempDir(), "x.safetensors")
			err = Save(path, c.tensors, c.metadata)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Save error %v, want one naming %s and containing %q", err, path, c.want)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Save left a file behind: %v", err)
			}
		})
	}
}

// errWriter fails after n bytes, like a full disk.
type errWriter struct{ n int }

var errFull = errors.New("no space left on device")

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteReportsWriterError(t *testing.T) {
	tensors := map[string]*tensor.Tensor{"big": tensor.Zeros(100000)}
	for _, n := range []int{0, 10, 1000, 300000} {
		if err := Write(&errWriter{n: n}, tensors, nil); !errors.Is(err, errFull) {
			t.Errorf("after %d bytes: error %v, want %v", n, err, errFull)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	tensors := map[string]*tensor.Tensor{
		"fc.weight": tensor.FromFunc(func(i int) float32 { return float32(i) - 7.5 }, 4, 4),
		"fc.bias":   tensor.Full(0.125, 4),
	}
	meta := map[string]string{"epoch": "1"}
	if err := Save(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	// Overwrite: the second save replaces the first completely.
	meta["epoch"] = "2"
	tensors["fc.bias"] = tensor.Full(0.25, 4)
	if err := Save(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["epoch"] != "2" || !sameBits(f.Tensors["fc.bias"], tensors["fc.bias"]) || !sameBits(f.Tensors["fc.weight"], tensors["fc.weight"]) {
		t.Errorf("loaded %v %v, want the second save", f.Metadata, f.Tensors["fc.bias"])
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(ents))
	}
	// Saving into a missing directory fails and names the file.
	bad := filepath.Join(dir, "missing", "x.safetensors")
	if err := Save(bad, tensors, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("Save(%s) error %v, want one naming the file", bad, err)
	}
}
