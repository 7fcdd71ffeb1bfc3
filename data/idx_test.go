package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// idxBytes builds a raw IDX file by hand: the header from its parts and
// then data.
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIDXRoundTrip(t *testing.T) {
	f32 := func(vs ...float32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	f64 := func(vs ...float64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	tests := []struct {
		name string
		m    IDX
		want []float32
	}{
		{"uint8 images", IDX{IDXUint8, []int{2, 2, 3}, []byte{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}},
			[]float32{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}},
		{"uint8 labels", IDX{IDXUint8, []int{3}, []byte{7, 0, 9}}, []float32{7, 0, 9}},
		{"int8", IDX{IDXInt8, []int{2}, []byte{0xff, 0x80}}, []float32{-1, -128}},
		{"int16", IDX{IDXInt16, []int{2}, []byte{0xff, 0xfe, 0x01, 0x00}}, []float32{-2, 256}},
		{"int32", IDX{IDXInt32, []int{1, 1}, []byte{0xff, 0xff, 0xff, 0xfd}}, []float32{-3}},
		{"float32", IDX{IDXFloat32, []int{2}, f32(1.5, -0.25)}, []float32{1.5, -0.25}},
		{"float64", IDX{IDXFloat64, []int{2}, f64(3.25, -1e10)}, []float32{3.25, -1e10}},
		{"empty first dimension", IDX{IDXUint8, []int{0, 28, 28}, []byte{}}, []float32{}},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		for _, ext := range []string{"", ".gz"} {
			t.Run(tt.name+ext, func(t *testing.T) {
				path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+ext)
				if err := WriteIDXFile(path, &tt.m); err != nil {
					t.Fatal(err)
				}
				got, err := ReadIDXFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if got.Type != tt.m.Type || !equalInts(got.Dims, tt.m.Dims) || !bytes.Equal(got.Data, tt.m.Data) {
					t.Fatalf("read back %v %v %v, wrote %v %v %v", got.Type, got.Dims, got.Data, tt.m.Type, tt.m.Dims, tt.m.Data)
				}
				vals := make([]float32, len(tt.want))
				got.Float32s(vals, 0)
				for i := range vals {
					if vals[i] != tt.want[i] {
						t.Fatalf("values %v, want %v", vals, tt.want)
					}
				}
				// The stream reader and the in-memory parser agree.
				raw, _ := os.ReadFile(path)
				m2, err := ReadIDX(bytes.NewReader(raw), path)
				if err != nil || !bytes.Equal(m2.Data, tt.m.Data) {
					t.Fatalf("ReadIDX: %v", err)
				}
			})
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestIDXCorrupt(t *testing.T) {
	good := idxBytes(0x08, []uint32{2, 2}, []byte{1, 2, 3, 4})
	corruptGz := gz(t, good)
	corruptGz[len(corruptGz)-6] ^= 0xff // damage the CRC
	tests := []struct {
		name string
		file []byte
		want string // in the message, after the file name
	}{
		{"empty", nil, "truncated header"},
		{"short header", []byte{0, 0, 8}, "truncated header"},
		{"bad magic bytes", append([]byte{1, 2}, good[2:]...), "bad magic number 0x0102"},
		{"bad type", idxBytes(0x07, []uint32{1}, []byte{1}), "bad element type 0x07"},
		{"zero dimensions", []byte{0, 0, 8, 0}, "bad number of dimensions 0"},
		{"too many dimensions", []byte{0, 0, 8, 200}, "bad number of dimensions 200"},
		{"truncated dims", good[:6], "truncated header: 2 dimensions"},
		{"truncated data", good[:len(good)-1], "truncated data: dimensions [2 2] of uint8 need 4 bytes after the header, file has 3"},
		{"truncated float data", idxBytes(0x0D, []uint32{2}, make([]byte, 7)), "need 8 bytes after the header, file has 7"},
		{"wrong count", append(good[:len(good):len(good)], 5), "wrong element count"},
		{"huge dims", idxBytes(0x08, []uint32{1 << 31, 1 << 31, 1 << 31}, nil), "more than"},
		{"huge float dims", idxBytes(0x0E, []uint32{1 << 30}, nil), "more than"},
		{"bad gzip crc", corruptGz, "checksum"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		for _, form := range []string{"raw", "gz"} {
			if form == "gz" && tt.name == "bad gzip crc" {
				continue
			}
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				b := tt.file
				if form == "gz" {
					b = gz(t, b)
				}
				path := filepath.Join(dir, "bad-"+strings.ReplaceAll(tt.name, " ", "-")+"."+form)
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				for _, read := range []struct {
					how string
					f   func() (*IDX, error)
				}{
					{"ReadIDXFile", func() (*IDX, error) { return ReadIDXFile(path) }},
					{"ParseIDX", func() (*IDX, error) { return ParseIDX(b, path) }},
					{"ReadIDX", func() (*IDX, error) { return ReadIDX(bytes.NewReader(b), path) }},
				} {
					m, err := read.f()
					if err == nil {
						t.Fatalf("%s accepted the file: %v %v", read.how, m.Type, m.Dims)
					}
					msg := err.Error()
					if !strings.HasPrefix(msg, path) || !strings.Contains(msg, tt.want) {
						t.Errorf("%s: error %q, want the file name %q and %q", read.how, msg, path, tt.want)
					}
				}
			})
		}
	}
}

// A header that claims gigabytes over a short stream must not make the
// reader allocate them.
func TestIDXHugeClaimNotAllocated(t *testing.T) {
	claims := [][]uint32{
		{60000, 28, 28, 1000}, // 47 GB: over MaxIDXBytes, refused from the header
		{1 << 30, 3},          // 3 GiB: under MaxIDXBytes, refused when the data ends
	}
	for _, dims := range claims {
		file := idxBytes(0x08, dims, make([]byte, 100))
		for _, b := range [][]byte{file, gz(t, file)} {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := ReadIDX(bytes.NewReader(b), "huge")
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("dims %v accepted", dims)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("dims %v: allocated %d bytes before refusing (%v)", dims, alloc, err)
			}
			runtime.ReadMemStats(&before)
			if _, err := ParseIDX(b, "huge"); err == nil {
				t.Fatalf("ParseIDX accepted dims %v", dims)
			}
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("ParseIDX dims %v: allocated %d bytes before refusing", dims, alloc)
			}
		}
	}
}

func TestIDXWriteRefusesMismatch(t *testing.T) {
	m := &IDX{Type: IDXUint8, Dims: []int{2, 2}, Data: []byte{1, 2, 3}}
	if _, err := m.WriteTo(&bytes.Buffer{}); err == nil {
		t.Fatal("wrote 3 bytes for dims [2 2]")
	}
}

func FuzzIDX(f *testing.F) {
	f.Add(idxBytes(0x08, []uint32{2, 2}, []byte{1, 2, 3, 4}))
	f.Add(idxBytes(0x0D, []uint32{1}, []byte{0x3f, 0x80, 0, 0}))
	f.Add(idxBytes(0x0E, []uint32{1, 1}, make([]byte, 8)))
	f.Add(idxBytes(0x0B, []uint32{2}, []byte{0xff, 0xfe, 0x01, 0x00}))
	f.Add(idxBytes(0x08, []uint32{1 << 30, 4}, nil))
	f.Add(gz(f, idxBytes(0x08, []uint32{3}, []byte{1, 2, 3})))
	f.Fuzz(func(t *testing.T, b []byte) {
		m1, err1 := ParseIDX(b, "fuzz")
		m2, err2 := ReadIDX(bytes.NewReader(b), "fuzz")
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("ParseIDX error %v, ReadIDX error %v", err1, err2)
		}
		if err1 != nil {
			if !strings.HasPrefix(err1.Error(), "fuzz") || !strings.HasPrefix(err2.Error(), "fuzz") {
				t.Fatalf("errors do not name the file: %v / %v", err1, err2)
			}
			return
		}
		if m1.Type != m2.Type || !equalInts(m1.Dims, m2.Dims) || !bytes.Equal(m1.Data, m2.Data) {
			t.Fatal("ParseIDX and ReadIDX disagree")
		}
		need, err := idxDataSize(m1.Type, m1.Dims)
		if err != nil || need != int64(len(m1.Data)) {
			t.Fatalf("accepted %d data bytes for %v of %v", len(m1.Data), m1.Dims, m1.Type)
		}
		// Whatever is accepted converts and writes back to the same bytes.
		n := len(m1.Data) / m1.Type.Size()
		m1.Float32s(make([]float32, min(n, 1<<16)), 0)
		var buf bytes.Buffer
		if _, err := m1.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if !isGzip(b) && !bytes.Equal(buf.Bytes(), b) {
			t.Fatal("round trip changed the bytes")
		}
	})
}
