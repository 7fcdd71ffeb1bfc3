package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func readBytes(b []byte) (*File, error) { return Read(bytes.NewReader(b), int64(len(b))) }

func TestReadConvertsFloatDTypes(t *testing.T) {
	f64 := func(vs ...float64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	cases := []struct {
		name  string
		dtype DType
		data  []byte
		want  []float32
	}{
		{"F32", F32, f32le(1, -2.5, 3e-45), []float32{1, -2.5, 3e-45}},
		// F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), 0.333251953125.
		{"F16", F16, u16le(0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555),
			[]float32{1, -2, 65504, 5.9604644775390625e-08, 0.333251953125}},
		// BF16: 1, -3, 3.140625, 2^-133 (subnormal), 0.25.
		{"BF16", BF16, u16le(0x3f80, 0xc040, 0x4049, 0x0001, 0x3e80),
			[]float32{1, -3, 3.140625, 9.183549615799121e-41, 0.25}},
		// F64: 0.1 rounds to float32 0x3dcccccd; 1e300 overflows to +Inf;
		// 1e-50 underflows to 0; 2^-140 is a float32 subnormal, exactly.
		{"F64", F64, f64(0.1, 1e300, -1e300, 1e-50, math.Ldexp(1, -140)),
			[]float32{math.Float32frombits(0x3dcccccd), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Ldexp(1, -140))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := `{"x":{"dtype":"` + string(c.dtype) + `","shape":[` + itoa(len(c.want)) + `],"data_offsets":[0,` + itoa(len(c.data)) + `]}}`
			f, err := readBytes(raw(hdr, c.data))
			if err != nil {
				t.Fatal(err)
			}
			got := f.Tensors["x"].Data()
			for i := range c.want {
				if math.Float32bits(got[i]) != math.Float32bits(c.want[i]) {
					t.Errorf("element %d = %g (%#08x), want %g (%#08x)", i, got[i], math.Float32bits(got[i]), c.want[i], math.Float32bits(c.want[i]))
				}
			}
			if f.DTypes["x"] != c.dtype {
				t.Errorf("DTypes[x] = %s, want %s", f.DTypes["x"], c.dtype)
			}
		})
	}
}

func TestReadF16SpecialValues(t *testing.T) {
	// +Inf, -Inf, NaN, -0 through the file path as well.
	data := u16le(0x7c00, 0xfc00, 0x7e00, 0x8000)
	f, err := readBytes(raw(`{"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}`, data))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Tensors["h"].Data()
	if !math.IsInf(float64(got[0]), 1) || !math.IsInf(float64(got[1]), -1) || !math.IsNaN(float64(got[2])) ||
		math.Float32bits(got[3]) != 0x80000000 {
		t.Errorf("got %v, want [+Inf -Inf NaN -0]", got)
	}
	if s := f.Tensors["h"].Shape(); !slices.Equal(s, []int{2, 2}) {
		t.Errorf("shape %v, want [2 2]", s)
	}
}

func TestReadIntDTypes(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		dtype DType
		data  []byte
		want  []int64
	}{
		{BOOL, []byte{0, 1, 1}, []int64{0, 1, 1}},
		{U8, []byte{0, 200, 255}, []int64{0, 200, 255}},
		{I8, []byte{0, 0x80, 0xff}, []int64{0, -128, -1}},
		{U16, le.AppendUint16(le.AppendUint16(nil, 65535), 7), []int64{65535, 7}},
		{I16, le.AppendUint16(le.AppendUint16(nil, 0x8000), 7), []int64{-32768, 7}},
		{U32, le.AppendUint32(nil, 0xffffffff), []int64{4294967295}},
		{I32, le.AppendUint32(le.AppendUint32(nil, 0xfffffffe), 5), []int64{-2, 5}},
		{U64, le.AppendUint64(nil, math.MaxInt64), []int64{math.MaxInt64}},
		{I64, le.AppendUint64(le.AppendUint64(nil, 1<<40), 0xffffffffffffffff), []int64{1 << 40, -1}},
	}
	for _, c := range cases {
		t.Run(string(c.dtype), func(t *testing.T) {
			hdr := `{"i":{"dtype":"` + string(c.dtype) + `","shape":[` + itoa(len(c.want)) + `],"data_offsets":[0,` + itoa(len(c.data)) + `]}}`
			f, err := readBytes(raw(hdr, c.data))
			if err != nil {
				t.Fatal(err)
			}
			it := f.Ints["i"]
			if it == nil || !slices.Equal(it.Data, c.want) || !slices.Equal(it.Shape, []int{len(c.want)}) {
				t.Errorf("Ints[i] = %+v, want data %v", it, c.want)
			}
			if len(f.Tensors) != 0 {
				t.Errorf("integer tensor also in Tensors")
			}
			if names := f.Names(); !slices.Equal(names, []string{"i"}) {
				t.Errorf("Names() = %v", names)
			}
		})
	}
}

