package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/dist"
)

// job is this process's place in a data-parallel run: `mpirun -np N
// backprop train ...` with a binary built with -tags mpi starts N
// replicas, each training on its shard of every epoch (train.Config's
// Distributed). Rank 0 prints the progress and writes the run directory;
// the other ranks keep quiet unless they fail. A plain run is rank 0 of 1.
type job struct {
	comm  dist.Comm
	timer *reduceTimer
	// quiet holds the messages of a rank other than 0, shown only if it
	// fails: N copies of every line would drown rank 0's.
	quiet    *tailBuffer
	stderr   io.Writer // the real one
	progress io.Writer // rank 0's progress, for the closing line
	started  time.Time
	// The distributed flags of backprop train (flags).
	overlap bool
	bucket  bucketFlag
	syncBN  bool
}

// flags adds backprop train's flags for a distributed run to fs. They
// change nothing in a run of one process, and are not saved with the run:
// give them again with --resume. --batch-size stays the batch of one
// replica (the global batch is --batch-size × N, as the "Distributed:"
// line says), as with PyTorch's DistributedDataParallel: to keep a global
// batch B on N replicas, give --batch-size B/N.
func (j *job) flags(fs *flag.FlagSet) {
	j.bucket = bucketFlag(256 << 10)
	fs.BoolVar(&j.overlap, "overlap-allreduce", false, "under mpirun: average the gradients in buckets during the backward pass, not after it (the same weights, bit for bit)")
	fs.Var(&j.bucket, "bucket-mb", "with --overlap-allreduce: `MB` of gradients per all-reduce bucket, above 0 (default 0.25)")
	fs.BoolVar(&j.syncBN, "sync-batchnorm", false, "under mpirun: batch norm normalises with the statistics of the global batch, not each replica's (PyTorch's SyncBatchNorm)")
}

// bucketFlag is --bucket-mb, held in bytes.
type bucketFlag int

func (b *bucketFlag) String() string { return strconv.FormatFloat(float64(*b)/(1<<20), 'g', -1, 64) }

func (b *bucketFlag) Set(s string) error {
	mb, err := strconv.ParseFloat(s, 64)
	if err != nil || !(mb > 0) || mb > 1<<10 || mb*(1<<20) < 4 {
		return fmt.Errorf("want a size in MB above 0 and at most 1024, such as 0.25")
	}
	*b = bucketFlag(mb * (1 << 20))
	return nil
}

// resumeCommand is the command that resumes the run in dir: under mpirun
// with as many replicas, which a checkpoint taken mid-epoch needs.
func (j *job) resumeCommand(dir string) string {
	if n := j.comm.Size(); n > 1 {
		return fmt.Sprintf("mpirun -np %d backprop train --resume %s", n, dir)
	}
	return "backprop train --resume " + dir
}

// joinJob joins the MPI job that started this process, if any, and
// returns the writers this rank's output goes to.
func joinJob(stdout, stderr io.Writer) (*job, io.Writer, io.Writer, error) {
	comm, err := dist.Init()
	if err != nil {
		return &job{comm: dist.Local()}, stdout, stderr, err
	}
	j := &job{comm: comm, stderr: stderr, progress: io.Discard, started: time.Now()}
	if comm.Size() == 1 {
		return j, stdout, stderr, nil
	}
	j.timer = &reduceTimer{Comm: comm}
	j.comm = j.timer
	if os.Getenv("GOMAXPROCS") == "" {
		// The replicas on one machine share its cores (--threads still
		// decides when given).
		runtime.GOMAXPROCS(max(1, runtime.NumCPU()/localRanks()))
	}
	if comm.Rank() != 0 {
		j.quiet = &tailBuffer{max: 16 << 10}
		return j, io.Discard, j.quiet, nil
	}
	return j, stdout, stderr, nil
}

