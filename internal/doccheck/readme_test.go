package doccheck

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

func goTool(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build with")
	}
	return gobin
}

// section returns the README's text from the heading to the next heading
// of the same level.
func section(t *testing.T, readme, heading string) string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no heading %q", heading)
	}
	rest := readme[i+len(heading)+2:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestReadmeGoProgramCompiles builds the first Go block of the README's
// "The same in Go" section as a program of its own module that requires
// this one, exactly as a user who copies it would.
func TestReadmeGoProgramCompiles(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := goBlock.FindStringSubmatch(section(t, string(readme), "## The same in Go"))
	if m == nil {
		t.Fatal(`README.md's "The same in Go" has no Go block`)
	}
	program := m[1]
	if !strings.HasPrefix(program, "package main\n") {
		t.Fatalf("the README's Go block must be a whole program starting with \"package main\"; it starts %q", strings.SplitN(program, "\n", 2)[0])
	}
	modfile, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(modfile), "\n", 2)[0], "module"))

	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", program)
	write("go.mod", "module readmeexample\n\ngo 1.26\n\nrequire "+module+" v0.0.0\n\nreplace "+module+" => "+root+"\n")
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sums))

	cmd := exec.Command(goTool(t), "build", "-mod=mod", "-o", filepath.Join(dir, "example"), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's Go program does not compile:\n%s", out)
	}
}

// TestDocumentsStandAlone fails when a document a user reads points at a
// path outside the repository.
func TestDocumentsStandAlone(t *testing.T) {
	root := repoRoot(t)
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	docs = append(docs, filepath.Join(root, "README.md"), filepath.Join(root, "BENCHMARKS.md"), filepath.Join(root, "bench", "README.md"))
	for _, path := range docs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(b, []byte("\n")) {
			if bytes.Contains(line, []byte("../shared")) {
				t.Errorf("%s:%d points outside the repository: %s", path, i+1, line)
			}
		}
	}
}

// TestStaticBinary builds the command as the README says to and checks
// that the result needs no dynamic loader or shared library.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skipf("ELF check on linux only (GOOS=%s)", runtime.GOOS)
	}
	root := repoRoot(t)
	out := filepath.Join(t.TempDir(), "backprop")
	cmd := exec.Command(goTool(t), "build", "-o", out, "./cmd/backprop")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/backprop: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader (PT_INTERP): it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links shared libraries %v: it is not static", libs)
	}
}
