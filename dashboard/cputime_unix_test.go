//go:build unix

package dashboard

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, user and system: a
// measure of the dashboard's cost that other programs on the machine
// disturb less than they disturb wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