// localRanks is the number of this job's ranks on this machine.
func localRanks() int {
	for _, k := range []string{"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"} {
		if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

// leader reports whether this rank prints and writes files: rank 0.
func (j *job) leader() bool { return j.comm.Rank() == 0 }

// name is "rank K of N", as messages say it.
func (j *job) name() string { return fmt.Sprintf("rank %d of %d", j.comm.Rank(), j.comm.Size()) }

// stepsPerEpoch is the number of updates in an epoch of n samples: each
// replica takes batchSize samples of its shard per update.
func (j *job) stepsPerEpoch(n, batchSize int) int {
	m := data.Shard{Rank: j.comm.Rank(), Count: j.comm.Size()}.ShardLen(n)
	return (m + batchSize - 1) / batchSize
}

// announce prints, for a distributed run, how the work is shared.
func (j *job) announce(progress io.Writer, batchSize int) {
	j.progress = progress
	if n := j.comm.Size(); n > 1 {
		fmt.Fprintf(progress, "Distributed: %d replicas (this is %s), %d samples per replica and step, a global batch of %d, %d threads each\n",
			n, j.name(), batchSize, batchSize*n, runtime.GOMAXPROCS(0))
	}
}

// end, deferred by runTrain, closes this rank's part in the job and sets
// its exit status. A rank that failed ends the whole job (MPI_Abort),
// naming itself, so that the others do not wait for it in a collective;
// a panic is reported here as runMain would, since MPI_Finalize would wait
// for the other ranks forever. An interrupted run (status 130) stopped at
// the same update on every rank and ends normally.
func (j *job) end(code *int) {
	if j.comm.Size() == 1 {
		return
	}
	if r := recover(); r != nil {
		*code = internalError(j.stderr, "train", r, debug.Stack())
	}
	if *code != 0 && *code != 130 {
		if j.quiet != nil {
			j.quiet.writeTo(j.stderr, j.name()+": ")
		}
		fmt.Fprintf(j.stderr, "backprop train: %s failed (exit status %d): ending the job\n", j.name(), *code)
		j.comm.Abort(*code)
	}
	if *code == 0 && j.timer != nil {
		total := time.Since(j.started).Seconds()
		fmt.Fprintf(j.progress, "%s: %.1f s of %.1f s waiting for the gradients' all-reduce (%.1f%%, the other replicas included); %.1f s in all-reduce calls, %d of %.2f MB%s\n",
			j.name(), j.timer.waited.Seconds(), total, 100*j.timer.waited.Seconds()/max(total, 1e-9), j.timer.elapsed.Seconds(), j.timer.calls,
			float64(j.timer.bytes)/float64(max(j.timer.calls, 1))/1e6, map[bool]string{true: ", overlapped with the backward pass"}[j.overlap])
	}
	if err := j.comm.Close(); err != nil {
		fmt.Fprintf(j.stderr, "backprop train: %s: %v\n", j.name(), err)
		*code = max(*code, 1)
	}
}

// reduceTimer counts the time and bytes of a Comm's AllReduce calls, and
// the time train.Fit waited for the gradients' (AddWait): with
// --overlap-allreduce the calls run while the backward pass goes on, and
// only the wait costs.
type reduceTimer struct {
	dist.Comm
	mu      sync.Mutex // the calls come from Fit's communication goroutine
	elapsed time.Duration
	waited  time.Duration
	calls   int
	bytes   int64
}

// AddWait is train.Fit's report of a wait for the gradients.
func (r *reduceTimer) AddWait(d time.Duration) {
	r.mu.Lock()
	r.waited += d
	r.mu.Unlock()
}

func (r *reduceTimer) AllReduce(buf []float32, op dist.Op) error {
	t := time.Now()
	err := r.Comm.AllReduce(buf, op)
	r.mu.Lock()
	r.elapsed += time.Since(t)
	r.calls++
	r.bytes += int64(4 * len(buf))
	r.mu.Unlock()
	return err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

// writeTo writes the kept lines to w, each with prefix.
func (t *tailBuffer) writeTo(w io.Writer, prefix string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, line := range bytes.SplitAfter(t.buf, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			fmt.Fprintf(w, "%s%s", prefix, bytes.TrimRight(line, "\n"))
			fmt.Fprintln(w)
		}
	}
}
