package train

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/dist"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// MetaWorldSize is the checkpoint metadata key under which a distributed
// run records its number of replicas: a checkpoint taken in the middle of
// an epoch resumes only with as many, since a replica's batch positions
// depend on it.
const MetaWorldSize = "distributed_world_size"

// MetaSyncBatchNorm is the checkpoint metadata key, "1", of a distributed
// run with Config.SyncBatchNorm: resuming it otherwise (or a run without
// it with it) changes how its batch norms learn, which Fit warns about.
const MetaSyncBatchNorm = "distributed_sync_batchnorm"

// replica is Fit's part in a data-parallel job (Config.Distributed with
// more than one replica). Every replica runs Fit on the whole data set
// with the same Config: each reads its shard of every epoch (data.Shard),
// the gradients of each update are averaged over the replicas before the
// AfterBackward hooks the caller gave, and so every replica takes the same
// step and holds the same weights. Rank 0 alone writes the files.
//
// A nil *replica is the single process of an ordinary run: its methods do
// nothing.
type replica struct {
	comm dist.Comm
	// parent is Fit's context; Fit itself runs under one that is
	// cancelled only when some replica's parent was, at the same update on
	// every replica (the flag travels with the gradients), so that all of
	// them stop, and rank 0 saves, at the same step.
	parent context.Context
	cancel context.CancelFunc
	flat   []float32 // the gradients, a has-gradient flag per parameter, the stop flag
	// ov, with Config.OverlapAllReduce, averages the gradients during the
	// backward pass instead of after it.
	ov *overlap
	// syncBN, with Config.SyncBatchNorm, holds the batch-norm layers whose
	// Sync the run set (and close clears).
	syncBN    bool
	syncedBNs []*nn.BatchNormModule
}

// newReplica sets up cfg for a replica of a data-parallel job and returns
// the context Fit runs under; nil and ctx itself for a single process.
func newReplica(ctx context.Context, cfg *Config) (*replica, context.Context) {
	c := cfg.Distributed
	if c == nil || c.Size() <= 1 {
		return nil, ctx
	}
	rep := &replica{comm: c, parent: ctx}
	if cfg.OverlapAllReduce {
		bucket := cfg.BucketBytes
		if bucket <= 0 {
			bucket = defaultBucketBytes
		}
		rep.ov = &overlap{comm: c, bucketFloats: max(bucket/4, 1)}
	}
	rep.syncBN = cfg.SyncBatchNorm
	inner, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rep.cancel = cancel
	if c.Rank() != 0 {
		cfg.OutDir, cfg.Curves = "", nil
	}
	cfg.Meta = maps.Clone(cfg.Meta)
	if cfg.Meta == nil {
		cfg.Meta = map[string]string{}
	}
	cfg.Meta[MetaWorldSize] = strconv.Itoa(c.Size())
	delete(cfg.Meta, MetaSyncBatchNorm)
	if cfg.SyncBatchNorm {
		cfg.Meta[MetaSyncBatchNorm] = "1"
	}
	// First, so that the caller's hooks (and clipping) see the averages,
	// as with PyTorch's DistributedDataParallel.
	cfg.AfterBackward = append([]GradHook{rep.averageGradients}, cfg.AfterBackward...)
	return rep, inner
}

// close releases the replica's context and communication goroutine.
func (rep *replica) close() {
	if rep != nil {
		rep.cancel()
		if rep.ov != nil && rep.ov.jobs != nil {
			close(rep.ov.jobs)
		}
		for _, l := range rep.syncedBNs {
			l.Sync = nil
		}
	}
}

// backward runs a batch's backward pass: with OverlapAllReduce, on the
// batch that ends an update, hooked so that the gradients' buckets go to
// the all-reduce as soon as they are final.
func (rep *replica) backward(root *ag.Value, last bool, params []*ag.Value) {
	if rep == nil || rep.ov == nil || !last {
		root.BackwardRelease()
		return
	}
	rep.ov.begin(params)
	root.BackwardReleaseHook(rep.ov.ready)
}

// shard is the loader's share of each epoch.
func (rep *replica) shard() data.Shard {
	if rep == nil {
		return data.Shard{}
	}
	return data.Shard{Rank: rep.comm.Rank(), Count: rep.comm.Size()}
}

// start runs before the first batch: it checks that a checkpoint taken
// mid-epoch is resumed by as many replicas as wrote it, and gives every
// replica rank 0's weights and buffers (the same already when they were
// built with the same seed, or loaded from the same checkpoint; this makes
// sure).
func (rep *replica) start(r *run) error {
	if rep == nil {
		return nil
	}
	if c := r.cfg.Resume; c != nil && c.Batch > 0 {
		saved := 1
		if v, ok := c.Meta[MetaWorldSize]; ok {
			saved, _ = strconv.Atoi(v)
		}
		if saved != rep.comm.Size() {
			return fmt.Errorf("train.Fit: the checkpoint was taken at batch %d of epoch %d by %d replicas; resume it with %d, or from a checkpoint at the end of an epoch",
				c.Batch, c.Epoch+1, saved, saved)
		}
	}
	if rep.comm.Rank() != 0 {
		// Rank 0's share of the epoch so far came with its checkpoint;
		// the others' is lost, and not counted twice.
		secs := r.ck.Partial.Seconds
		r.ck.Partial = PartialEpoch{Seconds: secs}
	}
	if c := r.cfg.Resume; c != nil && (c.Meta[MetaSyncBatchNorm] == "1") != rep.syncBN {
		was := map[bool]string{true: "with", false: "without"}
		fmt.Fprintf(r.cfg.Warn, "warning: the checkpoint was trained %s synchronised batch norm; this run continues %s it\n",
			was[!rep.syncBN], was[rep.syncBN])
	}
	if rep.syncBN {
		nn.Walk(r.model, func(_ string, m any) bool {
			if l, ok := m.(*nn.BatchNormModule); ok && l.Sync == nil {
				l.Sync = rep.sumStats
				rep.syncedBNs = append(rep.syncedBNs, l)
			}
			return true
		})
	}
	var state []*tensor.Tensor
	for _, e := range nn.NamedState(r.model) {
		state = append(state, e.Tensor)
	}
	return rep.broadcast(state)
}

