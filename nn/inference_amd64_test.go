//go:build amd64 && !noasm

package nn

import "golang.org/x/sys/cpu"

// winoAnyBatch says the tensor package runs Winograd's products with its
// AVX2 kernel, at any batch, so that each image's values do not depend on
// the batch.
var winoAnyBatch = cpu.X86.HasAVX2 && cpu.X86.HasFMA
