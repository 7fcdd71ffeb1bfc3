package optim

import (
	"hash/fnv"
	"math"
	"sort"
	"testing"
)

// fingerprint runs make's optimiser for 20 steps over newParams(1) and
// hashes every parameter and state tensor bit for bit.
func fingerprint(make func() (Optimizer, func(int))) uint64 {
	o, grads := make()
	h := fnv.New64a()
	put := func(v float32) {
		b := math.Float32bits(v)
		h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)})
	}
	for s := 1; s <= 20; s++ {
		grads(s)
		o.Step()
	}
	for _, p := range o.Params() {
		for _, v := range p.Data.Data() {
			put(v)
		}
	}
	sd := o.StateDict()
	var ks []string
	for k := range sd {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		h.Write([]byte(k))
		for _, v := range sd[k].Data() {
			put(v)
		}
	}
	return h.Sum64()
}

func TestPrintFingerprints(t *testing.T) {
	for _, c := range configs {
		f := fingerprint(func() (Optimizer, func(int)) {
			p := newParams(1)
			return c.make(p), func(s int) { setGrads(p, s) }
		})
		t.Logf("{%q, %#x},", c.name, f)
	}
}
