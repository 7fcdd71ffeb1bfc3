//go:build !unix && !windows

package autograd_test

import "time"

// cpuClockStart is when the test binary began: the origin of cpuSeconds's fallback.
var cpuClockStart = time.Now()

// cpuSeconds falls back to wall time where the system gives no per-process CPU
// time (wasm, Plan 9): figures are then wall-clock figures.
func cpuSeconds() float64 { return time.Since(cpuClockStart).Seconds() }
