package dashboard

import (
	"math"
	"path/filepath"
	"sync"
	"time"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/train"
)

// FileName is the file a Recorder writes in the run's output directory
// after each epoch, and that [Load] reads to reopen the dashboard.
const FileName = "dashboard.json"

// Options tunes what a Recorder samples and how often. Zero values pick
// the defaults.
type Options struct {
	// NormsPerEpoch is how many times per epoch the per-layer gradient
	// and weight norms are measured (default 100; every step when an
	// epoch is shorter).
	NormsPerEpoch int
	// HistogramsPerEpoch is how many times per epoch the histograms are
	// recomputed (default 4, and always at the last step of an epoch).
	HistogramsPerEpoch int
	// HistogramBins is the number of bins per histogram (default 30).
	HistogramBins int
	// EvalSamples caps the evaluation samples that the confusion matrix
	// and the image grid are computed on after each epoch (default 1000,
	// evenly spaced over the data set): a full pass over a large test set
	// would cost more than the dashboard's budget of a few per cent.
	EvalSamples int
	// GridImages is the number of tiles in the image grid (default 32).
	GridImages int
	// PointsPerStride is how many step points are recorded before the
	// stride between them doubles (default 1000), which bounds a long
	// run's series at a few thousand points.
	PointsPerStride int
	// Budget is the largest fraction of the training time that the norms
	// and histograms may take (default 0.01). Walking every parameter
	// costs about as much as a small layer's backward pass, so on a small
	// model measuring at every scheduled step would cost several per cent;
	// a measurement that would exceed the budget is skipped, and the
	// next scheduled one tried. The last step of an epoch is always
	// measured.
	Budget float64
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.NormsPerEpoch, 100)
	def(&o.HistogramsPerEpoch, 4)
	def(&o.HistogramBins, 30)
	def(&o.EvalSamples, 1000)
	def(&o.GridImages, 32)
	def(&o.PointsPerStride, 1000)
	if o.Budget <= 0 {
		o.Budget = 0.01
	}
	return o
}

// Recorder is the [train.Callback] that collects what the dashboard shows.
// Its methods run in the training goroutine; the server reads its figures
// through [Recorder.Since], under the same mutex, so a slow browser never
// holds training up: the training side only appends to slices.
type Recorder struct {
	model   nn.Module
	classes []string // every class name, also beyond MaxClassNames
	eval    data.Dataset
	outDir  string
	opts    Options
	groups  []paramGroup
	pngs    map[int]string // image grid tiles by sample index

	// Step accumulation between recorded points (training goroutine only).
	stride                 int
	sinceStride            int
	accLoss, accAcc, accSP float64
	accN                   int
	began                  time.Time     // first step
	spent                  time.Duration // in norms and histograms
	evalN                  int           // evaluation samples for the next epoch

	// dashboard.json is written by a goroutine of its own, so that the
	// training goroutine only copies the snapshot.
	toSave    chan Snapshot // holds at most the latest unsaved snapshot
	saverDone chan struct{}

	mu      sync.Mutex
	snap    Snapshot      // whole history
	version int           // starts at 1, so that the zero Cursor is behind it
	heavy   int           // version of histograms, confusion, images
	changed chan struct{} // closed and replaced at each change
}

// NewRecorder returns a Recorder for a run of model on samples of the
// given shape. eval, when not nil, supplies the samples of the confusion
// matrix and the image grid; outDir, when not empty, receives
// dashboard.json after each epoch.
func NewRecorder(model nn.Module, arch string, shape []int, classes []string, eval data.Dataset, outDir string, opts Options) *Recorder {
	r := &Recorder{model: model, classes: classes, eval: eval, outDir: outDir, opts: opts.withDefaults(), stride: 1, version: 1, changed: make(chan struct{}), pngs: map[int]string{}}
	r.groups = groupParameters(model)
	info := describe(model, arch, shape, classes)
	for _, g := range r.groups {
		info.Groups = append(info.Groups, g.name)
	}
	_, info.LanguageModel = eval.(*data.Text)
	r.snap = Snapshot{Run: &info, Epochs: []train.EpochStats{}, Steps: []StepPoint{}, Norms: []NormPoint{}, Alerts: []Alert{}}
	if eval == nil {
		r.snap.EvalNote = "no validation or test data: no confusion matrix or image grid"
	} else if _, text := eval.(*data.Text); text {
		r.snap.EvalNote = "language model: no confusion matrix or image grid; the loss is in nats per token (perplexity is its exponential)"
	} else if classes == nil {
		r.snap.EvalNote = "regression: no confusion matrix or image grid"
	}
	return r
}

