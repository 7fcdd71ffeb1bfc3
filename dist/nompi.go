//go:build !(mpi && cgo)

package dist

func initMPI(MPIConfig) (Comm, error) { return nil, ErrNoMPI }

// HaveMPI reports whether this binary was built with MPI (the mpi build
// tag, with cgo).
const HaveMPI = false
