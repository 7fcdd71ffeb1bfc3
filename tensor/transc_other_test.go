//go:build !amd64 || noasm

package tensor

// withoutTransc runs f; there are no AVX2 loops to turn off.
func withoutTransc(f func()) { f() }
