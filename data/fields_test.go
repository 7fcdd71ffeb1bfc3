package data

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/backprop-go/backprop/tensor"
)

// tokens is a FieldDataset of integer sequences: sample i is the ids
// i, i+1, ..., a next-token target shifted by one and a float mask.
type tokens struct{ n, seq int }

func (d tokens) Len() int          { return d.n }
func (d tokens) Shape() []int      { return []int{1} }
func (d tokens) Classes() []string { return nil }
func (d tokens) TargetSize() int   { return 0 }
func (d tokens) Sample(i int, rng *rand.Rand, x, target []float32) (int, error) {
	x[0] = float32(i)
	return -1, nil
}
func (d tokens) Fields() []Field {
	return []Field{{Name: "ids", Int: true, Shape: []int{d.seq}}, {Name: "next", Int: true, Shape: []int{d.seq}},
		{Name: "mask", Shape: []int{d.seq}}}
}
func (d tokens) SampleFields(i int, rng *rand.Rand, x, target []float32, f FieldValues) (int, error) {
	for j := range d.seq {
		f.Ints["ids"][j], f.Ints["next"][j] = int64(i+j), int64(i+j+1)
		f.Floats["mask"][j] = float32(j % 2)
	}
	return d.Sample(i, rng, x, target)
}

