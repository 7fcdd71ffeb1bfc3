//go:build !unix

package nn_test

import "time"

// cpuClockStart is when the test binary began: the origin of cpuTime's
// fallback.
var cpuClockStart = time.Now()

// cpuTime falls back to wall time where the system gives no per-process
// CPU time: figures are then wall-clock figures.
func cpuTime() float64 { return time.Since(cpuClockStart).Seconds() }
