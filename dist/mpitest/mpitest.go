// Package mpitest runs a test binary's own tests as the replicas of an MPI
// job, for the tests of distributed training: the test that is not a
// replica calls Run, which starts `mpirun -np N` on the same binary with
// the worker tests selected, and the worker tests, seeing Worker true, do
// their part and fail (exit non-zero) on a wrong result.
package mpitest

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backprop-go/backprop/dist"
)

// WorkerEnv is set in the environment of the replicas Run starts.
const WorkerEnv = "BACKPROP_MPITEST_WORKER"

// Worker reports whether this process is a replica started by Run.
func Worker() bool { return os.Getenv(WorkerEnv) != "" }

// Available returns "" when MPI jobs can run here (this binary was built
// with the mpi tag and mpirun is on PATH), else why not.
func Available() string {
	if !dist.HaveMPI {
		return "built without MPI: go test -tags mpi runs the distributed tests (with Open MPI or MPICH installed)"
	}
	if _, err := exec.LookPath("mpirun"); err != nil {
		return "mpirun is not on PATH: install Open MPI (apt-get install openmpi-bin libopenmpi-dev)"
	}
	return ""
}

// Skip skips t, saying why, when MPI jobs cannot run here.
func Skip(t testing.TB) {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip(why)
	}
}

// Command returns the command that runs args under `mpirun -np n` on this
// machine: more processes than cores allowed (--oversubscribe), no
// binding to cores (each Go process runs several threads), and, as root
// (containers, CI), --allow-run-as-root.
func Command(ctx context.Context, n int, args ...string) *exec.Cmd {
	a := []string{"--oversubscribe", "--bind-to", "none", "-np", strconv.Itoa(n)}
	if os.Geteuid() == 0 {
		a = append(a, "--allow-run-as-root")
	}
	return exec.CommandContext(ctx, "mpirun", append(a, args...)...)
}

// Run runs the tests matching pattern of this test binary as the n
// replicas of an MPI job, with env added to their environment, and
// returns their combined output and mpirun's error (nil when every
// replica passed). It skips t when MPI jobs cannot run here. The job is
// killed after timeout.
func Run(t testing.TB, n int, pattern string, timeout time.Duration, env ...string) (string, error) {
	t.Helper()
	Skip(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := Command(ctx, n, self, "-test.run", "^(?:"+pattern+")$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), WorkerEnv+"=1"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Tail returns the last lines of out, for a failure message.
func Tail(out string, lines int) string {
	s := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return strings.Join(s[max(len(s)-lines, 0):], "\n")
}
