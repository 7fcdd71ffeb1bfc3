//go:build !amd64 || noasm

package nn

// winoAnyBatch: without the AVX2 kernel, batches of 8 or more take Winograd
// and smaller ones im2col.
var winoAnyBatch = false
