package serve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backprop-go/backprop/tensor"
)

// job is up to MaxBatch inputs of one request, waiting for their outputs.
type job struct {
	ctx  context.Context
	x    []float32 // n inputs
	n    int
	out  []float32 // n outputs, filled by a worker
	err  error
	done chan struct{}
}

// errStopped answers a request that came after Close.
var errStopped = &requestError{503, "stopped", "the server is shutting down"}

// infer runs a request's inputs (n of them, size values each) through the
// batcher, split into jobs of at most MaxBatch, and returns the outputs.
func (s *Server) infer(ctx context.Context, x []float32, n int) ([]float32, error) {
	var jobs []*job
	for i := 0; i < n; i += s.cfg.MaxBatch {
		c := min(s.cfg.MaxBatch, n-i)
		j := &job{ctx: ctx, x: x[i*s.size : (i+c)*s.size], n: c, done: make(chan struct{})}
		select {
		case s.queue <- j:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.stop:
			return nil, errStopped
		}
		jobs = append(jobs, j)
	}
	out := make([]float32, 0, n*s.outSize)
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-ctx.Done():
			return nil, ctx.Err() // the worker finds the job's context done
		case <-s.finished:
			// Close raced with this request: no worker will take the job.
			select {
			case <-j.done:
			default:
				return nil, errStopped
			}
		}
		if j.err != nil {
			return nil, j.err
		}
		out = append(out, j.out...)
	}
	return out, nil
}

// batcher gathers queued jobs into batches of at most MaxBatch inputs: a
// batch is sent when it is full or MaxWait after its first job came, and
// while every worker is busy it keeps taking jobs that fit, so that the
// batches grow with the load.
func (s *Server) batcher() {
	defer close(s.work)
	var carry *job
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-s.queue:
			case <-s.stop:
				return
			}
		}
		batch, n := []*job{first}, first.n
		if s.cfg.MaxWait > 0 && n < s.cfg.MaxBatch {
			timer.Reset(s.cfg.MaxWait)
		gather:
			for n < s.cfg.MaxBatch {
				select {
				case j := <-s.queue:
					if n+j.n > s.cfg.MaxBatch {
						carry = j
						break gather
					}
					batch, n = append(batch, j), n+j.n
				case <-timer.C:
					break gather
				case <-s.stop:
					timer.Stop()
					s.work <- batch
					return
				}
			}
			timer.Stop()
		}
		// Hand the batch to a free worker, taking what fits meanwhile.
		for sent := false; !sent; {
			queue := s.queue
			if carry != nil || n >= s.cfg.MaxBatch {
				queue = nil
			}
			select {
			case s.work <- batch:
				sent = true
			case j := <-queue:
				if n+j.n > s.cfg.MaxBatch {
					carry = j
				} else {
					batch, n = append(batch, j), n+j.n
				}
			}
		}
	}
}

// worker runs batches through the shared model and hands each job its
// outputs. Jobs whose request has gone are left out of the batch.
func (s *Server) worker() {
	defer s.workers.Done()
	for batch := range s.work {
		live := batch[:0]
		n := 0
		for _, j := range batch {
			if j.ctx.Err() != nil {
				j.err = j.ctx.Err()
				close(j.done)
				continue
			}
			live, n = append(live, j), n+j.n
		}
		if n == 0 {
			continue
		}
		x := make([]float32, 0, n*s.size)
		for _, j := range live {
			x = append(x, j.x...)
		}
		start := time.Now()
		out, err := s.forward(x, n)
		s.metrics.batch(n, time.Since(start))
		off := 0
		for _, j := range live {
			if err != nil {
				j.err = err
			} else {
				j.out = out[off*s.outSize : (off+j.n)*s.outSize : (off+j.n)*s.outSize]
			}
			off += j.n
			close(j.done)
		}
	}
}

// forward runs n inputs through the model and returns a copy of the
// outputs. A panic in a layer is a 500 for the batch's requests, not the
// end of the server.
func (s *Server) forward(x []float32, n int) (out []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &requestError{500, "internal", fmt.Sprintf("internal error running the model: %v", r)}
		}
	}()
	in := tensor.New(x, append([]int{n}, s.model.InputShape...)...)
	y := s.inference.Infer(in)
	if y == nil {
		return nil, errors.New("the model gave no output")
	}
	d := y.Data()
	if s.outSize != 0 && len(d) != n*s.outSize { // 0: New learning the size
		return nil, fmt.Errorf("the model gave %d values for %d inputs, want %d each", len(d), n, s.outSize)
	}
	// A copy: the output's storage may come from a pool the next forward
	// pass reuses.
	return append([]float32(nil), d...), nil
}
