//go:build unix

package main

import "syscall"

// processCPUSeconds returns the CPU time (user and system, all threads)
// the process has used, or -1 where the system does not say.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
