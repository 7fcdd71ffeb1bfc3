package data

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/backprop-go/backprop/tensor"
)

// LoaderConfig configures a Loader. The zero value of each field picks the
// default noted beside it.
type LoaderConfig struct {
	BatchSize int    // samples per batch; default 32
	Shuffle   bool   // a new seeded order each epoch; otherwise index order
	Seed      uint64 // seeds the shuffle and the augmentation
	DropLast  bool   // drop the last batch when it is partial
	Workers   int    // goroutines decoding samples; default GOMAXPROCS
	Prefetch  int    // batches prepared ahead of the one in use; default 2
	Shard     Shard  // data-parallel training: this replica's share of each epoch; zero: all of it
}

// Batch is a mini-batch of samples.
//
// A Batch yielded by a Loader, and its tensors and slices, are reused by
// the Loader: they are valid only until the loop body that received it
// returns. Use Clone to keep one longer.
//
// X, Labels and Targets are the fields every Dataset gives; LabelTensor
// is Labels as an Int64 tensor, for the losses that take one. A
// [FieldDataset] adds named fields: float32 tensors in Floats (a second
// input, an attention mask, per-token weights) and Int64 tensors in Ints
// (token ids, sequence targets, lengths), each with the batch dimension
// first, so that indices never travel as floats.
type Batch struct {
	X       *tensor.Tensor // features, [B, shape...]
	Labels  []int          // class index per sample; nil for regression
	Targets *tensor.Tensor // regression targets, [B, TargetSize]; nil for classification
	Indices []int          // the data-set index of each sample
	Epoch   int            // the epoch this batch belongs to
	Number  int            // the batch's position in its epoch, from 0

	// Floats and Ints hold a FieldDataset's named fields, [B, shape...]
	// each; nil for a plain Dataset. Floats are float32 tensors, Ints
	// Int64 ones (tensor.Int64; read them with Int64s).
	Floats map[string]*tensor.Tensor
	Ints   map[string]*tensor.Tensor

	// labels is Labels as an Int64 tensor over the Loader's buffer, filled
	// with Labels; nil for a Batch made by hand (LabelTensor builds one).
	labels *tensor.Tensor
}

// Len returns the number of samples in the batch.
func (b *Batch) Len() int { return len(b.Indices) }

// Float returns the named float field: "x" is X, "targets" is Targets, any
// other name is looked up in Floats. It returns nil when there is none.
func (b *Batch) Float(name string) *tensor.Tensor {
	switch name {
	case "x":
		return b.X
	case "targets":
		return b.Targets
	}
	return b.Floats[name]
}

// Int returns the named Int64 field: "labels" is LabelTensor (shape [B]),
// any other name is looked up in Ints. It returns nil when there is none.
func (b *Batch) Int(name string) *tensor.Tensor {
	if name == "labels" {
		return b.LabelTensor()
	}
	return b.Ints[name]
}

// LabelTensor returns Labels as an Int64 tensor of shape [B], as
// ag.CrossEntropyT and ag.NLLLossT take them, or nil when there are no
// labels (regression). For a Loader's batch it is the Loader's own reused
// buffer, filled alongside Labels (no allocation; valid as long as the
// batch, and it does not follow later changes to Labels); for a Batch made
// by hand it is a new tensor built from Labels.
func (b *Batch) LabelTensor() *tensor.Tensor {
	if b.Labels == nil {
		return nil
	}
	if b.labels != nil && b.labels.Size() == len(b.Labels) {
		return b.labels
	}
	return tensor.FromInts(b.Labels, len(b.Labels))
}

