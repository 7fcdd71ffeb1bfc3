package nn_test

import (
	"slices"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// TestVisionLayerGradients checks the vision layers with parameters, and a
// stack of the others, against finite differences in float32 and float64,
// as TestLayerGradients does.
func TestVisionLayerGradients(t *testing.T) {
	cases := []struct {
		name  string
		layer func() nn.Module
		input []int
	}{
		{"GroupNorm", func() nn.Module { return randomAffine(nn.GroupNorm(2, 4), 21) }, []int{2, 4, 3, 3}},
		{"GroupNorm/3d", func() nn.Module { return randomAffine(nn.GroupNorm(3, 6, nn.Eps(1e-3)), 22) }, []int{2, 6, 4}},
		{"RMSNorm", func() nn.Module { return randomAffine(nn.RMSNorm([]int{2, 3}), 23) }, []int{2, 2, 3}},
		{"ConvTranspose2d", func() nn.Module {
			return nn.ConvTranspose2d(4, 6, 3, nn.Stride(2), nn.Padding(1), nn.OutputPadding(1), nn.Groups(2), nn.Seed(24))
		}, []int{2, 4, 3, 3}},
		{"ConvTranspose2d/no-bias-dilation", func() nn.Module {
			return nn.ConvTranspose2d(2, 3, 2, nn.Dilation(2), nn.NoBias(), nn.Seed(25))
		}, []int{1, 2, 3, 4}},
		{"Sequential/activations-pool-upsample", func() nn.Module {
			return nn.Sequential(nn.Conv2d(2, 3, 3, nn.Padding(1), nn.Seed(26)), nn.Mish(), nn.Hardswish(),
				nn.Upsample(ag.InterpParams{Mode: tensor.Bilinear, Scale: [2]float64{1.5, 1.5}}),
				nn.AdaptiveAvgPool2d(2, 3), nn.Hardsigmoid(), nn.Flatten(), nn.Linear(18, 4, nn.Seed(27)), nn.Hardtanh(-0.5, 0.5), nn.ReLU6())
		}, []int{2, 2, 4, 4}},
	}
	precisions := []struct {
		dtype    tensor.DType
		eps      float64
		rel, abs float64
	}{{tensor.Float32, 1e-2, 2e-2, 2e-2}, {tensor.Float64, 1e-6, 1e-6, 1e-8}}
	for _, p := range precisions {
		for i, c := range cases {
			t.Run(p.dtype.String()+"/"+c.name, func(t *testing.T) {
				layerGradCheck(t, 100+i, c.layer, c.input, 0, p.dtype, p.eps, p.rel, p.abs)
			})
		}
	}
}

// TestVisionSpecTokens builds each token, checks its canonical spec,
// state_dict and output shape, and that InferShapes agrees without
// building.
func TestVisionSpecTokens(t *testing.T) {
	cases := []struct {
		spec, canonical string
		in, out         []int
		state           []string
	}{
		{"groupnorm(2)", "groupnorm(2)", []int{4, 3, 3}, []int{4, 3, 3}, []string{"0.weight", "0.bias"}},
		{"groupnorm(3,eps=0.001,affine=0)", "groupnorm(3,eps=0.001,affine=0)", []int{6, 5}, []int{6, 5}, nil},
		{"rmsnorm", "rmsnorm", []int{2, 3}, []int{2, 3}, []string{"0.weight"}},
		{"rmsnorm(dims=1,eps=1e-6)", "rmsnorm(dims=1,eps=1e-06)", []int{2, 3}, []int{2, 3}, []string{"0.weight"}},
		{"adaptiveavgpool(1)", "adaptiveavgpool(1)", []int{3, 7, 5}, []int{3, 1, 1}, nil},
		{"adaptiveavgpool(3,2)", "adaptiveavgpool(3,2)", []int{3, 7, 5}, []int{3, 3, 2}, nil},
		{"hardtanh(min=0,max=6)", "hardtanh(min=0,max=6)", []int{4}, []int{4}, nil},
		{"relu6 hardswish hardsigmoid mish", "relu6 hardswish hardsigmoid mish", []int{4}, []int{4}, nil},
		{"convtranspose(8,3,stride=2,pad=1,outpad=1)", "convtranspose(8,3,stride=2,pad=1,outpad=1)", []int{4, 5, 6}, []int{8, 10, 12},
			[]string{"0.weight", "0.bias"}},
		{"convtranspose(4,2,groups=2,bias=0)", "convtranspose(4,2,groups=2,bias=0)", []int{2, 3, 3}, []int{4, 4, 4}, []string{"0.weight"}},
		{"upsample", "upsample", []int{2, 3, 4}, []int{2, 6, 8}, nil},
		{"upsample(1.5,mode=bilinear,align_corners=1)", "upsample(1.5,mode=bilinear,align_corners=1)", []int{2, 3, 4}, []int{2, 4, 6}, nil},
		{"upsample(h=5,w=7,mode=nearest_exact)", "upsample(h=5,w=7,mode=nearest_exact)", []int{2, 3, 4}, []int{2, 5, 7}, nil},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			m, err := nn.Build(c.spec, c.in, nn.Seed(1))
			if err != nil {
				t.Fatal(err)
			}
			if s, err := nn.SpecOf(m); err != nil || s != c.canonical {
				t.Errorf("spec %q (%v), want %q", s, err, c.canonical)
			}
			var names []string
			for _, p := range nn.NamedParameters(m) {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, c.state) {
				t.Errorf("parameters %v, want %v", names, c.state)
			}
			out, err := m.OutputShape(c.in)
			if err != nil || !slices.Equal(out, c.out) {
				t.Errorf("output shape %v (%v), want %v", out, err, c.out)
			}
			shapes, err := nn.InferShapes(c.spec, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := shapes.Output(); !slices.Equal(got, c.out) {
				t.Errorf("InferShapes output %v, want %v", got, c.out)
			}
			if shapes.NumElements() != nn.NumParameters(m) {
				t.Errorf("InferShapes counts %d elements, the model has %d", shapes.NumElements(), nn.NumParameters(m))
			}
			y := m.Forward(ag.Const(randn(newRand(3), append([]int{2}, c.in...)...)))
			if !slices.Equal(y.Shape()[1:], c.out) {
				t.Errorf("forward gives %v, want [2 %v]", y.Shape(), c.out)
			}
		})
	}
	for spec, msg := range map[string]string{
		"groupnorm(3)":                           "do not divide",
		"convtranspose(4,3,stride=2,outpad=2)":   "output padding",
		"upsample(mode=nearest,align_corners=1)": "align_corners",
		"upsample(h=3)":                          "both h and w",
		"hardtanh(min=2,max=1)":                  "above max",
	} {
		if _, err := nn.Build(spec, []int{4, 5, 5}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %v, want one saying %q", spec, err, msg)
		}
	}
}