func TestLoaderFillsNamedFields(t *testing.T) {
	ds := tokens{n: 10, seq: 3}
	l, err := NewLoader(ds, LoaderConfig{BatchSize: 4, Shuffle: true, Seed: 7, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for b, err := range l.Epoch(2) {
		if err != nil {
			t.Fatal(err)
		}
		ids, next, mask := b.Int("ids"), b.Int("next"), b.Float("mask")
		n := b.Len()
		if !slices.Equal(ids.Shape(), []int{n, 3}) || !slices.Equal(mask.Shape(), []int{n, 3}) || b.Float("x") != b.X {
			t.Fatalf("shapes ids %v mask %v for %d samples", ids.Shape(), mask.Shape(), n)
		}
		for k, i := range b.Indices {
			for j := range 3 {
				id, nx := ids.Int64s()[k*3+j], next.Int64s()[k*3+j]
				if id != int64(i+j) || nx != int64(i+j+1) || mask.Data()[k*3+j] != float32(j%2) {
					t.Fatalf("sample %d position %d: ids %d next %d mask %v", i, j, id, nx, mask.Data()[k*3+j])
				}
			}
		}
		c := b.Clone()
		c.Ints["ids"].Int64s()[0] = -5
		if ids.Int64s()[0] == -5 {
			t.Fatal("Clone shares the integer fields")
		}
		seen += n
	}
	if seen != 10 {
		t.Fatalf("%d samples, want 10", seen)
	}
}

func TestLoaderRefusesBadFields(t *testing.T) {
	for _, f := range [][]Field{{{Name: "x"}}, {{Name: "a"}, {Name: "a"}}, {{Name: "m", Shape: []int{0}}}} {
		if _, err := NewLoader(badFields{tokens{n: 2, seq: 1}, f}, LoaderConfig{}); err == nil {
			t.Errorf("fields %v accepted", f)
		}
	}
}

type badFields struct {
	tokens
	f []Field
}

func (d badFields) Fields() []Field { return d.f }

// padded is a FieldDataset of variable-length token sequences, as a
// language model's batches are: sample i has 1 + i%seq tokens drawn from
// rng in [1, vocab), padded with 0 to seq, an Int64 mask (1 on the
// tokens), a float feature per position ("pos": the token's place and a
// random value) and the class i%3.
type padded struct{ n, seq, vocab int }

func (d padded) Len() int          { return d.n }
func (d padded) Shape() []int      { return []int{2} }
func (d padded) Classes() []string { return []string{"a", "b", "c"} }
func (d padded) TargetSize() int   { return 0 }
func (d padded) Sample(i int, rng *rand.Rand, x, target []float32) (int, error) {
	return d.SampleFields(i, rng, x, target, FieldValues{
		Floats: map[string][]float32{"pos": make([]float32, d.seq*2)},
		Ints:   map[string][]int64{"ids": make([]int64, d.seq), "mask": make([]int64, d.seq)},
	})
}
func (d padded) Fields() []Field {
	return []Field{
		{Name: "ids", Int: true, Shape: []int{d.seq}},
		{Name: "pos", Shape: []int{d.seq, 2}},
		{Name: "mask", Int: true, Shape: []int{d.seq}},
	}
}
func (d padded) SampleFields(i int, rng *rand.Rand, x, target []float32, f FieldValues) (int, error) {
	n := 1 + i%d.seq
	ids, mask, pos := f.Ints["ids"], f.Ints["mask"], f.Floats["pos"]
	for j := range d.seq {
		ids[j], mask[j], pos[2*j], pos[2*j+1] = 0, 0, float32(j), 0
		if j < n {
			// 1<<40 + k: values a float32 could not hold exactly.
			ids[j], mask[j], pos[2*j+1] = 1<<40+int64(1+rng.IntN(d.vocab-1)), 1, rng.Float32()
		}
	}
	x[0], x[1] = float32(i), float32(n)
	return i % 3, nil
}

// TestLoaderIntFieldsAreInt64 batches a FieldDataset with a float input,
// an Int64 token sequence and an Int64 mask: the shapes and dtypes are
// those of the fields, each sample's values are those SampleFields writes
// with the generator SampleRNG gives, the labels come as an Int64 tensor
// too, and the batches are the same bit for bit whatever the number of
// workers, epoch after epoch, and differ between epochs.
func TestLoaderIntFieldsAreInt64(t *testing.T) {
	ds := padded{n: 23, seq: 4, vocab: 50}
	const seed = 11
	epochs := func(workers int) [][]*Batch {
		l, err := NewLoader(ds, LoaderConfig{BatchSize: 5, Shuffle: true, Seed: seed, Workers: workers, Prefetch: 1})
		if err != nil {
			t.Fatal(err)
		}
		var out [][]*Batch
		for e := range 3 {
			var bs []*Batch
			for b, err := range l.Epoch(e % 2) { // epochs 0, 1, 0 again
				if err != nil {
					t.Fatal(err)
				}
				checkPaddedBatch(t, ds, seed, b)
				bs = append(bs, b.Clone())
			}
			out = append(out, bs)
		}
		return out
	}
	ref := epochs(1)
	if len(ref[0]) != 5 || ref[0][4].Len() != 3 {
		t.Fatalf("%d batches, the last of %d samples; want 5 and 3", len(ref[0]), ref[0][len(ref[0])-1].Len())
	}
	if !sameBatches(ref[0], ref[2]) {
		t.Error("epoch 0 iterated a second time differs from the first")
	}
	if sameBatches(ref[0], ref[1]) {
		t.Error("epochs 0 and 1 are the same: the shuffle and the generators ignore the epoch")
	}
	for _, w := range []int{2, 3, 8} {
		if got := epochs(w); !sameBatches(got[0], ref[0]) || !sameBatches(got[1], ref[1]) {
			t.Errorf("Workers %d: batches differ from Workers 1", w)
		}
	}
}

// checkPaddedBatch checks one of padded's batches against SampleFields
// called directly.
func checkPaddedBatch(t *testing.T, ds padded, seed uint64, b *Batch) {
	t.Helper()
	n, seq := b.Len(), ds.seq
	ids, mask, pos, labels := b.Int("ids"), b.Int("mask"), b.Float("pos"), b.Int("labels")
	for _, c := range []struct {
		name  string
		got   []int
		dtype tensor.DType
		want  []int
		wantD tensor.DType
	}{
		{"ids", ids.Shape(), ids.DType(), []int{n, seq}, tensor.Int64},
		{"mask", mask.Shape(), mask.DType(), []int{n, seq}, tensor.Int64},
		{"pos", pos.Shape(), pos.DType(), []int{n, seq, 2}, tensor.Float32},
		{"x", b.X.Shape(), b.X.DType(), []int{n, 2}, tensor.Float32},
		{"labels", labels.Shape(), labels.DType(), []int{n}, tensor.Int64},
	} {
		if !slices.Equal(c.got, c.want) || c.dtype != c.wantD {
			t.Fatalf("batch %d: %s is %v %v, want %v %v", b.Number, c.name, c.dtype, c.got, c.wantD, c.want)
		}
	}
	if labels != b.LabelTensor() || b.Int("labels") != labels {
		t.Fatal("LabelTensor of a Loader's batch is not its buffer: it was rebuilt")
	}
	x, tgt := make([]float32, 2), []float32(nil)
	for k, i := range b.Indices {
		fv := FieldValues{
			Floats: map[string][]float32{"pos": make([]float32, seq*2)},
			Ints:   map[string][]int64{"ids": make([]int64, seq), "mask": make([]int64, seq)},
		}
		label, _ := ds.SampleFields(i, SampleRNG(seed, b.Epoch, i), x, tgt, fv)
		if !slices.Equal(ids.Int64s()[k*seq:(k+1)*seq], fv.Ints["ids"]) || !slices.Equal(mask.Int64s()[k*seq:(k+1)*seq], fv.Ints["mask"]) ||
			!slices.Equal(pos.Data()[k*seq*2:(k+1)*seq*2], fv.Floats["pos"]) || !slices.Equal(b.X.Data()[k*2:(k+1)*2], x) {
			t.Fatalf("epoch %d sample %d: ids %v mask %v pos %v x %v; SampleFields gives %v %v %v %v", b.Epoch, i,
				ids.Int64s()[k*seq:(k+1)*seq], mask.Int64s()[k*seq:(k+1)*seq], pos.Data()[k*seq*2:(k+1)*seq*2], b.X.Data()[k*2:(k+1)*2],
				fv.Ints["ids"], fv.Ints["mask"], fv.Floats["pos"], x)
		}
		if labels.Int64s()[k] != int64(label) || b.Labels[k] != label {
			t.Fatalf("sample %d: label %d, LabelTensor %d; want %d", i, b.Labels[k], labels.Int64s()[k], label)
		}
		if tokens := 1 + i%seq; mask.Int64s()[k*seq+tokens-1] != 1 || (tokens < seq && mask.Int64s()[k*seq+tokens] != 0) {
			t.Fatalf("sample %d: mask %v for %d tokens", i, mask.Int64s()[k*seq:(k+1)*seq], tokens)
		}
	}
}

// sameBatches reports whether two runs' batches are equal bit for bit.
func sameBatches(a, b []*Batch) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !slices.Equal(x.Indices, y.Indices) || !slices.Equal(x.Labels, y.Labels) || !slices.Equal(x.X.Data(), y.X.Data()) ||
			!slices.Equal(x.LabelTensor().Int64s(), y.LabelTensor().Int64s()) || len(x.Ints) != len(y.Ints) || len(x.Floats) != len(y.Floats) {
			return false
		}
		for k, v := range x.Ints {
			if w := y.Ints[k]; w == nil || !slices.Equal(v.Shape(), w.Shape()) || !slices.Equal(v.Int64s(), w.Int64s()) {
				return false
			}
		}
		for k, v := range x.Floats {
			if w := y.Floats[k]; w == nil || !slices.Equal(v.Shape(), w.Shape()) || !slices.Equal(v.Data(), w.Data()) {
				return false
			}
		}
	}
	return true
}

