package doccheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// quoted finds the blocks a document marks as a command's output:
// "<!-- output of: backprop ARGS -->" right before a fenced block.
var quoted = regexp.MustCompile("(?s)<!-- output of: backprop ([^>]*?) -->\n```\n(.*?)```")

// TestGuideNumbersComeFromTheCommands runs each command the guides quote
// and checks that every quoted line is in its output, so that no number in
// a guide is typed by hand or goes stale.
func TestGuideNumbersComeFromTheCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command; skipped with -short")
	}
	root := repoRoot(t)
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	binary := filepath.Join(t.TempDir(), "backprop")
	build := exec.Command(goTool(t), "build", "-o", binary, "./cmd/backprop")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	outputs := map[string]string{}
	blocks := 0
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range quoted.FindAllStringSubmatch(string(b), -1) {
			args := m[1]
			if _, ok := outputs[args]; !ok {
				out, err := exec.Command(binary, strings.Fields(args)...).Output()
				if err != nil {
					t.Fatalf("%s: backprop %s: %v", filepath.Base(doc), args, err)
				}
				outputs[args] = string(out)
			}
			blocks++
			for _, line := range strings.Split(strings.TrimRight(m[2], "\n"), "\n") {
				if !strings.Contains(outputs[args], line) {
					t.Errorf("%s quotes a line that backprop %s does not print:\n%s", filepath.Base(doc), args, line)
				}
			}
		}
	}
	if blocks == 0 {
		t.Error("no quoted command output found in docs/*.md")
	}
}
