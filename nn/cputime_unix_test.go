//go:build unix

package nn_test

import "syscall"

// cpuTime returns the CPU time (user and system, all threads) the process
// has used, in seconds: steadier than wall time on a shared machine.
func cpuTime() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