// Clone returns a deep copy of b that the Loader will not overwrite.
func (b *Batch) Clone() *Batch {
	c := &Batch{
		X:       tensor.New(append([]float32(nil), b.X.Data()...), b.X.Shape()...),
		Indices: append([]int(nil), b.Indices...),
		Epoch:   b.Epoch,
		Number:  b.Number,
	}
	if b.Labels != nil {
		c.Labels = append([]int(nil), b.Labels...)
		c.labels = tensor.FromInts(c.Labels, len(c.Labels))
	}
	if b.Targets != nil {
		c.Targets = tensor.New(append([]float32(nil), b.Targets.Data()...), b.Targets.Shape()...)
	}
	if b.Floats != nil {
		c.Floats = make(map[string]*tensor.Tensor, len(b.Floats))
		for k, v := range b.Floats {
			c.Floats[k] = tensor.New(append([]float32(nil), v.Data()...), v.Shape()...)
		}
	}
	if b.Ints != nil {
		c.Ints = make(map[string]*tensor.Tensor, len(b.Ints))
		for k, v := range b.Ints {
			c.Ints[k] = v.Clone()
		}
	}
	return c
}

// Loader cuts a Dataset into batches, epoch after epoch.
//
// Samples are decoded (and augmented) by Workers goroutines, Prefetch
// batches ahead of the consumer, into buffers allocated once when the
// Loader is made: memory stays flat over epochs. Iterate an epoch with
// range:
//
//	for b, err := range loader.Epoch(e) {
//		if err != nil { ... } // the epoch stops after an error
//		... b.X, b.Labels ...
//	}
//
// The order of epoch e depends only on Seed and e; the random generator
// given to Dataset.Sample for sample i depends only on Seed, e and i. So the
// batches are the same bit for bit whatever the number of workers and the
// scheduling, and a run resumed at epoch e (or, with EpochFrom, at a batch
// within it) sees what the first run saw.
//
// A Loader runs one epoch at a time: iterating a second epoch while one is
// in progress yields an error.
type Loader struct {
	ds    Dataset
	cfg   LoaderConfig
	shape []int
	size  int // features per sample
	tsize int // targets per sample
	// fields are a FieldDataset's named fields (nil otherwise), with the
	// number of values per sample of each.
	fields []Field
	fsize  []int
	slots  []*slot
	order  []int
	busy   atomic.Bool
}

// slot holds the buffers of one batch in flight.
type slot struct {
	x, t     []float32
	floats   [][]float32 // per field (float fields only)
	ints     [][]int64   // per field (integer fields only)
	labels   []int
	labels64 []int64 // labels again, under Batch.LabelTensor
	idx      []int
	full     Batch // tensors over the whole buffers
	part     Batch // tensors for the last, partial batch
	pending  sync.WaitGroup
	mu       sync.Mutex
	err      error
	errAt    int
	epoch, n int
}

// NewLoader returns a Loader over ds.
func NewLoader(ds Dataset, cfg LoaderConfig) (*Loader, error) {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 32
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = 2
	}
	if cfg.BatchSize < 0 || cfg.Workers < 0 || cfg.Prefetch < 0 {
		return nil, fmt.Errorf("data: NewLoader: negative setting in %+v", cfg)
	}
	if ds.Len() == 0 {
		return nil, errors.New("data: NewLoader: the data set is empty")
	}
	if err := cfg.Shard.check(); err != nil {
		return nil, err
	}
	l := &Loader{ds: ds, cfg: cfg, shape: append([]int(nil), ds.Shape()...), tsize: ds.TargetSize()}
	l.size = Numel(l.shape)
	if fd, ok := ds.(FieldDataset); ok {
		if err := l.setFields(fd.Fields()); err != nil {
			return nil, err
		}
	}
	l.order = make([]int, l.EpochLen())
	bs := min(cfg.BatchSize, len(l.order))
	partial := len(l.order) % bs
	for range cfg.Prefetch + 1 {
		s := &slot{
			x:        make([]float32, bs*l.size),
			t:        make([]float32, bs*l.tsize),
			labels:   make([]int, bs),
			labels64: make([]int64, bs),
			idx:      make([]int, bs),
		}
		if l.fields != nil {
			s.floats, s.ints = make([][]float32, len(l.fields)), make([][]int64, len(l.fields))
			for j, f := range l.fields {
				if f.Int {
					s.ints[j] = make([]int64, bs*l.fsize[j])
				} else {
					s.floats[j] = make([]float32, bs*l.fsize[j])
				}
			}
		}
		s.full = l.header(s, bs)
		if partial > 0 && !cfg.DropLast {
			s.part = l.header(s, partial)
		}
		l.slots = append(l.slots, s)
	}
	return l, nil
}

