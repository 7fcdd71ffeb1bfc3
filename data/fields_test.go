package data

import (
	"math/rand/v2"
	"slices"
	"testing"
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
		f.Ints["ids"][j], f.Ints["next"][j] = i+j, i+j+1
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
		if !slices.Equal(ids.Shape, []int{n, 3}) || !slices.Equal(mask.Shape(), []int{n, 3}) || b.Float("x") != b.X {
			t.Fatalf("shapes ids %v mask %v for %d samples", ids.Shape, mask.Shape(), n)
		}
		for k, i := range b.Indices {
			for j := range 3 {
				if ids.Data[k*3+j] != i+j || next.Data[k*3+j] != i+j+1 || mask.Data()[k*3+j] != float32(j%2) {
					t.Fatalf("sample %d position %d: ids %d next %d mask %v", i, j, ids.Data[k*3+j], next.Data[k*3+j], mask.Data()[k*3+j])
				}
			}
		}
		c := b.Clone()
		c.Ints["ids"].Data[0] = -5
		if ids.Data[0] == -5 {
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
