package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/train"
)

// runIn runs the command in this process and returns stdout, stderr and
// the exit status; for invocations that stop before any data is read.
func runIn(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := runMain(args, &out, &errb)
	return out.String(), errb.String(), code
}

// assertOneLine fails when a message is not the one or two plain lines a
// mistake deserves: no stack trace, no page of usage.
func assertOneLine(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
		t.Errorf("stderr has a stack trace:\n%s", stderr)
	}
	if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n") + 1; n > 2 {
		t.Errorf("stderr has %d lines, want at most 2:\n%s", n, stderr)
	}
}

// TestFlagMistakes runs each mistake of the issue and checks its exit
// status and its one line. The flags are checked before any data is
// opened: --data names a file that does not exist, so an error about it
// would show that the flag was checked too late.
func TestFlagMistakes(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.csv")
	tr := func(args ...string) []string { return append([]string{"train", "--data", missing}, args...) }
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"mistyped flag", tr("--epoch", "3"), 2, "unknown flag --epoch; did you mean --epochs? (backprop help train lists the flags)"},
		{"flag prefix", tr("--batch", "3"), 2, "did you mean --batch-size?"},
		{"unknown flag", tr("--bogus"), 2, "unknown flag --bogus (backprop help train lists the flags)"},
		{"mistyped eval flag", []string{"eval", "--dta", "x"}, 2, "backprop eval: unknown flag --dta; did you mean --data?"},
		{"mistyped predict flag", []string{"predict", "--tpo", "3"}, 2, "did you mean --top?"},
		{"mistyped bench flag", []string{"bench", "--workloads", "gemm"}, 2, "did you mean --workload?"},
		{"bad int", tr("--epochs", "three"), 2, `invalid value "three" for flag --epochs`},
		{"int too large to parse", tr("--epochs", "9223372036854775808"), 2, "value out of range"},
		{"missing value", tr("--lr"), 2, "flag needs an argument: --lr"},
		{"epochs 0", tr("--epochs", "0"), 2, "--epochs 0: want 1 to 1000000"},
		{"epochs MaxInt", tr("--epochs", strconv.Itoa(math.MaxInt)), 2, "--epochs 9223372036854775807: want 1 to 1000000"},
		{"epochs negative", tr("--epochs", "-4"), 2, "--epochs -4"},
		{"lr NaN", tr("--lr", "NaN"), 2, "--lr NaN: want a learning rate > 0"},
		{"lr Inf", tr("--lr", "Inf"), 2, "--lr +Inf"},
		{"lr negative", tr("--lr", "-0.1"), 2, "--lr -0.1"},
		{"momentum NaN", tr("--momentum", "NaN"), 2, "--momentum NaN: want a momentum in [0, 1)"},
		{"momentum 1", tr("--momentum", "1"), 2, "--momentum 1"},
		{"weight decay NaN", tr("--weight-decay", "NaN"), 2, "--weight-decay NaN: want a weight decay ≥ 0"},
		{"weight decay negative", tr("--weight-decay", "-1"), 2, "--weight-decay -1"},
		{"val split NaN", tr("--val-split", "NaN"), 2, "--val-split NaN"},
		{"val split 1", tr("--val-split", "1"), 2, "--val-split 1"},
		{"test split Inf", tr("--test-split", "Inf"), 2, `invalid value "Inf" for flag --test-split: want a fraction in [0, 1)`},
		{"batch size 0", tr("--batch-size", "0"), 2, "--batch-size 0: want 1 to"},
		{"batch size -1", tr("--batch-size", "-1"), 2, "--batch-size -1"},
		{"patience -1", tr("--patience", "-1"), 2, "--patience -1"},
		{"checkpoint every -1", tr("--checkpoint-every", "-1"), 2, "--checkpoint-every -1"},
		{"dashboard not an address", tr("--dashboard=notanaddr"), 2, `invalid value "notanaddr" for --dashboard: address "notanaddr": want PORT, HOST:PORT or :PORT`},
		{"dashboard port too big", tr("--dashboard=127.0.0.1:70000"), 2, `port "70000"`},
		{"dashboard with a space", tr("--dashboard", "host:port"), 2, `--dashboard "host:port": address "host:port": port "port" is not a number`},
		{"threads too many", tr("--threads", "100000"), 2, "--threads 100000: want 1 to"},
		{"threads negative", tr("--threads", "-1"), 2, "--threads -1"},
		{"schedule", tr("--schedule", "linear"), 2, `--schedule "linear"`},
		{"stray argument", tr("extra"), 2, `unexpected argument "extra"`},
		{"resume nothing", []string{"train", "--resume", filepath.Dir(missing)}, 2, "no checkpoint.safetensors there"},
		{"bench threads", []string{"bench", "--threads", "-2"}, 2, "backprop bench: --threads -2"},
		{"bench epochs", []string{"bench", "--epochs", "0"}, 2, "backprop bench: --epochs 0"},
		{"xor lr NaN", []string{"xor", "--lr", "NaN"}, 2, "backprop xor: --lr NaN"},
		{"xor steps", []string{"xor", "--steps", "-1"}, 2, "backprop xor: --steps -1"},
		{"bare backprop", nil, 2, "backprop: no command given"},
		{"unknown command", []string{"trian"}, 2, `unknown command "trian"; did you mean train?`},
		{"help for an unknown command", []string{"help", "evl"}, 2, `backprop help: unknown command "evl"; did you mean eval?`},
		{"help for nothing near", []string{"help", "nosuch"}, 2, `unknown command "nosuch" (backprop help lists the commands)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runIn(c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if strings.Contains(stderr, "nope.csv") {
				t.Errorf("the data was opened before the flag was checked: %q", stderr)
			}
			if c.args != nil { // bare backprop prints the commands after its line
				assertOneLine(t, stderr)
			}
		})
	}
}

// TestFlagMistakesBinary checks the exit status of the built command for
// a few mistakes that used to end in a Go panic (status 2 by accident).
func TestFlagMistakesBinary(t *testing.T) {
	cases := [][]string{
		{"train", "--epochs", "0"},
		{"train", "--epochs", "9223372036854775807"},
		{"train", "--lr", "NaN"},
		{"train", "--momentum", "NaN"},
	}
	for _, args := range cases {
		_, stderr, code := run(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr %q", args, code, stderr)
		}
		assertOneLine(t, stderr)
	}
}

// TestHelp checks that help lists the commands and that `backprop help
// CMD` and `backprop CMD -h` show each command's flags with status 0, and
// that no help mentions files outside the repository.
func TestHelp(t *testing.T) {
	stdout, _, code := runIn("help")
	if code != 0 || !strings.Contains(stdout, "Commands:") || !strings.Contains(stdout, "backprop help COMMAND") {
		t.Fatalf("help: exit %d, stdout %q", code, stdout)
	}
	all := stdout
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runIn("help", name)
			if code != 0 || !strings.Contains(stdout, "-") || stderr != "" {
				t.Fatalf("help %s: exit %d, stdout %q, stderr %q", name, code, stdout, stderr)
			}
			all += stdout
			if _, stderr, code := runIn(name, "-h"); code != 0 || stderr == "" {
				t.Fatalf("%s -h: exit %d, stderr %q; want the flags and status 0", name, code, stderr)
			}
		})
	}
	stdout, _, _ = runIn("help", "train")
	for _, want := range []string{"Usage: backprop train", "-epochs", "-overwrite", "-resume", "cnn for images, mlp for a CSV table"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help train lacks %q:\n%s", want, stdout)
		}
	}
	stdout, _, _ = runIn("help", "bench")
	for _, want := range []string{"gemm", "mlp", "cnn", "infer", benchCNN} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help bench does not describe %q:\n%s", want, stdout)
		}
	}
	for _, bad := range []string{"../shared", "shared/bench"} {
		if strings.Contains(all, bad) {
			t.Errorf("help mentions %q, which is not part of the repository", bad)
		}
	}
	// Bare backprop prints the same list, on stderr, as a usage error.
	_, stderr, code := runIn()
	if code != 2 || !strings.Contains(stderr, "Commands:") {
		t.Fatalf("bare backprop: exit %d, stderr %q", code, stderr)
	}
}

