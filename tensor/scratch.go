package tensor

import (
	"sync"
)

// The scratch pool keeps float32 and int32 buffers between training steps so
// that a step in steady state asks the Go allocator for (almost) nothing:
// allocating tens of megabytes per step costs more in zeroing, page faults
// and garbage collection than the arithmetic of the small layers.
//
// Buffers are kept in exact-size free lists: a training loop asks for the
// same sizes every step, so exact sizes waste nothing, and a size that is
// never asked for again is dropped once the pool holds scratchLimit bytes.
// A buffer taken from the pool has undefined contents.

// scratchLimit bounds the bytes the pools retain; beyond it, returned
// buffers are left to the garbage collector.
const scratchLimit = 256 << 20

type freeList[T float32 | int32] struct {
	mu    sync.Mutex
	free  map[int][][]T
	bytes int
}

func (p *freeList[T]) get(n int) []T {
	if n == 0 {
		return []T{}
	}
	p.mu.Lock()
	if l := p.free[n]; len(l) > 0 {
		s := l[len(l)-1]
		l[len(l)-1] = nil
		p.free[n] = l[:len(l)-1]
		p.bytes -= 4 * n
		p.mu.Unlock()
		return s
	}
	p.mu.Unlock()
	return make([]T, n)
}

func (p *freeList[T]) put(s []T) {
	n := cap(s)
	if n == 0 {
		return
	}
	s = s[:n]
	p.mu.Lock()
	if p.bytes+4*n <= scratchLimit {
		if p.free == nil {
			p.free = map[int][][]T{}
		}
		p.free[n] = append(p.free[n], s)
		p.bytes += 4 * n
	}
	p.mu.Unlock()
}

var (
	floatPool freeList[float32]
	intPool   freeList[int32]
)

// getFloats returns a buffer of n float32 with undefined contents.
func getFloats(n int) []float32 { return floatPool.get(n) }

// putFloats hands a buffer back; the caller must not touch it afterwards.
func putFloats(s []float32) { floatPool.put(s) }

// Empty returns a tensor of the given shape whose elements are undefined
// (possibly left over from an earlier tensor): for results that the caller
// overwrites entirely. Its storage comes from the pool that Recycle fills.
func Empty(shape ...int) *Tensor {
	n := checkShape("Empty", shape)
	return &Tensor{shape: append([]int(nil), shape...), data: getFloats(n)}
}

// emptyLike is Empty with t's shape.
func emptyLike(t *Tensor) *Tensor { return Empty(t.shape...) }

// Recycle hands t's storage to the pool that Empty and the operations of
// this package draw from, and empties t. The caller promises that nothing
// else uses that storage: not t, not a Reshape view of it, not a slice
// obtained from Data. Package autograd recycles the gradients and
// temporaries that it alone holds. Views (IsView) never own their storage
// and are left alone: only a base's storage is recycled.
func Recycle(t *Tensor) {
	if t == nil || t.data == nil || t.dtype != Float32 || t.borrowed {
		return
	}
	putFloats(t.data)
	t.data = nil
	t.shape = emptyShape
}

// Int32s returns a buffer of n int32 with undefined contents from the pool
// that RecycleInt32s fills (for index arrays such as MaxPool2d's argmax).
func Int32s(n int) []int32 { return intPool.get(n) }

// RecycleInt32s hands an int32 buffer back to the pool; the caller must not
// use it afterwards.
func RecycleInt32s(s []int32) { intPool.put(s) }

// emptyShape is the shape of a recycled tensor (shared; never modified).
var emptyShape = []int{0}
