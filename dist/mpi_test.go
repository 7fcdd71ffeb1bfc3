//go:build mpi && cgo

package dist_test

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/backprop-go/backprop/dist"
	"github.com/backprop-go/backprop/dist/mpitest"
)

// TestMPIJob runs TestMPIWorker as 2 and 3 replicas.
func TestMPIJob(t *testing.T) {
	if mpitest.Worker() {
		t.Skip("a replica runs TestMPIWorker")
	}
	for _, n := range []int{2, 3} {
		for _, native := range []string{"", "1"} {
			out, err := mpitest.Run(t, n, "TestMPIWorker", 60*time.Second, "DIST_TEST_NATIVE="+native)
			if err != nil {
				t.Fatalf("%d replicas (native %q): %v\n%s", n, native, err, mpitest.Tail(out, 30))
			}
		}
	}
}

// TestMPIWorker is one replica's part of TestMPIJob.
func TestMPIWorker(t *testing.T) {
	if !mpitest.Worker() {
		t.Skip("run by TestMPIJob under mpirun")
	}
	// Small buckets, so that buffers span several of them and end in a
	// partial chunk.
	c, err := dist.InitMPI(dist.MPIConfig{BucketBytes: 4 * 7, Native: os.Getenv("DIST_TEST_NATIVE") != ""})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rank, size := c.Rank(), c.Size()
	if size < 2 {
		t.Fatalf("size %d under mpirun", size)
	}
	for _, n := range []int{1, 5, 29, 1000} {
		for _, op := range []dist.Op{dist.Sum, dist.Mean} {
			buf := make([]float32, n)
			for i := range buf {
				buf[i] = float32(rank*1000 + i)
			}
			if err := c.AllReduce(buf, op); err != nil {
				t.Fatal(err)
			}
			for i, v := range buf {
				var want float32
				for r := range size {
					want += float32(r*1000 + i)
				}
				if op == dist.Mean {
					want /= float32(size)
				}
				if v != want {
					t.Fatalf("rank %d: AllReduce %v of %d: [%d] = %v, want %v", rank, op, n, i, v, want)
				}
			}
		}
	}
	// Rank order: 1e8 + 1 − 1e8 in float32 depends on the order; every
	// rank must get the same bits, and the fixed order gives rank 0's
	// value first.
	vals := []float32{1e8, 1, -1e8}
	buf := []float32{vals[rank%3]}
	if err := c.AllReduce(buf, dist.Sum); err != nil {
		t.Fatal(err)
	}
	all := []float32{buf[0]}
	if err := c.Broadcast(all, 0); err != nil {
		t.Fatal(err)
	}
	if math.Float32bits(all[0]) != math.Float32bits(buf[0]) {
		t.Fatalf("rank %d got %v, rank 0 %v: the ranks' sums differ", rank, buf[0], all[0])
	}
	if os.Getenv("DIST_TEST_NATIVE") == "" {
		var want float32
		for r := range size {
			want += vals[r%3]
		}
		if buf[0] != want {
			t.Fatalf("rank %d: sum %v, want %v (rank order)", rank, buf[0], want)
		}
	}
	b64 := []float64{float64(rank), 1}
	if err := c.AllReduce64(b64, dist.Sum); err != nil {
		t.Fatal(err)
	}
	if b64[0] != float64(size*(size-1)/2) || b64[1] != float64(size) {
		t.Fatalf("rank %d: AllReduce64 %v", rank, b64)
	}
	bc := []float32{float32(rank), float32(rank)}
	if err := c.Broadcast(bc, size-1); err != nil {
		t.Fatal(err)
	}
	if bc[0] != float32(size-1) {
		t.Fatalf("rank %d: Broadcast gave %v", rank, bc)
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
	// Go's nil-dereference panic must still be a recoverable panic: MPI
	// must not have taken SIGSEGV.
	func() {
		defer func() { _ = recover() }()
		var p *int
		t.Log(*p)
	}()
}

// BenchmarkAllReduce times AllReduce of the W-MLP and W-CNN gradients
// (235,146 and 421,642 float32s), in rank order and by MPI_Allreduce. Run it
// under mpirun with a fixed count, so that every rank makes the same
// calls:
//
//	go test -tags mpi -c -o /tmp/dist.test ./dist/
//	BACKPROP_MPITEST_WORKER=1 mpirun -np 2 /tmp/dist.test -test.run XXX -test.bench AllReduce -test.benchtime 200x
func BenchmarkAllReduce(b *testing.B) {
	if !mpitest.Worker() {
		b.Skip("run under mpirun, as its comment says")
	}
	var c dist.Comm
	defer func() { c.Close() }()
	for _, native := range []bool{false, true} {
		var err error
		if c, err = dist.InitMPI(dist.MPIConfig{Native: native}); err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{235146, 421642} {
			b.Run(fmt.Sprintf("native=%v/%d", native, n), func(b *testing.B) {
				buf := make([]float32, n)
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					if err := c.AllReduce(buf, dist.Mean); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
