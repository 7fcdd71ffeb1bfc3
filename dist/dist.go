// Package dist is the communication layer of data-parallel training: N
// copies of one program (replicas, ranks 0 … N−1), started together by a
// launcher such as mpirun, exchange float32 buffers with a few collective
// operations. Package train uses it (train.Config.Distributed) to average
// the gradients of every update across the replicas.
//
// Two implementations stand behind Comm: Local, the single process of an
// ordinary run (Size 1, every operation a no-op), always present; and MPI,
// a small cgo layer over the C API of Open MPI or MPICH, built only with
// the build tag mpi (go build -tags mpi), so that the default build stays
// pure Go. Init chooses: MPI when the process was started by an MPI
// launcher, Local otherwise, and an error when a launcher started a binary
// built without the tag.
//
// Determinism: AllReduce adds the replicas' buffers in rank order 0, 1, …,
// N−1 for every element, whatever MPI's own algorithms would choose (see
// MPIConfig), so that runs with the same N give bit-identical results and
// every rank holds the same sum.
package dist

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Op says how AllReduce combines the replicas' buffers.
type Op int

const (
	// Sum adds the buffers element by element, in rank order.
	Sum Op = iota
	// Mean is Sum divided by the number of replicas.
	Mean
)

// String returns the operation's name.
func (o Op) String() string {
	switch o {
	case Sum:
		return "sum"
	case Mean:
		return "mean"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Comm is a communicator over the replicas of a job. Every replica must
// call the collective operations (AllReduce, AllReduce64, Broadcast,
// Barrier) in the same order with buffers of the same length; a replica
// that does not leaves the others waiting, which is why a failing replica
// calls Abort. A Comm may be used from several goroutines: the MPI
// implementation serialises its calls.
type Comm interface {
	// Rank is this replica's number, 0 … Size−1; rank 0 writes the files.
	Rank() int
	// Size is the number of replicas.
	Size() int
	// AllReduce replaces buf on every replica with the sum (or mean) of
	// all replicas' buf, added in rank order.
	AllReduce(buf []float32, op Op) error
	// AllReduce64 is AllReduce for float64 buffers (counts and sums of
	// metrics, where float32 would round).
	AllReduce64(buf []float64, op Op) error
	// Broadcast replaces buf on every replica with root's buf.
	Broadcast(buf []float32, root int) error
	// Barrier returns when every replica has called it.
	Barrier() error
	// Abort ends every replica of the job with the exit status code; it
	// does not return.
	Abort(code int)
	// Close ends this replica's part in the job (MPI_Finalize) after the
	// last collective operation. Every replica must call it.
	Close() error
}

// Local returns the communicator of a single process: Rank 0, Size 1,
// AllReduce and Broadcast leave the buffers as they are.
func Local() Comm { return local{} }

type local struct{}

func (local) Rank() int                       { return 0 }
func (local) Size() int                       { return 1 }
func (local) AllReduce([]float32, Op) error   { return nil }
func (local) AllReduce64([]float64, Op) error { return nil }
func (local) Broadcast(_ []float32, root int) error {
	if root != 0 {
		return fmt.Errorf("dist: Broadcast from rank %d of a single process", root)
	}
	return nil
}
func (local) Barrier() error { return nil }
func (local) Abort(code int) { os.Exit(code) }
func (local) Close() error   { return nil }

// ErrNoMPI is Init's error when an MPI launcher started a binary built
// without the mpi build tag.
var ErrNoMPI = errors.New("this backprop was built without MPI: build with -tags mpi (go build -tags mpi ./cmd/backprop, with Open MPI's libopenmpi-dev or MPICH installed)")

// Launched reports whether an MPI launcher (mpirun, mpiexec, srun with
// PMI) started this process, and for how many processes, from the
// environment it sets: OMPI_COMM_WORLD_SIZE (Open MPI) or PMI_SIZE (MPICH's
// Hydra, Slurm's PMI). getenv reads the environment (tests pass their
// own); nil means os.Getenv.
func Launched(getenv func(string) string) (size int, ok bool) {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"} {
		if v := getenv(k); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return n, true
			}
		}
	}
	return 0, false
}

// Init returns the communicator of this process: Local when no MPI
// launcher started it (or started it alone), the MPI communicator when
// one did and the binary was built with the mpi tag, and ErrNoMPI when
// the binary was built without it. Call Close on the result when done.
func Init() (Comm, error) { return InitMPI(MPIConfig{}) }

// MPIConfig tunes the MPI communicator; the zero value is the default.
type MPIConfig struct {
	// BucketBytes bounds the bytes of one collective call: AllReduce
	// cuts larger buffers into buckets of at most this size (default
	// 4 MiB), which bounds the scratch memory at twice that.
	BucketBytes int
	// Native uses MPI_Allreduce itself rather than the fixed rank order:
	// faster with many replicas on some networks, but the order of the
	// additions is then MPI's choice, which may vary with the message
	// size, the number of replicas and the library's tuning, so results
	// are reproducible only as far as MPI keeps that choice fixed.
	Native bool
}

// InitMPI is Init with a configuration for the MPI communicator.
func InitMPI(cfg MPIConfig) (Comm, error) {
	n, ok := Launched(nil)
	if !ok || n == 1 {
		return Local(), nil
	}
	if cfg.BucketBytes < 0 {
		return nil, fmt.Errorf("dist: MPIConfig.BucketBytes %d must not be negative", cfg.BucketBytes)
	}
	if cfg.BucketBytes == 0 {
		cfg.BucketBytes = 4 << 20
	}
	return initMPI(cfg)
}

// sumInRankOrder adds the size rows of recv (each of length c) into out,
// row 0 first: the one place where AllReduce's arithmetic happens, so its
// order is fixed.
func sumInRankOrder(out, recv []float32, size, c int, op Op) {
	copy(out, recv[:c])
	for r := 1; r < size; r++ {
		row := recv[r*c : r*c+len(out)]
		for i, v := range row {
			out[i] += v
		}
	}
	if op == Mean {
		n := float32(size)
		for i := range out {
			out[i] /= n
		}
	}
}