func (l *Loader) header(s *slot, n int) Batch {
	b := Batch{
		X:       tensor.New(s.x[:n*l.size], append([]int{n}, l.shape...)...),
		Indices: s.idx[:n],
	}
	if l.tsize > 0 {
		b.Targets = tensor.New(s.t[:n*l.tsize], n, l.tsize)
	} else {
		b.Labels = s.labels[:n]
		b.labels = tensor.NewInt64(s.labels64[:n], n)
	}
	if l.fields != nil {
		b.Floats, b.Ints = map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
		for j, f := range l.fields {
			shape := append([]int{n}, f.Shape...)
			if f.Int {
				b.Ints[f.Name] = tensor.NewInt64(s.ints[j][:n*l.fsize[j]], shape...)
			} else {
				b.Floats[f.Name] = tensor.New(s.floats[j][:n*l.fsize[j]], shape...)
			}
		}
	}
	return b
}

// setFields checks a FieldDataset's fields and records their sizes.
func (l *Loader) setFields(fields []Field) error {
	seen := map[string]bool{"x": true, "targets": true, "labels": true}
	for _, f := range fields {
		if f.Name == "" || seen[f.Name] {
			return fmt.Errorf("data: NewLoader: field name %q is empty, reserved or repeated", f.Name)
		}
		seen[f.Name] = true
		for _, d := range f.Shape {
			if d <= 0 {
				return fmt.Errorf("data: NewLoader: field %q has shape %v; dimensions must be positive", f.Name, f.Shape)
			}
		}
		l.fields = append(l.fields, Field{Name: f.Name, Int: f.Int, Shape: append([]int(nil), f.Shape...)})
		l.fsize = append(l.fsize, Numel(f.Shape))
	}
	if l.fields == nil {
		l.fields = []Field{} // a FieldDataset with no fields still gets its SampleFields called
	}
	return nil
}

// Dataset returns the data set the Loader reads.
func (l *Loader) Dataset() Dataset { return l.ds }

// Config returns the Loader's configuration, defaults filled in.
func (l *Loader) Config() LoaderConfig { return l.cfg }

// NumBatches returns the number of batches in an epoch.
func (l *Loader) NumBatches() int {
	n, bs := l.EpochLen(), l.cfg.BatchSize
	if l.cfg.DropLast {
		return n / bs
	}
	return (n + bs - 1) / bs
}

// Order returns the order in which epoch's samples are visited (a new
// slice).
func (l *Loader) Order(epoch int) []int {
	o := make([]int, l.EpochLen())
	l.fillEpoch(o, epoch)
	return o
}

func fillOrder(o []int, shuffle bool, seed uint64, epoch int) {
	for i := range o {
		o[i] = i
	}
	if shuffle {
		rng := rand.New(rand.NewPCG(mix(seed^0x53485546464c45), mix(uint64(epoch))))
		shuffleInts(rng, o)
	}
}

// shuffleInts is a Fisher-Yates shuffle written with intn so that the order
// for a seed does not change with the Go version.
func shuffleInts(rng *rand.Rand, o []int) {
	for i := len(o) - 1; i > 0; i-- {
		j := intn(rng, i+1)
		o[i], o[j] = o[j], o[i]
	}
}

// mix is the splitmix64 finaliser: it spreads nearby integers (seeds,
// epochs, indices) over unrelated 64-bit values.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// SampleRNG returns the generator that a Loader with the given seed hands
// to Dataset.Sample for sample index in epoch: to reproduce one sample's
// augmentation outside a Loader.
func SampleRNG(seed uint64, epoch, index int) *rand.Rand {
	pcg := rand.NewPCG(0, 0)
	seedSample(pcg, seed, epoch, index)
	return rand.New(pcg)
}

func seedSample(pcg *rand.PCG, seed uint64, epoch, index int) {
	pcg.Seed(mix(seed^mix(uint64(epoch)^0x45504f4348)), mix(uint64(index)))
}

