//go:build windows

package serve

import "syscall"

// cpuTime returns the CPU time (user and system, all threads) the process has
// used, in seconds, from GetProcessTimes.
func cpuTime() float64 {
	h, err := syscall.GetCurrentProcess()
	if err != nil {
		return 0
	}
	var creation, exit, kernel, user syscall.Filetime
	if syscall.GetProcessTimes(h, &creation, &exit, &kernel, &user) != nil {
		return 0
	}
	// A Filetime counts 100 ns intervals; Nanoseconds would read it as a
	// date since 1601, so the two halves are combined by hand.
	ticks := func(f syscall.Filetime) float64 { return float64(uint64(f.HighDateTime)<<32 | uint64(f.LowDateTime)) }
	return (ticks(kernel) + ticks(user)) * 100e-9
}
