package nn_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/nn"
)

// TestParseSpecCanonical: specs parse, print in canonical form, and the
// model Build makes from them prints the same.
func TestParseSpecCanonical(t *testing.T) {
	cases := []struct {
		in, canonical string
		shape         []int
	}{
		{"conv(32,3,pad=1) relu maxpool(2) flatten linear(10)", "conv(32,3,pad=1) relu maxpool(2) flatten linear(10)", []int{1, 28, 28}},
		{"  Conv( 8 , 3, stride=2 ,pad=1, bias=0)\tReLU  ", "conv(8,3,stride=2,pad=1,bias=0) relu", []int{3, 9, 9}},
		{"conv(4,3,1,1,1,2)", "conv(4,3,pad=1,groups=2)", []int{2, 5, 5}},
		{"maxpool(2,stride=2) avgpool(3,stride=1,pad=1,include_pad=0,ceil=1)", "maxpool(2) avgpool(3,stride=1,pad=1,ceil=1,include_pad=0)", []int{1, 6, 6}},
		{"maxpool(3,2,1,dilation=1)", "maxpool(3,stride=2,pad=1)", []int{1, 6, 6}},
		{"batchnorm(momentum=0.01,eps=1e-3) globalavgpool batchnorm(affine=0)", "batchnorm(momentum=0.01,eps=0.001) globalavgpool batchnorm(affine=0)", []int{3, 4, 4}},
		{"flatten layernorm dropout dropout(0.25) linear(4,bias=1)", "flatten layernorm dropout(0.5) dropout(0.25) linear(4)", []int{2, 3}},
		{"layernorm(dims=1,eps=1e-6)", "layernorm(dims=1,eps=1e-06)", []int{2, 3}},
		{"tanh sigmoid silu gelu gelu(tanh=1) elu elu(0.5) softplus(beta=2,threshold=10) leakyrelu leakyrelu(0.2) softmax logsoftmax(dim=-1)",
			"tanh sigmoid silu gelu gelu(tanh=1) elu elu(0.5) softplus(beta=2,threshold=10) leakyrelu leakyrelu(0.2) softmax logsoftmax(dim=-1)", []int{5}},
		{"linear(3) leakyrelu(slope=0.01) elu(alpha=1)", "linear(3) leakyrelu elu", []int{4}},
		{"mlp", "flatten linear(256) relu linear(128) relu linear(10)", []int{1, 28, 28}},
		{" CNN ", "conv(32,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten linear(128) relu dropout(0.25) linear(10)", []int{1, 28, 28}},
	}
	for _, c := range cases {
		s, err := nn.ParseSpec(c.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", c.in, err)
			continue
		}
		if got := s.String(); got != c.canonical {
			t.Errorf("ParseSpec(%q) = %q, want %q", c.in, got, c.canonical)
		}
		m, err := nn.Build(c.in, c.shape, nn.Seed(1))
		if err != nil {
			t.Errorf("Build(%q, %v): %v", c.in, c.shape, err)
			continue
		}
		if got := m.Spec(); got != c.canonical {
			t.Errorf("Build(%q).Spec() = %q, want %q", c.in, got, c.canonical)
		}
	}
}

