//go:build unix

package forwardauth_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user and system): both
// ends of the benchmark's loopback HTTP and the garbage collector.
func processCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
