package nn_test

import (
	"errors"
	"slices"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// FuzzParseSpec: the parser never panics and returns only *SpecError
// errors; what it accepts prints in a canonical form that parses to
// itself; Build never panics on a parsed spec with small input shapes and,
// when it succeeds, its model runs and gives the shape Build inferred.
// Seed corpus: testdata/fuzz/FuzzParseSpec.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"conv(32,3,pad=1) relu maxpool(2) flatten linear(10)",
		"flatten linear(128) relu linear(64) tanh linear(10)",
		"mlp", "cnn",
		"conv(4,3,stride=2,pad=1,dilation=2,groups=1,bias=0) batchnorm avgpool(2,include_pad=0) globalavgpool",
		"layernorm(dims=1) dropout(0.3) gelu(tanh=1) softmax(dim=-1)",
		"maxpool(3,2,1,ceil=1) leakyrelu(0.2) elu(0.5) softplus(beta=2) logsoftmax",
		"linear(", "conv(1,,)", "relu)", "linear(1e5)", "dropout(-0.)",
		"flatten residual(linear(8) relu residual(gelu)) linear(3)", "residual(conv(2,3,pad=1) relu)",
		`flatten test_affine(act="tanh") test_repeat(2, test_affine(act=relu) linear(4))`, "residual(relu", `test_affine(act="x`,
	} {
		f.Add(s)
	}
	shapes := [][]int{{1, 8, 8}, {3, 5, 5}, {6}, {2, 4}}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := nn.ParseSpec(spec)
		if err != nil {
			var se *nn.SpecError
			if !errors.As(err, &se) {
				t.Fatalf("ParseSpec(%q): error %T %v, want a *SpecError", spec, err, err)
			}
			return
		}
		canon := s.String()
		s2, err := nn.ParseSpec(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, spec, err)
		}
		if s2.String() != canon {
			t.Fatalf("canonical form %q of %q reprints as %q", canon, spec, s2.String())
		}
		for _, shape := range shapes {
			m, err := nn.Build(spec, shape, nn.Seed(1), nn.MaxSize(1<<12))
			if err != nil {
				continue
			}
			if got := m.Spec(); got != canon {
				t.Fatalf("Build(%q, %v).Spec() = %q, want the canonical %q", spec, shape, got, canon)
			}
			want, err := m.OutputShape(shape)
			if err != nil {
				t.Fatalf("Build(%q, %v) succeeded but OutputShape fails: %v", spec, shape, err)
			}
			y := m.Forward(ag.NoGraph(tensor.Zeros(append([]int{2}, shape...)...)))
			if !slices.Equal(y.Shape(), append([]int{2}, want...)) {
				t.Fatalf("Build(%q, %v): output %v, inferred [2 %v]", spec, shape, y.Shape(), want)
			}
		}
	})
}
