//go:build race

package tensor

// raceEnabled: the race detector's runtime makes sync.Pool drop buffers at
// random, so allocation counts are not measured under it.
const raceEnabled = true