// TestPanicIsAnInternalError registers a command that panics: the panic
// must be one line with status 1, not Go's trace and status 2, and the
// stack must appear only with BACKPROP_TRACE set.
func TestPanicIsAnInternalError(t *testing.T) {
	const name = "panic-for-test"
	commands[name] = command{summary: "panics", run: func(args []string, _, _ io.Writer) int {
		return []int{}[len(args)] // out of range: a runtime error, as a bug would give
	}}
	defer delete(commands, name)

	t.Setenv(traceEnv, "")
	_, stderr, code := runIn(name)
	if code != 1 || !strings.Contains(stderr, "backprop "+name+": internal error: runtime error: index out of range [0] with length 0 (this is a bug; please report it") {
		t.Fatalf("exit %d, stderr %q; want 1 and an internal-error line", code, stderr)
	}
	assertOneLine(t, stderr)

	t.Setenv(traceEnv, "1")
	_, stderr, code = runIn(name)
	if code != 1 || !strings.Contains(stderr, "goroutine ") || !strings.Contains(stderr, "internal error") {
		t.Fatalf("with %s=1: exit %d, stderr %q; want 1, the line and the stack", traceEnv, code, stderr)
	}
}

func TestDidYouMean(t *testing.T) {
	flags := []string{"epochs", "batch-size", "lr", "label", "data", "dashboard", "model", "momentum", "threads"}
	cases := []struct{ name, want string }{
		{"epoch", "epochs"},
		{"epcohs", "epochs"},
		{"batch", "batch-size"},
		{"batchsize", "batch-size"},
		{"l", "lr"},
		{"lr", "lr"},
		{"modle", "model"},
		{"thread", "threads"},
		{"xyzzy", ""},
		{"zz", ""},
	}
	for _, c := range cases {
		got := didYouMean(c.name, flags, "--")
		want := ""
		if c.want != "" {
			want = "; did you mean --" + c.want + "?"
		}
		if got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", c.name, got, want)
		}
	}
}