// OnStep implements [train.Callback]. It records the step's loss,
// accuracy, learning rate and throughput, and now and then the layers'
// norms and histograms, while the gradients are still in place.
func (r *Recorder) OnStep(s train.StepInfo) {
	r.accLoss += float64(s.Loss)
	r.accAcc += s.BatchAccuracy
	r.accSP = s.SamplesPerSecond
	r.accN++
	r.sinceStride++
	last := s.Batch == s.Batches
	var point *StepPoint
	if s.Step%r.stride == 0 || last {
		p := StepPoint{Step: s.Step, Epoch: s.Epoch, Loss: Num(r.accLoss / float64(r.accN)), LR: Num(s.LR), SamplesPerSecond: Num(r.accSP)}
		if !math.IsNaN(r.accAcc) {
			a := Num(r.accAcc / float64(r.accN))
			p.Accuracy = &a
		}
		point = &p
		r.accLoss, r.accAcc, r.accN = 0, 0, 0
	}
	now := time.Now()
	if r.began.IsZero() {
		r.began = now
	}
	affordable := last || float64(r.spent) <= r.opts.Budget*float64(now.Sub(r.began))
	var norms *NormPoint
	var alerts []Alert
	if affordable && (s.Step%max(s.Batches/r.opts.NormsPerEpoch, 1) == 0 || last) {
		n := measureNorms(r.groups, s.Step)
		norms = &n
		alerts = flag(r.groups, n, s.LR)
	}
	var hists []Histogram
	if affordable && (s.Batch%max(s.Batches/r.opts.HistogramsPerEpoch, 1) == 0 || last) {
		hists = histograms(r.groups, s.Step, r.opts.HistogramBins)
	}
	if norms != nil || hists != nil {
		r.spent += time.Since(now)
	}
	if point == nil && norms == nil && hists == nil {
		return
	}
	r.mu.Lock()
	if point != nil {
		r.snap.Steps = append(r.snap.Steps, *point)
		if r.sinceStride >= r.opts.PointsPerStride*r.stride {
			r.stride, r.sinceStride = r.stride*2, 0
		}
	}
	if norms != nil {
		r.snap.Norms = append(r.snap.Norms, *norms)
		r.snap.Alerts = alerts
	}
	if hists != nil {
		r.snap.Histograms = hists
		r.heavy = r.version + 1
	}
	r.bumpLocked()
	r.mu.Unlock()
}

// OnEpoch implements [train.Callback]. It records the epoch's figures,
// evaluates the model on the evaluation subset for the confusion matrix
// and the image grid, and saves dashboard.json.
func (r *Recorder) OnEpoch(e train.EpochStats) {
	for _, f := range []*float64{&e.TrainLoss, &e.TrainAccuracy, &e.ValLoss, &e.ValAccuracy, &e.LR, &e.SamplesPerSecond} {
		if math.IsNaN(*f) || math.IsInf(*f, 0) {
			*f = 0 // JSON has no NaN; metrics.jsonl keeps the truth
		}
	}
	var res evalResult
	haveEval := r.eval != nil && r.classes != nil
	if haveEval {
		if r.evalN == 0 {
			r.evalN = r.opts.EvalSamples
		}
		start := time.Now()
		res = evaluate(r.model, r.eval, r.evalN, r.opts.GridImages, r.pngs)
		// Size the next epoch's subset to the budget, by this epoch's
		// cost per sample, but never below 200 samples (20 per class of
		// ten): a matrix over fewer says little.
		if perSample := float64(time.Since(start)) / float64(r.evalN); perSample > 0 && e.Seconds > 0 {
			afford := int(r.opts.Budget * e.Seconds * float64(time.Second) / perSample)
			r.evalN = min(max(afford, 200), r.opts.EvalSamples)
		}
	}
	r.mu.Lock()
	r.snap.Epochs = append(r.snap.Epochs, e)
	if haveEval {
		cf := res.confusion
		r.snap.Confusion, r.snap.ConfusionClasses, r.snap.ConfusionOther, r.snap.Confused = cf.matrix, cf.classes, cf.other, cf.pairs
		r.snap.Images, r.snap.EvalNote = res.images, res.note
		r.snap.ClassNames = r.namesInUse(res)
		r.heavy = r.version + 1
	}
	r.bumpLocked()
	r.mu.Unlock()
	r.saveLater()
}

