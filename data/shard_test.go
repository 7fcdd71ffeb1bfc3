package data

import (
	"slices"
	"testing"
)

// The replicas' batch k together are batch k of one process with the
// whole (padded) order and Count times the batch size; each sample keeps
// the augmentation of its own index.
func TestShardBatchesMakeTheGlobalBatch(t *testing.T) {
	tests := []struct{ n, count, bs int }{
		{12, 2, 3}, // even
		{10, 3, 2}, // padded by 2, a partial last batch
		{7, 4, 5},  // fewer samples than a global batch
	}
	for _, tc := range tests {
		whole, err := NewLoader(&toy{n: tc.n}, LoaderConfig{BatchSize: tc.bs * tc.count, Shuffle: true, Seed: 9, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		const epoch = 3
		order := whole.Order(epoch)
		m := (tc.n + tc.count - 1) / tc.count
		padded := append(order, order[:m*tc.count-tc.n]...)
		seen := map[int]int{}
		for r := range tc.count {
			l, err := NewLoader(&toy{n: tc.n}, LoaderConfig{BatchSize: tc.bs, Shuffle: true, Seed: 9, Workers: 2, Shard: Shard{Rank: r, Count: tc.count}})
			if err != nil {
				t.Fatal(err)
			}
			if l.EpochLen() != m || l.NumBatches() != (m+tc.bs-1)/tc.bs {
				t.Fatalf("%+v rank %d: EpochLen %d, NumBatches %d; want %d, %d", tc, r, l.EpochLen(), l.NumBatches(), m, (m+tc.bs-1)/tc.bs)
			}
			for b, err := range l.Epoch(epoch) {
				if err != nil {
					t.Fatal(err)
				}
				for j, i := range b.Indices {
					pos := (b.Number*tc.bs+j)*tc.count + r // position in the padded order
					if i != padded[pos] {
						t.Fatalf("%+v rank %d batch %d: sample %d is %d, want %d", tc, r, b.Number, j, i, padded[pos])
					}
					// The global batch holds positions [k·bs·count, (k+1)·bs·count).
					if pos/(tc.bs*tc.count) != b.Number {
						t.Fatalf("%+v rank %d: position %d is not in global batch %d", tc, r, pos, b.Number)
					}
					if want := SampleRNG(9, epoch, i); b.X.Data()[3*j+2] != float32(unit(want)) {
						t.Fatalf("%+v: sample %d's augmentation is not that of its index", tc, i)
					}
					seen[i]++
				}
			}
		}
		if len(seen) != tc.n {
			t.Errorf("%+v: the shards cover %d of %d samples", tc, len(seen), tc.n)
		}
		twice := 0
		for _, c := range seen {
			twice += c - 1
		}
		if twice != m*tc.count-tc.n {
			t.Errorf("%+v: %d samples repeated, want the %d of the padding", tc, twice, m*tc.count-tc.n)
		}
	}
}

func TestShardZeroIsTheWholeEpoch(t *testing.T) {
	a, _ := NewLoader(&toy{n: 11}, LoaderConfig{BatchSize: 4, Shuffle: true, Seed: 2})
	b, _ := NewLoader(&toy{n: 11}, LoaderConfig{BatchSize: 4, Shuffle: true, Seed: 2, Shard: Shard{Rank: 0, Count: 1}})
	if !slices.Equal(a.Order(1), b.Order(1)) || a.NumBatches() != b.NumBatches() {
		t.Error("a Shard of count 1 changed the epoch")
	}
}

func TestShardRefusesBadRanks(t *testing.T) {
	for _, s := range []Shard{{Rank: 2, Count: 2}, {Rank: -1, Count: 2}, {Rank: 0, Count: -1}, {Rank: 1, Count: 1}} {
		if _, err := NewLoader(&toy{n: 5}, LoaderConfig{Shard: s}); err == nil {
			t.Errorf("Shard %+v: no error", s)
		}
	}
}