func TestReadScalarI64(t *testing.T) {
	// BatchNorm's num_batches_tracked: a 0-d I64 next to float weights.
	data := append(binary.LittleEndian.AppendUint64(nil, 938), f32le(1, 2)...)
	hdr := `{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},` +
		`"bn.weight":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`
	f, err := readBytes(raw(hdr, data))
	if err != nil {
		t.Fatal(err)
	}
	if it := f.Ints["bn.num_batches_tracked"]; it == nil || len(it.Shape) != 0 || !slices.Equal(it.Data, []int64{938}) {
		t.Errorf("num_batches_tracked = %+v", it)
	}
	if names := f.Names(); !slices.Equal(names, []string{"bn.num_batches_tracked", "bn.weight"}) {
		t.Errorf("Names() = %v", names)
	}
}

func TestReadAcceptsReferenceVariants(t *testing.T) {
	cases := []struct{ name, hdr string }{
		{"no tensors", `{}`},
		{"space padding", `{}       `},
		{"null metadata", `{"__metadata__":null}`},
		{"empty metadata", `{"__metadata__":{}}`},
		{"metadata last", `{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"__metadata__":{"k":"v"}}`},
		{"fields reordered", `{"a":{"data_offsets":[0,0],"shape":[0],"dtype":"F32"}}`},
		{"empty tensors share an offset", `{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F64","shape":[3,0],"data_offsets":[0,0]}}`},
		{"empty name", `{"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`},
		{"whitespace", " {\n \"a\" : { \"dtype\" : \"F32\" , \"shape\" : [ ] , \"data_offsets\" : [ 0 , 4 ] } }\t"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var data []byte
			if strings.Contains(c.hdr, "[ 0 , 4 ]") {
				data = f32le(7)
			}
			if _, err := readBytes(raw(c.hdr, data)); err != nil {
				t.Errorf("error %v", err)
			}
		})
	}
}

