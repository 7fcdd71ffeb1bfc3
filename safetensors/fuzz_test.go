package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/backprop-go/backprop/tensor"
)

// FuzzRead feeds arbitrary bytes to Read. It must never panic, every
// refusal must be an ErrFormat error, and whatever it accepts must be
// self-consistent and survive a write and a second read bit for bit.
func FuzzRead(f *testing.F) {
	var valid bytes.Buffer
	if err := Write(&valid, map[string]*tensor.Tensor{
		"w": tensor.New([]float32{1, -2, 3.5, 0}, 2, 2),
		"s": tensor.Scalar(7),
		"e": tensor.Zeros(0, 3),
	}, map[string]string{"architecture": "linear(2)"}); err != nil {
		f.Fatal(err)
	}
	f.Add(valid.Bytes())
	f.Add(raw(`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}`, u16le(0x3c00, 0x7e00, 0x4049)))
	f.Add(raw(`{"d":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, binary.LittleEndian.AppendUint64(nil, 0x3fb999999999999a)))
	f.Add(raw(`{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"u":{"dtype":"BOOL","shape":[2],"data_offsets":[8,10]}}`, append(binary.LittleEndian.AppendUint64(nil, 5), 0, 1)))
	f.Add(raw(`{"__metadata__":{"k":"v"}}`, nil))
	f.Add(raw(`{}`, nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := readBytes(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not ErrFormat", err)
			}
			return
		}
		for name, tt := range file.Tensors {
			n := 1
			for _, d := range tt.Shape() {
				n *= d
			}
			if n != len(tt.Data()) || file.DTypes[name] == "" || file.Ints[name] != nil {
				t.Fatalf("tensor %q inconsistent", name)
			}
		}
		for name, it := range file.Ints {
			n := 1
			for _, d := range it.Shape {
				n *= d
			}
			if n != len(it.Data) || file.DTypes[name] == "" {
				t.Fatalf("int tensor %q inconsistent", name)
			}
		}
		if file.Metadata == nil {
			t.Fatal("nil metadata")
		}
		// The writer refuses only names it cannot carry; the reader accepts
		// an empty name, which the writer refuses to catch caller bugs.
		if _, ok := file.Tensors[""]; ok {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, file.Tensors, file.Metadata); err != nil {
			t.Fatalf("cannot write what was read: %v", err)
		}
		again, err := readBytes(buf.Bytes())
		if err != nil {
			t.Fatalf("cannot read what was written: %v", err)
		}
		for name, tt := range file.Tensors {
			if !sameBits(again.Tensors[name], tt) {
				t.Fatalf("tensor %q changed in a round trip", name)
			}
		}
		if len(again.Tensors) != len(file.Tensors) || len(again.Metadata) != len(file.Metadata) {
			t.Fatal("round trip lost tensors or metadata")
		}
		for k, v := range file.Metadata {
			if again.Metadata[k] != v {
				t.Fatalf("metadata %q changed in a round trip", k)
			}
		}
	})
}
