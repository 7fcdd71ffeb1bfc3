//go:build !race

package train

// raceEnabled says whether the race detector instruments this test binary;
// the concurrency test runs fewer iterations under it.
const raceEnabled = false