// TestReadRefusesCorruption feeds malformed files to Read; each must fail
// with an ErrFormat error whose message says what was wrong, and without
// allocating anything near what the file claims.
func TestReadRefusesCorruption(t *testing.T) {
	ok := `"dtype":"F32","shape":[2],"data_offsets":[0,8]`
	two := f32le(1, 2)
	withLen := func(n uint64, rest string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
	}
	cases := []struct {
		name string
		file []byte
		want string // substring of the error message; | separates alternatives
	}{
		{"empty file", nil, "too short"},
		{"7 bytes", []byte{1, 2, 3, 4, 5, 6, 7}, "too short"},
		{"header longer than file", withLen(1000, "{}"), "header length 1000 is larger than the 2 bytes"},
		{"header over the cap", withLen(MaxHeaderSize+1, "{}"), "larger than the limit"},
		{"header length 2^64-1", withLen(math.MaxUint64, "{}"), "larger than the limit"},
		{"empty header", raw("", nil), "JSON ends"},
		{"not JSON", raw("hello!!!", nil), "invalid JSON"},
		{"JSON array", raw("[]", nil), "want an object"},
		{"JSON string", raw(`"x"`, nil), "want an object"},
		{"truncated JSON", raw(`{"a":{"dtype":"F32"`, nil), "JSON ends"},
		{"invalid UTF-8", raw("{\"\xff\":1}", nil), "UTF-8"},
		{"data after object", raw(`{} {}`, nil), "after the JSON object"},
		{"NUL padding", raw("{}\x00\x00", nil), "after the JSON object"},
		{"entry not an object", raw(`{"a":[]}`, nil), `tensor "a": found an array, want an object`},
		{"unknown dtype", raw(`{"a":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}`, two), `tensor "a": unknown dtype "F128"`},
		{"lower-case dtype", raw(`{"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}`, two), `unknown dtype "f32"`},
		{"unsupported dtype", raw(`{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2}), `tensor "a": dtype F8_E4M3 is not supported`},
		{"dtype not a string", raw(`{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}`, two), `dtype is the number 4, want a string`},
		{"negative dimension", raw(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, two), `shape: element 0 is -2, want a non-negative integer`},
		{"fractional dimension", raw(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}`, two), `element 0 is 1.5`},
		{"exponent dimension", raw(`{"a":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}`, two), `element 0 is 2e0`},
		{"dimension beyond int64", raw(`{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}`, two), `below 2^63`},
		{"dimension a string", raw(`{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}`, two), `element 0 is "2"`},
		{"shape not an array", raw(`{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}`, two), `shape: found the number 2, want an array`},
		{"element count overflows", raw(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, two), `has too many elements`},
		{"byte count overflows", raw(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}`, two), `has too many elements`},
		{"overflow before a zero", raw(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil), `has too many elements`},
		{"one offset", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}}`, two), `data_offsets has 1 numbers, want 2`},
		{"three offsets", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, two), `data_offsets has 3 numbers`},
		{"no offsets", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[]}}`, two), `data_offsets has 0 numbers`},
		{"negative offset", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, two), `data_offsets: element 0 is -8`},
		{"begin after end", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, two), `data_offsets [8, 0] end before they begin`},
		{"end past buffer", raw(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, two), `tensor "a": data_offsets [0, 16] go past the end of the 8-byte data buffer`},
		// 32-bit platforms refuse the shape before looking at the offsets.
		{"huge tensor past buffer", raw(`{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}`, two), `go past the end|has too many elements`},
		{"size mismatch", raw(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, two), `tensor "a": dtype F32 and shape [3] need 12 bytes, data_offsets [0, 8] hold 8`},
		{"overlap", raw(`{"a":{`+ok+`},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two), `tensor "b": data_offsets [4, 8] overlap tensor "a", which ends at 8`},
		{"identical ranges", raw(`{"a":{`+ok+`},"b":{`+ok+`}}`, two), `overlap tensor "a"`},
		{"empty tensor inside another", raw(`{"a":{`+ok+`},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}`, two), `tensor "b": data_offsets [4, 4] overlap`},
		{"gap", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32le(1, 2, 3)), `tensor "b": data_offsets [8, 12] leave a gap of 4 unused bytes`},
		{"gap at start", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two), `leave a gap of 4 unused bytes before it (at 0)`},
		{"trailing bytes", raw(`{"a":{`+ok+`}}`, f32le(1, 2, 3)), `data buffer has 12 bytes, tensors cover only the first 8`},
		{"bytes with no tensors", raw(`{}`, []byte{0}), `data buffer has 1 bytes, tensors cover only the first 0`},
		{"duplicate tensor", raw(`{"a":{`+ok+`},"a":{`+ok+`}}`, two), `header has key "a" twice`},
		{"duplicate metadata", raw(`{"__metadata__":{},"__metadata__":{}}`, nil), `header has key "__metadata__" twice`},
		{"duplicate metadata key", raw(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `__metadata__ has key "k" twice`},
		{"metadata number", raw(`{"__metadata__":{"epoch":3}}`, nil), `__metadata__["epoch"] is the number 3, want a string`},
		{"metadata nested", raw(`{"__metadata__":{"cfg":{"lr":"1"}}}`, nil), `__metadata__["cfg"] is an object, want a string`},
		{"metadata null value", raw(`{"__metadata__":{"k":null}}`, nil), `__metadata__["k"] is null`},
		{"metadata array", raw(`{"__metadata__":["a"]}`, nil), `__metadata__ is an array, want an object of strings`},
		{"metadata string", raw(`{"__metadata__":"a"}`, nil), `__metadata__ is "a", want an object of strings`},
		{"duplicate field", raw(`{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, two), `tensor "a": field dtype given twice`},
		{"duplicate shape", raw(`{"a":{"dtype":"F32","shape":[2],"shape":[2],"data_offsets":[0,8]}}`, two), `field shape given twice`},
		{"duplicate offsets", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"data_offsets":[0,8]}}`, two), `field data_offsets given twice`},
		{"unknown field", raw(`{"a":{`+ok+`,"stride":[1]}}`, two), `tensor "a": unknown field "stride"`},
		{"mis-cased field", raw(`{"a":{"DType":"F32","shape":[2],"data_offsets":[0,8]}}`, two), `unknown field "DType"`},
		{"missing dtype", raw(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, two), `tensor "a": missing field dtype`},
		{"missing shape", raw(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, two), `missing field shape`},
		{"missing offsets", raw(`{"a":{"dtype":"F32","shape":[2]}}`, two), `missing field data_offsets`},
		{"bad BOOL", raw(`{"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2}), `tensor "b": BOOL element 1 is 2, want 0 or 1`},
		{"U64 beyond int64", raw(`{"u":{"dtype":"U64","shape":[],"data_offsets":[0,8]}}`, binary.LittleEndian.AppendUint64(nil, 1<<63)), `tensor "u": U64 element 0 is 9223372036854775808, beyond int64`},
		{"long name truncated", raw(`{"`+strings.Repeat("n", 1000)+`":[]}`, nil), `"` + strings.Repeat("n", 80) + `..."`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			before := ms.TotalAlloc
			f, err := readBytes(c.file)
			runtime.ReadMemStats(&ms)
			if err == nil {
				t.Fatalf("no error; read %v", f.Names())
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not match ErrFormat", err)
			}
			if !containsAny(err.Error(), c.want) {
				t.Errorf("error %q\ndoes not contain %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "safetensors: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if alloc := ms.TotalAlloc - before; alloc > 1<<20 {
				t.Errorf("allocated %d bytes before refusing a %d-byte file", alloc, len(c.file))
			}
		})
	}
}

// TestReadSizeLargerThanData: a caller that states a size larger than the
// data gets a format error, not a short read taken as data.
func TestReadSizeLargerThanData(t *testing.T) {
	b := raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32le(1, 2))
	_, err := Read(bytes.NewReader(b[:len(b)-4]), int64(len(b)))
	if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `tensor "a": data ends at byte`) {
		t.Errorf("error %v, want one saying the data ends early", err)
	}
}

// failingReader fails every read, as a disk with a bad sector would.
type failingReader struct{ err error }

func (r failingReader) ReadAt(p []byte, off int64) (int, error) { return 0, r.err }

func TestReadIOError(t *testing.T) {
	eio := errors.New("input/output error")
	_, err := Read(failingReader{eio}, 100)
	if !errors.Is(err, eio) || errors.Is(err, ErrFormat) {
		t.Errorf("error %v, want one wrapping the I/O error and not ErrFormat", err)
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, raw(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32le(1, 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.safetensors")
	for _, path := range []string{bad, missing, dir} {
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Load(%s) error %v, want one naming the file", path, err)
		}
	}
	_, err := Load(bad)
	if !strings.Contains(err.Error(), `tensor "a"`) || !errors.Is(err, ErrFormat) {
		t.Errorf("Load(bad) error %v, want a format error naming tensor a", err)
	}
	if _, err := Load(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error %v, want os.ErrNotExist", err)
	}
}

// TestReadLargeTensorChunks covers a tensor larger than the read chunk.
func TestReadLargeTensorChunks(t *testing.T) {
	n := chunkSize/2 + 3 // F16: spans two chunks with a partial one
	data := make([]byte, 0, 2*n)
	for i := range n {
		data = binary.LittleEndian.AppendUint16(data, uint16(i))
	}
	f, err := readBytes(raw(`{"h":{"dtype":"F16","shape":[`+itoa(n)+`],"data_offsets":[0,`+itoa(2*n)+`]}}`, data))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Tensors["h"].Data()
	for i := range n {
		if want := halfToFloat32(uint16(i)); math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("element %d = %g, want %g", i, got[i], want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// containsAny reports whether s contains one of the |-separated substrings.
func containsAny(s, alternatives string) bool {
	for _, sub := range strings.Split(alternatives, "|") {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestReadErrorMessagesStayShort(t *testing.T) {
	dims := strings.Repeat("1,", 100000) + "3"
	_, err := readBytes(raw(`{"a":{"dtype":"F32","shape":[`+dims+`],"data_offsets":[0,8]}}`, f32le(1, 2)))
	if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "shape has more than 65 numbers") {
		t.Errorf("error of %d bytes: %.300s", len(err.Error()), err)
	}
}