// TestTrainFlagsClassified makes sure every flag of train is either a run
// setting (refused with --resume when it differs from the saved one) or a
// flag of the invocation only, so that a new flag cannot be silently
// ignored by --resume again.
func TestTrainFlagsClassified(t *testing.T) {
	stdout, _, _ := runIn("help", "train")
	names := regexp.MustCompile(`(?m)^  -(\S+)`).FindAllStringSubmatch(stdout, -1)
	if len(names) < 20 {
		t.Fatalf("found %d flags in help train", len(names))
	}
	for _, m := range names {
		n := m[1]
		setting := slices.ContainsFunc(runSettings, func(s struct {
			flag string
			get  func(c trainConfig) any
		}) bool {
			return s.flag == n
		})
		if setting == slices.Contains(sessionFlags, n) {
			t.Errorf("train flag --%s must be in exactly one of runSettings and sessionFlags (train.go)", n)
		}
	}
}

// trainTiny trains one epoch of a small MLP on a CSV into out.
func trainTiny(t *testing.T, csvPath, out string, extra ...string) (string, int) {
	t.Helper()
	args := append([]string{"train", "--data", csvPath, "--epochs", "1", "--optimizer", "adam", "--lr", "0.01",
		"--batch-size", "16", "--quiet", "--out", out}, extra...)
	_, stderr, code := run(t, args...)
	return stderr, code
}

// TestOverwriteRefused trains a run, then trains again into its folder:
// refused with status 2 and the checkpoint untouched, byte for byte,
// unless --overwrite is given.
func TestOverwriteRefused(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 60)
	out := filepath.Join(dir, "run")
	if err := os.Mkdir(out, 0o755); err != nil { // an existing empty folder is fine
		t.Fatal(err)
	}
	if stderr, code := trainTiny(t, csvPath, out); code != 0 {
		t.Fatalf("first run into an empty folder: exit %d: %s", code, stderr)
	}
	ckPath := filepath.Join(out, train.CheckpointFile)
	before, err := os.ReadFile(ckPath)
	if err != nil {
		t.Fatal(err)
	}
	stderr, code := trainTiny(t, csvPath, out, "--seed", "2")
	if code != 2 || !strings.Contains(stderr, "already holds a run") || !strings.Contains(stderr, "--resume "+out) ||
		!strings.Contains(stderr, "--overwrite") {
		t.Fatalf("second run without --overwrite: exit %d, stderr %q; want 2 suggesting --resume and --overwrite", code, stderr)
	}
	assertOneLine(t, stderr)
	after, err := os.ReadFile(ckPath)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the refused run changed the checkpoint (%v)", err)
	}
	if stderr, code := trainTiny(t, csvPath, out, "--seed", "2", "--overwrite"); code != 0 {
		t.Fatalf("with --overwrite: exit %d: %s", code, stderr)
	}
	replaced, err := os.ReadFile(ckPath)
	if err != nil || bytes.Equal(before, replaced) {
		t.Fatalf("--overwrite with another seed left the old checkpoint (%v)", err)
	}
}

