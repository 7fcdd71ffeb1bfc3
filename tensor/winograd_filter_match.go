package tensor

import (
	"bytes"
	"sync/atomic"
	"unsafe"
)

// winoMatchChunk is the fewest floats of a weight that matchesParallel
// compares on a goroutine of its own: below it, waking a worker costs
// more than the comparison (a 64×64 3×3 weight is 37k floats).
const winoMatchChunk = 1 << 16

// matchesParallel is madeFrom, the comparison of the weight with the copy
// f keeps split over the workers: at batch 1 it reads ResNet-18's
// prepared weights twice over (75 MB), a tenth of the pass on one thread,
// which the other threads would otherwise wait on.
func (f *WinogradFilter) matchesParallel(w *Tensor) bool {
	if f == nil || w.DType() != Float32 || len(w.data) != len(f.w) || len(f.w) == 0 ||
		w.shape[0] != f.o || w.shape[1] != f.c {
		return false
	}
	if len(f.w) < 2*winoMatchChunk {
		return f.madeFrom(w)
	}
	b := func(s []float32) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s)) }
	var differ atomic.Bool
	parallelFor(len(f.w), winoMatchChunk, func(lo, hi int) {
		if !differ.Load() && !bytes.Equal(b(w.data[lo:hi]), b(f.w[lo:hi])) {
			differ.Store(true)
		}
	})
	return !differ.Load()
}