// namesInUse returns, when the run has more classes than RunInfo lists,
// the names of those that res refers to (at most TopClasses +
// 2·MaxConfusedPairs + the grid's tiles); otherwise nil.
func (r *Recorder) namesInUse(res evalResult) map[int]string {
	if len(r.classes) <= MaxClassNames {
		return nil
	}
	names := map[int]string{}
	add := func(c int) {
		if c >= 0 && c < len(r.classes) {
			names[c] = r.classes[c]
		}
	}
	for _, c := range res.confusion.classes {
		add(c)
	}
	for _, p := range res.confusion.pairs {
		add(p.True)
		add(p.Pred)
	}
	for _, im := range res.images {
		add(im.True)
		add(im.Pred)
	}
	return names
}

// Finish marks the run as over, so that the page says so, and saves
// dashboard.json a last time, waiting for the write. Call it once training
// has returned, not while OnEpoch may run.
func (r *Recorder) Finish() error {
	r.mu.Lock()
	r.snap.Done = true
	r.bumpLocked()
	r.mu.Unlock()
	if r.outDir == "" {
		return nil
	}
	if r.toSave != nil {
		close(r.toSave)
		<-r.saverDone
		r.toSave = nil
	}
	s, _ := r.Since(Cursor{})
	return Save(filepath.Join(r.outDir, FileName), s)
}

// saveLater hands a copy of the whole snapshot to the saving goroutine,
// replacing one it has not written yet. Errors are dropped: the run
// matters more than its dashboard, and Finish saves again.
func (r *Recorder) saveLater() {
	if r.outDir == "" {
		return
	}
	if r.toSave == nil {
		r.toSave, r.saverDone = make(chan Snapshot, 1), make(chan struct{})
		go func(in <-chan Snapshot, done chan<- struct{}) {
			defer close(done)
			for s := range in {
				Save(filepath.Join(r.outDir, FileName), s)
			}
		}(r.toSave, r.saverDone)
	}
	s, _ := r.Since(Cursor{})
	select {
	case <-r.toSave: // drop the older one
	default:
	}
	r.toSave <- s
}

// bumpLocked marks a change and wakes the event streams. r.mu is held.
func (r *Recorder) bumpLocked() {
	r.version++
	close(r.changed)
	r.changed = make(chan struct{})
}

// Since returns what was recorded after cursor c (everything for the zero
// Cursor) and the cursor to ask with next time. Series are copied, so the
// result may be used after the lock is released.
func (r *Recorder) Since(c Cursor) (Snapshot, Cursor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sinceLocked(c)
}

func (r *Recorder) sinceLocked(c Cursor) (Snapshot, Cursor) {
	s := &r.snap
	clampCursor := func(v, n int) int { return min(max(v, 0), n) }
	c.Epochs, c.Steps, c.Norms = clampCursor(c.Epochs, len(s.Epochs)), clampCursor(c.Steps, len(s.Steps)), clampCursor(c.Norms, len(s.Norms))
	out := Snapshot{
		From:   c,
		Epochs: append([]train.EpochStats{}, s.Epochs[c.Epochs:]...),
		Steps:  append([]StepPoint{}, s.Steps[c.Steps:]...),
		Norms:  append([]NormPoint{}, s.Norms[c.Norms:]...),
		Alerts: append([]Alert{}, s.Alerts...),
		Done:   s.Done,
	}
	if c.Version == 0 {
		out.Run = s.Run
	}
	if c.Version == 0 || c.Heavy < r.heavy {
		// Histograms, matrix and images are replaced wholesale, never
		// changed in place, so sharing them is safe.
		out.Histograms, out.Confusion, out.Images, out.EvalNote = s.Histograms, s.Confusion, s.Images, s.EvalNote
		out.ConfusionClasses, out.ConfusionOther, out.Confused, out.ClassNames = s.ConfusionClasses, s.ConfusionOther, s.Confused, s.ClassNames
	}
	next := Cursor{Epochs: len(s.Epochs), Steps: len(s.Steps), Norms: len(s.Norms), Heavy: r.heavy, Version: r.version}
	return out, next
}

// Changed returns a channel that is closed at the next change.
func (r *Recorder) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// Version counts the changes so far.
func (r *Recorder) Version() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version
}

// fromSnapshot returns a finished Recorder holding s, for a reopened run.
func fromSnapshot(s Snapshot) *Recorder {
	if s.Run == nil {
		s.Run = &RunInfo{}
	}
	for _, p := range []*[]train.EpochStats{&s.Epochs} {
		if *p == nil {
			*p = []train.EpochStats{}
		}
	}
	if s.Steps == nil {
		s.Steps = []StepPoint{}
	}
	if s.Norms == nil {
		s.Norms = []NormPoint{}
	}
	if s.Alerts == nil {
		s.Alerts = []Alert{}
	}
	s.From, s.Done = Cursor{}, true
	return &Recorder{snap: s, version: 1, heavy: 1, changed: make(chan struct{})}
}