// TestParseSpecErrors: every error names the column and token and says
// what was expected.
func TestParseSpecErrors(t *testing.T) {
	cases := []struct {
		in     string
		column int
		want   []string
	}{
		{"", 1, []string{"empty spec"}},
		{"relu lienar(10)", 6, []string{`unknown layer "lienar"`, "linear"}},
		{"linear", 1, []string{"needs argument out", "linear(OUT,bias=1)"}},
		{"linear()", 1, []string{"needs argument out"}},
		{"flatten linear(10", 18, []string{"expected ',' or ')'", "end of the spec"}},
		{"linear(10;", 10, []string{"expected ',' or ')'", "';'"}},
		{"linear(x)", 8, []string{"unknown argument \"x\""}},
		{"linear(out)", 11, []string{"expected '=' after out"}},
		{"linear(out=)", 12, []string{"expected a number for out"}},
		{"conv(32,k=3,1)", 13, []string{"positional argument after key=value"}},
		{"linear(1,1,1)", 12, []string{"too many arguments"}},
		{"relu(1)", 6, []string{"relu takes no arguments"}},
		{"linear(10,out=3)", 11, []string{"argument out given twice"}},
		{"linear(2.5)", 8, []string{"whole number"}},
		{"linear(0)", 8, []string{"at least 1"}},
		{"linear(99999999999)", 8, []string{"at most 16777216"}},
		{"dropout(1.5)", 9, []string{"[0, 1]"}},
		{"linear(10,bias=2)", 16, []string{"0 or 1"}},
		{"relu)", 5, []string{"expected a space"}},
		{"relu,tanh", 5, []string{"expected a space"}},
		{"3 relu", 1, []string{"expected a layer name", "'3'"}},
		{"conv(8,3,pad=1e999)", 14, []string{"expected a number"}},
	}
	for _, c := range cases {
		_, err := nn.ParseSpec(c.in)
		var se *nn.SpecError
		if !errors.As(err, &se) {
			t.Errorf("ParseSpec(%q): error %v, want a *SpecError", c.in, err)
			continue
		}
		if se.Column != c.column {
			t.Errorf("ParseSpec(%q): column %d, want %d (%v)", c.in, se.Column, c.column, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseSpec(%q): %q does not contain %q", c.in, err, w)
			}
		}
	}
}

// TestBuildErrors: specs that parse but do not fit the input shape fail
// with the token, its column and the shapes.
func TestBuildErrors(t *testing.T) {
	cases := []struct {
		in     string
		shape  []int
		column int
		want   []string
	}{
		{"conv(8,3) linear(10)", []int{1, 28, 28}, 11, []string{"linear(10)", "[8 26 26]", "put flatten before it"}},
		{"conv(8,3)", []int{784}, 1, []string{"conv needs input [C, H, W]", "[784]"}},
		{"conv(8,5)", []int{1, 3, 3}, 1, []string{"too small"}},
		{"conv(8,3,groups=2)", []int{3, 8, 8}, 1, []string{"groups 2 must divide"}},
		{"maxpool(2,pad=2)", []int{1, 8, 8}, 1, []string{"padding 2"}},
		{"relu maxpool(9)", []int{1, 8, 8}, 6, []string{"too small"}},
		{"flatten batchnorm(momentum=0.5) globalavgpool", []int{1, 4, 4}, 33, []string{"global average pooling needs input [C, H, W]"}},
		{"layernorm(dims=3)", []int{4, 4}, 1, []string{"last 3 dimensions"}},
		{"softmax(dim=3)", []int{4}, 1, []string{"dimension 3"}},
		{"flatten linear(100000)", []int{3, 100, 100}, 9, []string{"more than"}},
	}
	for _, c := range cases {
		_, err := nn.Build(c.in, c.shape, nn.MaxSize(1<<24))
		var se *nn.SpecError
		if !errors.As(err, &se) {
			t.Errorf("Build(%q, %v): error %v, want a *SpecError", c.in, c.shape, err)
			continue
		}
		if se.Column != c.column {
			t.Errorf("Build(%q): column %d, want %d (%v)", c.in, se.Column, c.column, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Build(%q): %q does not contain %q", c.in, err, w)
			}
		}
	}
	if _, err := nn.Build("relu", nil); err == nil {
		t.Error("Build accepted an empty input shape")
	}
	if _, err := nn.Build("relu", []int{2}, nn.Padding(1)); err == nil || !strings.Contains(err.Error(), "Padding") {
		t.Errorf("Build with a layer option: %v", err)
	}
}

