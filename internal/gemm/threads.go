package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threadsSetting is the worker count Sgemm uses; 0 means runtime.GOMAXPROCS(0).
var threadsSetting atomic.Int64

// SetThreads sets how many goroutines Sgemm spreads one product over.
// n <= 0 restores the default, runtime.GOMAXPROCS(0). The result of Sgemm
// does not depend on this setting, bit for bit.
func SetThreads(n int) {
	if n < 0 {
		n = 0
	}
	threadsSetting.Store(int64(n))
}

// Threads reports how many goroutines Sgemm spreads one product over.
func Threads() int {
	if n := int(threadsSetting.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// parallel runs f(0..t-1) concurrently, f(0) on the calling goroutine, and
// returns when all have finished.
func parallel(t int, f func(w int)) {
	if t <= 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	wg.Add(t - 1)
	for w := 1; w < t; w++ {
		go func() {
			defer wg.Done()
			f(w)
		}()
	}
	f(0)
	wg.Wait()
}

// barrier lets a fixed group of goroutines wait for each other; it is
// reusable, one generation after another.
type barrier struct {
	mu    sync.Mutex
	cond  sync.Cond
	n     int
	count int
	gen   int
}

func newBarrier(n int) *barrier {
	b := &barrier{n: n}
	b.cond.L = &b.mu
	return b
}

// wait blocks until all n goroutines have called wait.
func (b *barrier) wait() {
	b.mu.Lock()
	g := b.gen
	b.count++
	if b.count == b.n {
		b.count = 0
		b.gen++
		b.cond.Broadcast()
	} else {
		for g == b.gen {
			b.cond.Wait()
		}
	}
	b.mu.Unlock()
}
