//go:build mpi && cgo

package dist

/*
#cgo pkg-config: mpi
#include <stdlib.h>
#include <mpi.h>

// Open MPI catches SIGSEGV, SIGBUS, SIGFPE and SIGABRT to print its own
// backtrace; Go needs SIGSEGV for nil dereferences it turns into panics,
// so the handlers are turned off before MPI starts (a variable the user
// set is kept).
static int bp_init(int *rank, int *size, int *provided) {
	setenv("OMPI_MCA_opal_signal", "", 0);
	int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
	if (rc != MPI_SUCCESS) return rc;
	MPI_Comm_rank(MPI_COMM_WORLD, rank);
	return MPI_Comm_size(MPI_COMM_WORLD, size);
}
static int bp_alltoall_float(float *send, float *recv, int n) {
	return MPI_Alltoall(send, n, MPI_FLOAT, recv, n, MPI_FLOAT, MPI_COMM_WORLD);
}
static int bp_allgather_float(float *send, float *recv, int n) {
	return MPI_Allgather(send, n, MPI_FLOAT, recv, n, MPI_FLOAT, MPI_COMM_WORLD);
}
static int bp_allgather_double(double *send, double *recv, int n) {
	return MPI_Allgather(send, n, MPI_DOUBLE, recv, n, MPI_DOUBLE, MPI_COMM_WORLD);
}
static int bp_allreduce_float(float *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static int bp_bcast_float(float *buf, int n, int root) {
	return MPI_Bcast(buf, n, MPI_FLOAT, root, MPI_COMM_WORLD);
}
static int bp_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int bp_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static int bp_finalize(void) { return MPI_Finalize(); }
static int bp_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// HaveMPI reports whether this binary was built with MPI (the mpi build
// tag, with cgo).
const HaveMPI = true

// mpiComm is a communicator over MPI_COMM_WORLD.
type mpiComm struct {
	mu         *sync.Mutex // the process's MPI, one call at a time
	rank, size int
	cfg        MPIConfig
	send, recv []float32 // AllReduce's scratch, one bucket each
	red        []float32
}

// world is the MPI library's state, which is the process's: MPI starts
// once (MPI_Init cannot be called again, even after MPI_Finalize) and
// takes one call at a time (MPI_THREAD_SERIALIZED) from all of the
// communicators InitMPI returns.
var world struct {
	once       sync.Once
	mu         sync.Mutex
	rank, size int
	err        error
	closed     bool
}

func initMPI(cfg MPIConfig) (Comm, error) {
	world.once.Do(func() {
		var rank, size, provided C.int
		if rc := C.bp_init(&rank, &size, &provided); rc != C.MPI_SUCCESS {
			world.err = fmt.Errorf("dist: MPI_Init_thread failed (error %d)", int(rc))
			return
		}
		if provided < C.bp_thread_serialized() {
			C.bp_finalize()
			world.err = fmt.Errorf("dist: this MPI library gives thread level %d, below MPI_THREAD_SERIALIZED: rebuild it with thread support", int(provided))
			return
		}
		world.rank, world.size = int(rank), int(size)
	})
	if world.err != nil {
		return nil, world.err
	}
	return &mpiComm{mu: &world.mu, rank: world.rank, size: world.size, cfg: cfg}, nil
}

func (c *mpiComm) Rank() int { return c.rank }
func (c *mpiComm) Size() int { return c.size }

func mpiErr(op string, rc C.int) error {
	if rc == C.MPI_SUCCESS {
		return nil
	}
	return fmt.Errorf("dist: %s failed (MPI error %d)", op, int(rc))
}

// AllReduce reduces buf in buckets. Each bucket is a reduce-scatter done
// by hand (MPI_Alltoall hands rank r the r-th chunk of every replica's
// bucket, and rank r adds them in rank order) followed by MPI_Allgather
// of the sums: MPI only moves the data, so the order of the additions is
// fixed, and each replica sends and receives 2(N−1)/N of the bucket, as
// a ring all-reduce does.
func (c *mpiComm) AllReduce(buf []float32, op Op) error {
	if op != Sum && op != Mean {
		return fmt.Errorf("dist: AllReduce: unknown %v", op)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg.Native {
		return c.native(buf, op)
	}
	bucket := max(c.cfg.BucketBytes/4, c.size)
	for lo := 0; lo < len(buf); lo += bucket {
		b := buf[lo:min(lo+bucket, len(buf))]
		n := (len(b) + c.size - 1) / c.size // elements per chunk
		if cap(c.send) < n*c.size {
			c.send, c.recv, c.red = make([]float32, n*c.size), make([]float32, n*c.size), make([]float32, n)
		}
		send, recv, red := c.send[:n*c.size], c.recv[:n*c.size], c.red[:n]
		copy(send, b)
		clear(send[len(b):])
		if err := mpiErr("MPI_Alltoall", C.bp_alltoall_float((*C.float)(unsafe.Pointer(&send[0])), (*C.float)(unsafe.Pointer(&recv[0])), C.int(n))); err != nil {
			return err
		}
		sumInRankOrder(red, recv, c.size, n, op)
		if err := mpiErr("MPI_Allgather", C.bp_allgather_float((*C.float)(unsafe.Pointer(&red[0])), (*C.float)(unsafe.Pointer(&send[0])), C.int(n))); err != nil {
			return err
		}
		copy(b, send)
	}
	return nil
}

// native is AllReduce by MPI_Allreduce, bucket by bucket.
func (c *mpiComm) native(buf []float32, op Op) error {
	bucket := max(c.cfg.BucketBytes/4, 1)
	for lo := 0; lo < len(buf); lo += bucket {
		b := buf[lo:min(lo+bucket, len(buf))]
		if err := mpiErr("MPI_Allreduce", C.bp_allreduce_float((*C.float)(unsafe.Pointer(&b[0])), C.int(len(b)))); err != nil {
			return err
		}
	}
	if op == Mean {
		n := float32(c.size)
		for i := range buf {
			buf[i] /= n
		}
	}
	return nil
}

// AllReduce64 gathers every replica's (short) buffer and adds them in rank
// order.
func (c *mpiComm) AllReduce64(buf []float64, op Op) error {
	if len(buf) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	all := make([]float64, len(buf)*c.size)
	if err := mpiErr("MPI_Allgather", C.bp_allgather_double((*C.double)(unsafe.Pointer(&buf[0])), (*C.double)(unsafe.Pointer(&all[0])), C.int(len(buf)))); err != nil {
		return err
	}
	copy(buf, all)
	for r := 1; r < c.size; r++ {
		for i, v := range all[r*len(buf) : (r+1)*len(buf)] {
			buf[i] += v
		}
	}
	if op == Mean {
		for i := range buf {
			buf[i] /= float64(c.size)
		}
	}
	return nil
}

func (c *mpiComm) Broadcast(buf []float32, root int) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("dist: Broadcast from rank %d of %d", root, c.size)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	bucket := max(c.cfg.BucketBytes/4, 1)
	for lo := 0; lo < len(buf); lo += bucket {
		b := buf[lo:min(lo+bucket, len(buf))]
		if err := mpiErr("MPI_Bcast", C.bp_bcast_float((*C.float)(unsafe.Pointer(&b[0])), C.int(len(b)), C.int(root))); err != nil {
			return err
		}
	}
	return nil
}

func (c *mpiComm) Barrier() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return mpiErr("MPI_Barrier", C.bp_barrier())
}

// Abort asks MPI to end every process of the job; should MPI return,
// this process exits anyway.
func (c *mpiComm) Abort(code int) {
	C.bp_abort(C.int(code))
	os.Exit(code)
}

// Close finalises MPI for the whole process (every communicator InitMPI
// returned); closing again does nothing.
func (c *mpiComm) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if world.closed {
		return nil
	}
	world.closed = true
	return mpiErr("MPI_Finalize", C.bp_finalize())
}