// Epoch returns an iterator over the batches of epoch e (see Loader).
func (l *Loader) Epoch(e int) iter.Seq2[*Batch, error] { return l.EpochFrom(e, 0) }

// EpochFrom is Epoch starting at batch number first, to resume a run in the
// middle of an epoch: the batches are those Epoch(e) yields from there.
func (l *Loader) EpochFrom(e, first int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		if !l.busy.CompareAndSwap(false, true) {
			yield(nil, errors.New("data: Loader: an epoch is already being iterated; a Loader runs one at a time"))
			return
		}
		defer l.busy.Store(false)
		nb := l.NumBatches()
		if first < 0 || first > nb {
			yield(nil, fmt.Errorf("data: Loader.EpochFrom: batch %d out of range [0, %d]", first, nb))
			return
		}
		l.fillEpoch(l.order, e)

		bs := l.cfg.BatchSize
		workers := l.cfg.Workers
		chunk := max(1, bs/(2*workers))
		jobs := make(chan job, len(l.slots)*((bs+chunk-1)/chunk))
		var cancel atomic.Bool
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.work(jobs, &cancel)
			}()
		}
		defer func() {
			cancel.Store(true)
			close(jobs)
			wg.Wait()
		}()

		dispatch := func(b int) {
			s := l.slots[b%len(l.slots)]
			lo := b * bs
			n := min(bs, len(l.order)-lo)
			copy(s.idx, l.order[lo:lo+n])
			s.err, s.errAt, s.epoch, s.n = nil, n, e, n
			for k := 0; k < n; k += chunk {
				s.pending.Add(1)
				jobs <- job{s: s, lo: k, hi: min(k+chunk, n)}
			}
		}
		for b := first; b < min(first+len(l.slots), nb); b++ {
			dispatch(b)
		}
		for b := first; b < nb; b++ {
			s := l.slots[b%len(l.slots)]
			s.pending.Wait()
			if s.err != nil {
				yield(nil, fmt.Errorf("data: epoch %d, batch %d: %w", e, b, s.err))
				return
			}
			batch := &s.full
			if s.n < len(s.idx) {
				batch = &s.part
			}
			batch.Epoch, batch.Number = e, b
			if !yield(batch, nil) {
				return
			}
			if b+len(l.slots) < nb {
				dispatch(b + len(l.slots))
			}
		}
	}
}

// job asks a worker for samples [lo, hi) of a slot's batch.
type job struct {
	s      *slot
	lo, hi int
}

func (l *Loader) work(jobs <-chan job, cancel *atomic.Bool) {
	pcg := rand.NewPCG(0, 0)
	rng := rand.New(pcg)
	var fd FieldDataset
	var fv FieldValues
	if l.fields != nil {
		fd = l.ds.(FieldDataset)
		fv = FieldValues{Floats: map[string][]float32{}, Ints: map[string][]int64{}}
	}
	for j := range jobs {
		s := j.s
		for k := j.lo; k < j.hi && !cancel.Load(); k++ {
			i := s.idx[k]
			seedSample(pcg, l.cfg.Seed, s.epoch, i)
			var t []float32
			if l.tsize > 0 {
				t = s.t[k*l.tsize : (k+1)*l.tsize]
			}
			var label int
			var err error
			if fd != nil {
				for j, f := range l.fields {
					lo, hi := k*l.fsize[j], (k+1)*l.fsize[j]
					if f.Int {
						fv.Ints[f.Name] = s.ints[j][lo:hi]
					} else {
						fv.Floats[f.Name] = s.floats[j][lo:hi]
					}
				}
				label, err = fd.SampleFields(i, rng, s.x[k*l.size:(k+1)*l.size], t, fv)
			} else {
				label, err = l.ds.Sample(i, rng, s.x[k*l.size:(k+1)*l.size], t)
			}
			if err != nil {
				s.mu.Lock()
				if k < s.errAt {
					s.err, s.errAt = fmt.Errorf("sample %d: %w", i, err), k
				}
				s.mu.Unlock()
				break
			}
			s.labels[k], s.labels64[k] = label, int64(label)
		}
		s.pending.Done()
	}
}
