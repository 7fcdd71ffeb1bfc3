package safetensors

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestReadAllocationBoundedByFileSize: what a valid file makes the reader
// allocate is bounded by the file's real size, whatever its header
// claims: at most 8 bytes per byte of U8 (widened to int64), 2 per byte of
// F16 (widened to float32), and a small multiple of the header for a
// header of many empty tensors (the json package's token reader costs about
// 35 bytes per header byte there). A shape of more than MaxDims
// dimensions is refused after reading MaxDims+1 of them.
func TestReadAllocationBoundedByFileSize(t *testing.T) {
	const n = 1 << 20
	manyEmpty := func() []byte {
		var b strings.Builder
		b.WriteString("{")
		for i := range 20000 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"t%d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`, i)
		}
		b.WriteString("}")
		return raw(b.String(), nil)
	}
	zeros := "[" + strings.Repeat("0,", 100000) + "0]"
	cases := []struct {
		name   string
		file   []byte
		factor float64 // allowed allocation per file byte
	}{
		{"F32", raw(fmt.Sprintf(`{"a":{"dtype":"F32","shape":[%d],"data_offsets":[0,%d]}}`, n/4, n), make([]byte, n)), 2},
		{"F16", raw(fmt.Sprintf(`{"a":{"dtype":"F16","shape":[%d],"data_offsets":[0,%d]}}`, n/2, n), make([]byte, n)), 3},
		{"U8", raw(fmt.Sprintf(`{"a":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`, n, n), make([]byte, n)), 9},
		{"many empty tensors", manyEmpty(), 40},
	}
	for _, c := range []struct{ name, field string }{{"shape", "shape"}, {"offsets", "data_offsets"}} {
		hdr := `{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`
		hdr = strings.Replace(hdr, `"`+c.field+`":[0`, `"`+c.field+`":`+zeros[:len(zeros)-1], 1)
		file := raw(hdr, nil)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := readBytes(file)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "more") {
			t.Errorf("long %s: error %v, want a refusal", c.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(file))+1<<20 {
			t.Errorf("long %s: refusing a %d-byte header allocated %d bytes", c.name, len(file), alloc)
		}
	}
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := readBytes(c.file)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		if limit := c.factor*float64(len(c.file)) + 2<<20; float64(alloc) > limit {
			t.Errorf("%s: reading a %d-byte file allocated %d bytes (%.1f per byte), want at most %.0f", c.name, len(c.file), alloc, float64(alloc)/float64(len(c.file)), limit)
		}
	}
}
