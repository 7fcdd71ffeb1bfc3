//go:build amd64 && !noasm

package tensor

// withoutTransc runs f with the AVX2 loops of transc_avx2_amd64.s turned
// off, so that transc.go's Go loops do all the work.
func withoutTransc(f func()) {
	old := hasTransc
	hasTransc = false
	defer func() { hasTransc = old }()
	f()
}
