package dist

import (
	"errors"
	"testing"
)

func TestLaunched(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		size int
		ok   bool
	}{
		{"none", nil, 0, false},
		{"open mpi", map[string]string{"OMPI_COMM_WORLD_SIZE": "4"}, 4, true},
		{"mpich", map[string]string{"PMI_SIZE": "3"}, 3, true},
		{"garbage", map[string]string{"OMPI_COMM_WORLD_SIZE": "x"}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			size, ok := Launched(func(k string) string { return tc.env[k] })
			if size != tc.size || ok != tc.ok {
				t.Errorf("Launched = %d, %v; want %d, %v", size, ok, tc.size, tc.ok)
			}
		})
	}
}

func TestLocal(t *testing.T) {
	c := Local()
	buf := []float32{1, 2, 3}
	for _, op := range []Op{Sum, Mean} {
		if err := c.AllReduce(buf, op); err != nil || buf[0] != 1 || buf[2] != 3 {
			t.Errorf("Local AllReduce %v: %v, %v; want the buffer unchanged", op, buf, err)
		}
	}
	if c.Rank() != 0 || c.Size() != 1 {
		t.Errorf("Local is rank %d of %d, want 0 of 1", c.Rank(), c.Size())
	}
	if err := c.Broadcast(buf, 1); err == nil {
		t.Error("Local Broadcast from rank 1: no error")
	}
}

// Without the mpi tag, a process started by mpirun must be told how to get
// a binary that can take part, not run alone N times over.
func TestInitWithoutMPI(t *testing.T) {
	if HaveMPI {
		t.Skip("built with MPI: Init would start it")
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	_, err := Init()
	if !errors.Is(err, ErrNoMPI) {
		t.Fatalf("Init under mpirun without the tag: %v, want ErrNoMPI", err)
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "1")
	if c, err := Init(); err != nil || c.Size() != 1 {
		t.Fatalf("Init for one process: %v, %v; want Local", c, err)
	}
}

func TestSumInRankOrder(t *testing.T) {
	// Three rows of two; the sums in order 0, 1, 2.
	recv := []float32{1, 2, 10, 20, 100, 200}
	out := make([]float32, 2)
	sumInRankOrder(out, recv, 3, 2, Sum)
	if out[0] != 111 || out[1] != 222 {
		t.Errorf("sum %v, want [111 222]", out)
	}
	sumInRankOrder(out, recv, 3, 2, Mean)
	if out[0] != 37 || out[1] != 74 {
		t.Errorf("mean %v, want [37 74]", out)
	}
}
