package train

import (
	"time"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/dist"
)

// defaultBucketBytes is Config.BucketBytes's default with
// OverlapAllReduce: small enough that a model of a few MB (the MLP and
// CNN of MNIST) makes several buckets, the first of which is ready well
// before the backward pass ends; large enough that one collective call's
// latency is spread over many gradients. (PyTorch's 25 MiB is sized for
// models a hundred times larger.)
const defaultBucketBytes = 256 << 10

// waitRecorder is implemented by a Comm (given as Config.Distributed)
// that wants to know how long Fit waited for the gradients' all-reduce at
// each update: all of it without OverlapAllReduce, the part the backward
// pass did not hide with it. cmd/backprop reports it.
type waitRecorder interface{ AddWait(time.Duration) }

// overlap is a replica's gradient averaging overlapped with the backward
// pass. The trainable parameters, taken in reverse model order (the order
// in which the backward pass finishes them), are cut into buckets of at
// most bucketFloats gradients; a bucket fixes the layout of one
// all-reduce call: its parameters' gradients, a has-gradient flag per
// parameter, and, in the last bucket, the stop flag (see
// averageGradients). The buckets depend on the parameters' order and
// sizes only, and are sent in their order, bucket k once buckets 0 … k−1
// are sent and its own parameters are ready, so every replica makes the
// same collective calls in the same order whatever its timing.
type overlap struct {
	comm         dist.Comm
	bucketFloats int
	params       []*ag.Value // trainable, in model order
	index        map[*ag.Value]int
	bucketOf     []int
	seen         []bool
	buckets      []*bucket
	next         int  // the next bucket to send
	inStep       bool // a hooked backward pass began this update
	jobs, done   chan *bucket
}

type bucket struct {
	params []int     // indices into overlap.params, in reverse model order
	buf    []float32 // the gradients, the flags, the stop flag in the last bucket
	left   int       // parameters not ready yet
	err    error
	// f64 and wait are a synchronised batch norm's sums instead (sum64),
	// which must take their turn after the buckets sent before them.
	f64  []float64
	wait chan struct{}
}

// layout (re)builds the buckets for params and starts the communication
// goroutine on first use.
func (o *overlap) layout(params []*ag.Value) {
	var train []*ag.Value
	for _, p := range params {
		if p.RequiresGrad() {
			train = append(train, p)
		}
	}
	same := len(train) == len(o.params)
	for i := 0; same && i < len(train); i++ {
		same = train[i] == o.params[i]
	}
	if same && o.buckets != nil {
		return
	}
	o.params, o.index, o.bucketOf, o.seen = train, map[*ag.Value]int{}, make([]int, len(train)), make([]bool, len(train))
	o.buckets = nil
	var cur *bucket
	size := 0
	for i := len(train) - 1; i >= 0; i-- {
		o.index[train[i]] = i
		n := train[i].Data.Size()
		if cur == nil || (size > 0 && size+n > o.bucketFloats) {
			if cur != nil {
				cur.buf = make([]float32, size+len(cur.params))
			}
			cur, size = &bucket{}, 0
			o.buckets = append(o.buckets, cur)
		}
		cur.params = append(cur.params, i)
		o.bucketOf[i] = len(o.buckets) - 1
		size += n
	}
	if cur != nil {
		cur.buf = make([]float32, size+len(cur.params)+1) // + the stop flag
	} else {
		o.buckets = []*bucket{{buf: make([]float32, 1)}} // no trainable parameter: the stop flag alone
	}
	if o.jobs == nil {
		o.jobs, o.done = make(chan *bucket, 64), make(chan *bucket, 64)
		go func() {
			for b := range o.jobs {
				if b.wait != nil {
					b.err = o.comm.AllReduce64(b.f64, dist.Sum)
					close(b.wait)
					continue
				}
				b.err = o.comm.AllReduce(b.buf, dist.Sum)
				o.done <- b
			}
		}()
	}
}

// begin starts an update's hooked backward pass.
func (o *overlap) begin(params []*ag.Value) {
	o.layout(params)
	for _, b := range o.buckets {
		b.left = len(b.params)
	}
	clear(o.seen)
	o.next, o.inStep = 0, true
}

// ready is the backward pass's report that p's gradient is final.
func (o *overlap) ready(p *ag.Value) {
	i, ok := o.index[p]
	if !ok || o.seen[i] {
		return
	}
	o.seen[i] = true
	o.buckets[o.bucketOf[i]].left--
	// The last bucket waits for finish, which reads the stop flag.
	for o.next < len(o.buckets)-1 && o.buckets[o.next].left == 0 {
		o.send(false)
	}
}

// send packs the next bucket and hands it to the communication goroutine;
// stop is the replica's stop flag, which goes in the last bucket.
func (o *overlap) send(stop bool) {
	b := o.buckets[o.next]
	o.next++
	off, k := 0, len(b.buf)-len(b.params)
	if o.next == len(o.buckets) {
		k--
		b.buf[len(b.buf)-1] = 0
		if stop {
			b.buf[len(b.buf)-1] = 1
		}
	}
	for j, i := range b.params {
		p := o.params[i]
		g := b.buf[off : off+p.Data.Size()]
		b.buf[k+j] = 0
		if p.Grad == nil {
			clear(g)
		} else {
			copy(g, p.Grad.Data())
			b.buf[k+j] = 1
		}
		off += len(g)
	}
	// A channel's buffer holds all of them: a step never waits here.
	o.jobs <- b
}

// finish sends the buckets still held back (parameters the graph did not
// reach), waits for every bucket's sum, and sets each gradient to the
// replicas' mean. It reports whether some replica asked to stop.
func (o *overlap) finish(stop func() bool, size int) (stopped bool, waited time.Duration, err error) {
	o.inStep = false
	t := time.Now()
	for o.next < len(o.buckets)-1 {
		o.send(false)
	}
	o.send(stop())
	for range o.buckets {
		if b := <-o.done; b.err != nil && err == nil {
			err = b.err
		}
	}
	waited = time.Since(t)
	if err != nil {
		return false, waited, err
	}
	n := float32(size)
	for bi, b := range o.buckets {
		off, k := 0, len(b.buf)-len(b.params)
		if bi == len(o.buckets)-1 {
			k--
			stopped = b.buf[len(b.buf)-1] > 0
		}
		for j, i := range b.params {
			p := o.params[i]
			g := b.buf[off : off+p.Data.Size()]
			off += len(g)
			if b.buf[k+j] == 0 {
				continue // no replica has a gradient for it: it stays without
			}
			setMeanGrad(p, g, n)
		}
	}
	return stopped, waited, nil
}

// sum64 sums buf over the replicas after the buckets already sent: a
// synchronised batch norm's backward pass calls it between the reports of
// the parameters, in the same order on every replica, so the collective
// calls keep one order across the replicas.
func (o *overlap) sum64(buf []float64) error {
	if o.jobs == nil {
		return o.comm.AllReduce64(buf, dist.Sum)
	}
	b := &bucket{f64: buf, wait: make(chan struct{})}
	o.jobs <- b
	<-b.wait
	return b.err
}
