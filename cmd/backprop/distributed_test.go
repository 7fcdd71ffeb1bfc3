package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backprop-go/backprop/dist/mpitest"
	"github.com/backprop-go/backprop/train"
)

// asCLIEnv makes this test binary run as the backprop command, so that
// mpirun can start it as the replicas of a job: it is built with the
// test's tags (-tags mpi), which the binary TestMain builds is not.
const asCLIEnv = "BACKPROP_TEST_AS_CLI"

// pidDirEnv names a directory where each replica started as the command
// writes its process id, in a file named by its rank.
const pidDirEnv = "BACKPROP_TEST_PID_DIR"

func init() {
	if os.Getenv(asCLIEnv) == "" {
		return
	}
	if dir := os.Getenv(pidDirEnv); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, os.Getenv("OMPI_COMM_WORLD_RANK")), []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// cli returns the command that runs backprop (this test binary) with args
// under mpirun -np n, or alone when n is 0.
func cli(t *testing.T, ctx context.Context, n int, env []string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if n == 0 {
		cmd = exec.CommandContext(ctx, self, args...)
	} else {
		cmd = mpitest.Command(ctx, n, append([]string{self}, args...)...)
	}
	cmd.Env = append(append(os.Environ(), asCLIEnv+"=1"), env...)
	return cmd
}

// mpiTrain runs backprop train under mpirun -np n (alone for 0) and fails
// the test if it fails.
func mpiTrain(t *testing.T, n int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := cli(t, ctx, n, nil, append([]string{"train", "--quiet"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("backprop train %s on %d replicas: %v\n%s", strings.Join(args, " "), n, err, mpitest.Tail(string(out), 30))
	}
	return string(out)
}

// TestMPITrainEqualsOneProcess: 2 and 3 replicas with batches of 8 against
// one process with batches of 8N, on 480 samples (no padding): the same
// global batches, so the weights agree to float32 rounding, within 2e-6
// relative (the test logs the largest difference); two runs of 3 replicas
// agree bit for bit; a run resumed by 2 replicas equals one not stopped.
func TestMPITrainEqualsOneProcess(t *testing.T) {
	mpitest.Skip(t)
	const bound = 2e-6
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 480)
	common := []string{"--data", csvPath, "--model", "flatten linear(16) tanh linear(2)", "--seed", "4", "--test-split", "0", "--threads", "1"}
	for _, n := range []int{2, 3} {
		one, many := filepath.Join(dir, fmt.Sprint("one", n)), filepath.Join(dir, fmt.Sprint("many", n))
		mpiTrain(t, 0, append([]string{"--epochs", "3", "--batch-size", fmt.Sprint(8 * n), "--out", one}, common...)...)
		mpiTrain(t, n, append([]string{"--epochs", "3", "--batch-size", "8", "--out", many}, common...)...)
		a, b := modelTensors(t, one), modelTensors(t, many)
		worst := 0.0
		for k, va := range a {
			for i, w := range va {
				d := math.Abs(float64(w-b[k][i])) / max(1, math.Abs(float64(w)))
				if worst = max(worst, d); d > bound {
					t.Fatalf("%d replicas: %s[%d] is %v, one process %v", n, k, i, b[k][i], w)
				}
			}
		}
		t.Logf("%d replicas vs one process: largest relative weight difference %.3g (bound %g)", n, worst, bound)
		if n == 3 {
			again := filepath.Join(dir, "again")
			mpiTrain(t, n, append([]string{"--epochs", "3", "--batch-size", "8", "--out", again}, common...)...)
			sameBits(t, b, modelTensors(t, again))
		}
	}
	// Resumed by 2 replicas from an epoch's end: the same weights as the
	// run of 3 epochs (a constant rate, as extending --epochs stretches a
	// schedule).
	flat := append([]string{"--schedule", "none", "--batch-size", "8"}, common...)
	full, part := filepath.Join(dir, "full"), filepath.Join(dir, "part")
	mpiTrain(t, 2, append([]string{"--epochs", "3", "--out", full}, flat...)...)
	mpiTrain(t, 2, append([]string{"--epochs", "2", "--out", part}, flat...)...)
	mpiTrain(t, 2, "--resume", part, "--epochs", "3")
	sameBits(t, modelTensors(t, full), modelTensors(t, part))
	if ents, _ := os.ReadDir(part); len(ents) != 3 {
		t.Errorf("the run directory holds %d files, want rank 0's checkpoint, metrics and curves", len(ents))
	}
}

// TestMPIKilledRankEndsJob kills rank 1 of 2 once a checkpoint has been
// written: the job must end, non-zero and naming the rank, well within
// 30 s (the test gives up then), and the checkpoint must load and resume.
func TestMPIKilledRankEndsJob(t *testing.T) {
	mpitest.Skip(t)
	dir := t.TempDir()
	csvPath, out, pids := filepath.Join(dir, "blobs.csv"), filepath.Join(dir, "run"), filepath.Join(dir, "pids")
	if err := os.Mkdir(pids, 0o755); err != nil {
		t.Fatal(err)
	}
	writeBlobs(t, csvPath, 4000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := cli(t, ctx, 2, []string{pidDirEnv + "=" + pids}, "train", "--quiet", "--data", csvPath, "--model", "flatten linear(256) relu linear(256) relu linear(2)",
		"--batch-size", "8", "--epochs", "100", "--checkpoint-every", "20", "--threads", "1", "--out", out)
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ckPath := filepath.Join(out, train.CheckpointFile)
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(ckPath); err == nil {
			break
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("no checkpoint after 2 minutes:\n%s", output.String())
		}
	}
	b, err := os.ReadFile(filepath.Join(pids, "1"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	proc, err := os.FindProcess(pid)
	if err == nil {
		err = proc.Kill() // SIGKILL where there are signals
	}
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		t.Fatalf("the job did not end within 30 s of rank 1's death:\n%s", mpitest.Tail(output.String(), 20))
	}
	t.Logf("the job ended %.1f s after rank 1 was killed: %v; its last words:\n%s", time.Since(killed).Seconds(), err, mpitest.Tail(output.String(), 6))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("the job ended with %v, want a non-zero status:\n%s", err, output.String())
	}
	if !strings.Contains(output.String(), "rank 1") {
		t.Errorf("the job's messages do not name rank 1:\n%s", output.String())
	}
	ck, err := train.LoadCheckpoint(ckPath)
	if err != nil {
		t.Fatalf("the last checkpoint does not load: %v", err)
	}
	mpiTrain(t, 2, "--resume", out, "--epochs", fmt.Sprint(ck.Epoch+1))
}

// Without MPI, the distributed tests skip saying why; a binary built
// without the tag refuses to run as one replica of many.
func TestTrainUnderMPIWithoutTheTag(t *testing.T) {
	cmd := exec.Command(binary, "train", "--data", "x.csv")
	cmd.Env = append(os.Environ(), "OMPI_COMM_WORLD_SIZE=2", "OMPI_COMM_WORLD_RANK=0")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "built without MPI: build with -tags mpi") {
		t.Fatalf("the untagged binary under mpirun: %v\n%s", err, out)
	}
}
