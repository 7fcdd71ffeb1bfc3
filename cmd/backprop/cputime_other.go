//go:build !unix

package main

// processCPUSeconds returns -1: this system gives no per-process CPU time
// through the standard library.
func processCPUSeconds() float64 { return -1 }