// TestBuildInfersSizes: only output sizes are given; the layers get the
// input sizes from the sample shape.
func TestBuildInfersSizes(t *testing.T) {
	m, err := nn.Build("conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu maxpool(2) flatten linear(128) relu linear(10)", []int{1, 28, 28}, nn.Seed(1))
	if err != nil {
		t.Fatal(err)
	}
	var shapes [][]int
	for _, p := range nn.NamedParameters(m) {
		shapes = append(shapes, p.Value.Shape())
	}
	want := [][]int{{32, 1, 3, 3}, {32}, {64, 32, 3, 3}, {64}, {128, 3136}, {128}, {10, 128}, {10}}
	if !slices.EqualFunc(shapes, want, slices.Equal) {
		t.Errorf("parameter shapes %v, want %v", shapes, want)
	}
	if n := nn.NumParameters(m); n != 421642 {
		t.Errorf("%d parameters, want 421642", n)
	}
	bn, err := nn.Build("batchnorm flatten batchnorm", []int{3, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	if bn.Layers[0].(*nn.BatchNormModule).Dims != 2 || bn.Layers[2].(*nn.BatchNormModule).NumFeatures != 12 {
		t.Errorf("batchnorm dims: %v", bn)
	}
}

// TestSummary: rows for each layer with its state_dict name, output shape
// and parameters, and the totals; buffers count as non-trainable.
func TestSummary(t *testing.T) {
	m, err := nn.Build("conv(4,3,pad=1) batchnorm relu flatten linear(2)", []int{1, 5, 5})
	if err != nil {
		t.Fatal(err)
	}
	m.Layers[4].(*nn.LinearModule).Bias.SetRequiresGrad(false)
	s, err := nn.Summary(m, []int{1, 5, 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"0 (Conv2d)", "[N, 4, 5, 5]", "1 (BatchNorm)", "17", "4 (Linear)", "[N, 2]", "202",
		"Total params: 259", "Trainable params: 248", "Non-trainable params: 11"} {
		if !strings.Contains(s, w) {
			t.Errorf("summary lacks %q:\n%s", w, s)
		}
	}
	// A custom module without shape inference is run once; its running
	// statistics are put back.
	bn := nn.BatchNorm1d(3)
	custom := nn.Sequential(&block{a: nn.Linear(2, 3), b: bn})
	if s, err = nn.Summary(custom, []int{2}); err != nil || !strings.Contains(s, "0 (block)") || !strings.Contains(s, "[N, 3]") {
		t.Errorf("summary of a custom module: %v\n%s", err, s)
	}
	if bn.NumBatchesTracked.Item() != 0 || bn.RunningVar.Data()[0] != 1 {
		t.Error("Summary changed the model's buffers")
	}
	if _, err := nn.Summary(m, []int{2, 5, 5}); err == nil || !strings.Contains(err.Error(), "layer 0") {
		t.Errorf("summary with a wrong input shape: %v", err)
	}
}

func TestPresetAdapts(t *testing.T) {
	cases := []struct {
		name    string
		shape   []int
		outputs int
		want    string // a substring of the spec
		params  int    // parameters of the built model; 0 to skip
	}{
		{"mlp", []int{1, 28, 28}, 10, "linear(128) relu linear(10)", 235146},
		{"mlp", []int{4}, 3, "linear(128) relu linear(3)", 0},
		{"cnn", []int{1, 28, 28}, 10, "maxpool(2) flatten linear(128)", 0},
		{"cnn", []int{3, 64, 64}, 2, "conv(64,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten", 0},
	}
	for _, c := range cases {
		spec, err := nn.Preset(c.name, c.shape, c.outputs)
		if err != nil || !strings.Contains(spec, c.want) {
			t.Errorf("Preset(%s, %v, %d) = %q, %v; want it to contain %q", c.name, c.shape, c.outputs, spec, err, c.want)
			continue
		}
		m, err := nn.Build(spec, c.shape)
		if err != nil {
			t.Errorf("Build(%q): %v", spec, err)
			continue
		}
		if c.params > 0 && nn.NumParameters(m) != c.params {
			t.Errorf("%s: %d parameters, want %d", spec, nn.NumParameters(m), c.params)
		}
	}
	if _, err := nn.Preset("cnn", []int{5}, 2); err == nil {
		t.Error("the cnn preset accepted table rows")
	}
}
