package data

import "fmt"

// Shard selects one replica's share of every epoch in data-parallel
// training, as PyTorch's DistributedSampler does: each epoch's order (the
// seeded shuffle every replica computes alike) is padded at its end with
// its own first samples up to a multiple of Count, and replica Rank takes
// the positions Rank, Rank+Count, Rank+2·Count, … So the replicas' shards
// are disjoint but for the padding (at most Count−1 samples seen twice),
// of equal length ceil(n/Count), and batch k of every replica together
// make up batch k of one process running the whole order with Count times
// the batch size. The zero Shard (Count 0 or 1) is the whole epoch.
type Shard struct {
	Rank, Count int
}

// active reports whether s selects a part of the epoch.
func (s Shard) active() bool { return s.Count > 1 }

func (s Shard) check() error {
	if s.Count < 0 || s.Rank < 0 || (s.Count > 1 && s.Rank >= s.Count) || (s.Count <= 1 && s.Rank != 0) {
		return fmt.Errorf("data: Shard rank %d of %d: want 0 ≤ rank < count", s.Rank, s.Count)
	}
	return nil
}

// ShardLen returns the samples per epoch of each replica when n samples
// are sharded Count ways: ceil(n/Count).
func (s Shard) ShardLen(n int) int {
	if !s.active() {
		return n
	}
	return (n + s.Count - 1) / s.Count
}

// EpochLen returns the number of samples in each of the Loader's epochs:
// the data set's, or the shard's (LoaderConfig.Shard).
func (l *Loader) EpochLen() int { return l.cfg.Shard.ShardLen(l.ds.Len()) }

// fillEpoch writes the order of epoch e into o (of length EpochLen).
func (l *Loader) fillEpoch(o []int, e int) {
	sh := l.cfg.Shard
	if !sh.active() {
		fillOrder(o, l.cfg.Shuffle, l.cfg.Seed, e)
		return
	}
	n := l.ds.Len()
	full := make([]int, n) // once per epoch: small beside the epoch's work
	fillOrder(full, l.cfg.Shuffle, l.cfg.Seed, e)
	for j := range o {
		o[j] = full[(j*sh.Count+sh.Rank)%n]
	}
}
