package train

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoPlottingDependency keeps the plotting library out of what
// importing train links: the curves live in train/curves. It lists the
// dependencies of train and of nn with the go tool.
func TestNoPlottingDependency(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	for _, pkg := range []string{"github.com/backprop-go/backprop/train", "github.com/backprop-go/backprop/nn", "github.com/backprop-go/backprop/data"} {
		out, err := exec.Command(gobin, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 {
			t.Fatalf("go list -deps %s listed nothing", pkg)
		}
		for _, d := range deps {
			for _, banned := range []string{"gonum.org/v1/plot", "github.com/schollz/progressbar"} {
				if d == banned || strings.HasPrefix(d, banned+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
		t.Logf("%s: %d packages", pkg, len(deps))
	}
}