// TestLabelTensor checks Batch.LabelTensor on the Loader's batches (its
// reused buffer, no allocation, the labels' values), on a Clone (its own
// copy), on a Batch made by hand, and its absence for regression.
func TestLabelTensor(t *testing.T) {
	l, err := NewLoader(&toy{n: 10}, LoaderConfig{BatchSize: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for b, err := range l.Epoch(0) {
		if err != nil {
			t.Fatal(err)
		}
		lt := b.LabelTensor()
		if lt.DType() != tensor.Int64 || !slices.Equal(lt.Shape(), []int{b.Len()}) {
			t.Fatalf("LabelTensor is %v %v for %d samples", lt.DType(), lt.Shape(), b.Len())
		}
		for k, y := range b.Labels {
			if lt.Int64s()[k] != int64(y) || y != b.Indices[k]%3 {
				t.Fatalf("label %d: %d in Labels, %d in LabelTensor, want %d", k, y, lt.Int64s()[k], b.Indices[k]%3)
			}
		}
		if a := testing.AllocsPerRun(10, func() { _ = b.LabelTensor() }); a != 0 {
			t.Errorf("LabelTensor allocates %v times on a Loader's batch", a)
		}
		c := b.Clone()
		c.LabelTensor().Int64s()[0] = 99
		if lt.Int64s()[0] == 99 || c.LabelTensor().Int64s()[0] != 99 {
			t.Fatal("a Clone's LabelTensor shares the Loader's buffer, or is rebuilt on each call")
		}
	}
	hand := &Batch{Labels: []int{2, 0, 1}}
	if got := hand.LabelTensor(); got.DType() != tensor.Int64 || !slices.Equal(got.Int64s(), []int64{2, 0, 1}) {
		t.Errorf("hand-made batch: LabelTensor %v", got.Int64s())
	}
	reg, _ := NewLoader(&toy{n: 4, regression: true}, LoaderConfig{BatchSize: 4})
	for b, err := range reg.Epoch(0) {
		if err != nil || b.LabelTensor() != nil || b.Int("labels") != nil {
			t.Fatalf("regression batch: error %v, LabelTensor %v", err, b.LabelTensor())
		}
	}
}

// TestFieldLoaderAllocations: the named fields, Int64 ones included, live
// in the Loader's buffers; an epoch allocates no sample buffers.
func TestFieldLoaderAllocations(t *testing.T) {
	l, _ := NewLoader(padded{n: 1000, seq: 8, vocab: 50}, LoaderConfig{BatchSize: 32, Shuffle: true, Workers: 2})
	allocs := testing.AllocsPerRun(5, func() {
		for _, err := range l.Epoch(1) {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs > 40 {
		t.Errorf("%.0f allocations per epoch of 32 batches", allocs)
	}
}