// TestResumeConflicts gives run settings with --resume: another value is
// refused, naming the flag and the saved value; the same value, --epochs
// and the flags of the invocation are accepted.
func TestResumeConflicts(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 60)
	other := filepath.Join(dir, "other.csv")
	writeBlobs(t, other, 40)
	out := filepath.Join(dir, "run")
	if stderr, code := trainTiny(t, csvPath, out, "--model", "mlp"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"lr", []string{"--lr", "0.1"}, 2, "--lr 0.1 conflicts with the run in " + out + ", which was saved with --lr 0.01"},
		{"batch size", []string{"--batch-size", "32"}, 2, "--batch-size 32 conflicts"},
		{"data", []string{"--data", other}, 2, "--data " + other + " conflicts"},
		{"model", []string{"--model", "cnn"}, 2, "saved with --model mlp"},
		{"optimizer", []string{"--optimizer", "sgd"}, 2, "saved with --optimizer adam"},
		{"seed", []string{"--seed", "9"}, 2, "--seed 9 conflicts"},
		{"overwrite", []string{"--overwrite", "--epochs", "2"}, 2, "--overwrite with --resume"},
		{"another out", []string{"--out", filepath.Join(dir, "elsewhere"), "--epochs", "2"}, 2, "a resumed run stays in its own directory"},
		{"finished run", nil, 2, "has done 1 of its 1 epochs: give --epochs N with N > 1"},
		{"same values, more epochs", []string{"--lr", "0.01", "--batch-size", "16", "--data", csvPath, "--epochs", "2", "--threads", "1", "--json"}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := run(t, append([]string{"train", "--resume", out, "--quiet"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if c.code != 0 {
				assertOneLine(t, stderr)
			}
		})
	}
	ck, err := train.LoadCheckpoint(filepath.Join(out, train.CheckpointFile))
	if err != nil || ck.Epoch != 2 {
		t.Fatalf("after the accepted resume: %v, epoch %d; want 2", err, ck.Epoch)
	}
}

// TestStaleTemporariesRemoved leaves the temporaries a kill -9 leaves and
// checks that a new run and a resumed run both remove them, and only them.
func TestStaleTemporariesRemoved(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 60)
	out := filepath.Join(dir, "run")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	plant := func(names ...string) {
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(out, n), []byte("half-written"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	stale := []string{".checkpoint.safetensors.tmp1k2j3h", ".metrics.jsonl.tmp77", ".dashboard.json.tmpq"}
	plant(append(stale, "notes.txt")...)
	if stderr, code := trainTiny(t, csvPath, out); code != 0 {
		t.Fatalf("train into a folder with leftovers: exit %d: %s", code, stderr)
	}
	check := func(when string) {
		for _, n := range stale {
			if _, err := os.Stat(filepath.Join(out, n)); !os.IsNotExist(err) {
				t.Errorf("%s: %s still there (%v)", when, n, err)
			}
		}
		if _, err := os.Stat(filepath.Join(out, "notes.txt")); err != nil {
			t.Errorf("%s: a file not ours was removed: %v", when, err)
		}
	}
	check("new run")
	plant(stale...)
	if _, stderr, code := run(t, "train", "--resume", out, "--epochs", "2", "--quiet"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	check("resumed run")
}

// TestDefaultModelFitsData trains without --model: the MLP for a table,
// the CNN for a folder of images, saying which.
func TestDefaultModelFitsData(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "blobs.csv")
	writeBlobs(t, csvPath, 60)
	root := filepath.Join(dir, "pets")
	writeImages(t, root, 6)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"csv", []string{"--data", csvPath}, "Model: mlp, the default for a CSV table"},
		{"images", []string{"--data", root, "--image-size", "8"}, "Model: cnn, the default for images"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"train", "--epochs", "1", "--batch-size", "16", "--out", filepath.Join(dir, c.name)}, c.args...)
			_, stderr, code := run(t, args...)
			if code != 0 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want success and %q", code, stderr, c.want)
			}
		})
	}
}