// sumStats is a synchronised batch norm's sum over the replicas: in the
// overlap's queue when there is one, so that it takes its turn after the
// gradient buckets already sent.
func (rep *replica) sumStats(buf []float64) error {
	if rep.ov != nil {
		return rep.ov.sum64(buf)
	}
	return rep.comm.AllReduce64(buf, dist.Sum)
}

// endEpoch runs after an epoch's last update, before validation: the
// epoch's training figures become those of all replicas' samples, and
// every replica takes rank 0's buffers (batch-norm running statistics,
// which each replica gathered from its own batches), so that validation,
// early stopping and the checkpoint agree on every replica.
func (rep *replica) endEpoch(m *Meter, model nn.Module) error {
	if rep == nil {
		return nil
	}
	sums := []float64{float64(m.samples), m.lossSum, float64(m.correct), float64(m.topK)}
	if err := rep.comm.AllReduce64(sums, dist.Sum); err != nil {
		return fmt.Errorf("train.Fit: the epoch's figures: %w", err)
	}
	m.samples, m.lossSum, m.correct, m.topK = int(sums[0]), sums[1], int(sums[2]), int(sums[3])
	var bufs []*tensor.Tensor
	for _, b := range nn.NamedBuffers(model) {
		bufs = append(bufs, b.Tensor)
	}
	return rep.broadcast(bufs)
}

// broadcast gives every replica rank 0's values of the float32 tensors ts
// (the same list, in the same order, on every replica), in one buffer.
func (rep *replica) broadcast(ts []*tensor.Tensor) error {
	n := 0
	for _, t := range ts {
		if t.DType() == tensor.Float32 {
			n += t.Size()
		}
	}
	if n == 0 {
		return nil
	}
	buf := make([]float32, 0, n)
	for _, t := range ts {
		if t.DType() == tensor.Float32 {
			buf = append(buf, t.Data()...)
		}
	}
	if err := rep.comm.Broadcast(buf, 0); err != nil {
		return fmt.Errorf("train.Fit: broadcasting rank 0's weights: %w", err)
	}
	for _, t := range ts {
		if t.DType() == tensor.Float32 {
			buf = buf[copy(t.Data(), buf):]
		}
	}
	return nil
}

// averageGradients is the first AfterBackward hook of a replica: the
// gradients of every trainable parameter, with a flag per parameter saying
// whether it has one and a flag saying whether this replica was
// interrupted, go through one all-reduce (a sum in rank order); each
// gradient becomes the sum over the replicas divided by their number,
// which is the gradient of the mean loss over the global batch, the
// replicas' batches being of equal size.
func (rep *replica) averageGradients(_ context.Context, u UpdateInfo) error {
	if rep.ov != nil && rep.ov.inStep {
		stopped, waited, err := rep.ov.finish(func() bool { return rep.parent.Err() != nil }, rep.comm.Size())
		if w, ok := rep.comm.(waitRecorder); ok {
			w.AddWait(waited)
		}
		if err != nil {
			return fmt.Errorf("averaging the gradients: %w", err)
		}
		if stopped {
			rep.cancel()
		}
		return nil
	}
	t := time.Now()
	n, k := 1, 0
	for _, p := range u.Params {
		if p.RequiresGrad() {
			n, k = n+p.Data.Size()+1, k+1
		}
	}
	if cap(rep.flat) < n {
		rep.flat = make([]float32, n)
	}
	flat := rep.flat[:n]
	grads, flags := flat[:n-1-k], flat[n-1-k:n-1]
	off, j := 0, 0
	for _, p := range u.Params {
		if !p.RequiresGrad() {
			continue
		}
		g := grads[off : off+p.Data.Size()]
		flags[j] = 0
		if p.Grad == nil {
			clear(g)
		} else {
			copy(g, p.Grad.Data())
			flags[j] = 1
		}
		off, j = off+len(g), j+1
	}
	flat[n-1] = 0
	if rep.parent.Err() != nil {
		flat[n-1] = 1
	}
	err := rep.comm.AllReduce(flat, dist.Sum)
	if w, ok := rep.comm.(waitRecorder); ok {
		w.AddWait(time.Since(t))
	}
	if err != nil {
		return fmt.Errorf("averaging the gradients: %w", err)
	}
	if flat[n-1] > 0 {
		rep.cancel()
	}
	size := float32(rep.comm.Size())
	off, j = 0, 0
	for _, p := range u.Params {
		if !p.RequiresGrad() {
			continue
		}
		g := grads[off : off+p.Data.Size()]
		off, j = off+len(g), j+1
		if flags[j-1] == 0 {
			continue // no replica has a gradient for it: it stays without
		}
		setMeanGrad(p, g, size)
	}
	return nil
}

// setMeanGrad makes p's gradient the replicas' sum g divided by their
// number n.
func setMeanGrad(p *ag.Value, g []float32, n float32) {
	if p.Grad == nil {
		p.Grad = tensor.Zeros(p.Data.Shape()...)
	}
	dst := p.Grad.Data()
	for i, v := range g {
		dst[i] = v / n
	}
}
