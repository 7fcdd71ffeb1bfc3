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

// Parallel runs f(0..t-1) concurrently, f(0) on the calling goroutine, and
// returns when all have finished. It is the fork/join of this package,
// exported (inside the module) so that the element-wise loops of the tensor
// package share its parked workers.
func Parallel(t int, f func(w int)) { parallel(t, f) }

// spinPolls is how many times a waiting goroutine polls before it parks.
// On this kind of machine (a VM) waking a parked goroutine whose OS thread
// has gone idle costs tens of microseconds, as much as a whole 256³
// product, so a waiter keeps polling for about that long first; every
// yieldEvery polls it yields its P so that other goroutines still run.
const (
	spinPolls  = 1 << 14
	yieldEvery = 64
)

// event is a one-waiter wake-up: the waiter polls cond, then parks on the
// channel; the waker makes cond true and then calls wake.
type event struct {
	parked atomic.Bool
	ch     chan struct{}
}

func newEvent() *event { return &event{ch: make(chan struct{}, 1)} }

// wait returns once cond() is true; cond must become true only through a
// waker that calls e.wake afterwards.
func (e *event) wait(cond func() bool) {
	for i := 0; i < spinPolls; i++ {
		if cond() {
			return
		}
		if i%yieldEvery == yieldEvery-1 {
			runtime.Gosched()
		}
	}
	for {
		e.parked.Store(true)
		// Re-check after announcing: a waker that made cond true before
		// seeing parked would not send.
		if cond() {
			if !e.parked.CompareAndSwap(true, false) {
				<-e.ch // the waker saw parked and is sending; drain it
			}
			return
		}
		<-e.ch
		if cond() {
			return
		}
	}
}

// wake wakes the waiter if it parked.
func (e *event) wake() {
	if e.parked.CompareAndSwap(true, false) {
		e.ch <- struct{}{}
	}
}

// pool is a set of persistent worker goroutines, started on first use.
// One parallel call uses it at a time (others fall back to new goroutines),
// so a call's workers are never shared with another's.
var pool struct {
	mu sync.Mutex
	f  func(w int)
	// post is incremented by 256 to post a job and holds the job's thread
	// count in its low byte, so a worker reads both in one load (a worker
	// not taking part never reads f, which the next job may be writing).
	post    atomic.Uint64
	pending atomic.Int64  // workers of the current job still running
	done    *event        // the caller's wait for pending to reach 0
	workers []*poolWorker // worker i runs f(i+1)
}

type poolWorker struct {
	id  int
	run *event
}

// maxPoolWorkers bounds the persistent workers; calls asking for more
// threads than this start goroutines as before.
const maxPoolWorkers = 255 - 1

func (w *poolWorker) loop(seen uint64) {
	for {
		w.run.wait(func() bool { return pool.post.Load() != seen })
		seen = pool.post.Load()
		if w.id < int(seen&255) {
			pool.f(w.id)
			if pool.pending.Add(-1) == 0 {
				pool.done.wake()
			}
		}
	}
}

// parallel runs f(0..t-1) concurrently, f(0) on the calling goroutine, and
// returns when all have finished.
func parallel(t int, f func(w int)) {
	if t <= 1 {
		f(0)
		return
	}
	if forceSpawn || t-1 > maxPoolWorkers || !pool.mu.TryLock() {
		spawn(t, f)
		return
	}
	defer pool.mu.Unlock()
	if pool.done == nil {
		pool.done = newEvent()
	}
	for len(pool.workers) < t-1 {
		w := &poolWorker{id: len(pool.workers) + 1, run: newEvent()}
		pool.workers = append(pool.workers, w)
		go w.loop(pool.post.Load())
	}
	pool.f = f
	pool.pending.Store(int64(t - 1))
	pool.post.Store((pool.post.Load()>>8+1)<<8 | uint64(t))
	for _, w := range pool.workers[:t-1] {
		w.run.wake()
	}
	f(0)
	pool.done.wait(func() bool { return pool.pending.Load() == 0 })
	pool.f = nil
}

// spawn is parallel with fresh goroutines.
func spawn(t int, f func(w int)) {
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

// forceSpawn makes parallel start fresh goroutines every call, as it did
// before the pool; a hook for benchmarks comparing the two.
var forceSpawn bool
