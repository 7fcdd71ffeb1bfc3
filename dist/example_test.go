package dist_test

import (
	"fmt"

	"github.com/backprop-go/backprop/dist"
)

// A program joins the job that started it (or runs alone), hands the
// communicator to train.Config.Distributed, and closes it at the end;
// under `mpirun -np 4` the same program runs as 4 replicas.
func Example() {
	comm, err := dist.Init() // Local unless an MPI launcher started this process
	if err != nil {
		fmt.Println(err) // started by mpirun, built without -tags mpi
		return
	}
	defer comm.Close()
	grads := []float32{0.5, -2}
	if err := comm.AllReduce(grads, dist.Mean); err != nil {
		comm.Abort(1) // a replica that cannot go on ends the job
	}
	fmt.Printf("rank %d of %d: %v\n", comm.Rank(), comm.Size(), grads)
	// Output: rank 0 of 1: [0.5 -2]
}
