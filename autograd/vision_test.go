package autograd_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// The vision ops' finite-difference checks and golden runners join the
// package's lists here, after the existing entries (so that the earlier
// cases keep their seeds), in a file of their own.
func init() {
	gradCases = append(gradCases, visionGradCases...)
	for name, run := range visionGoldenOps {
		goldenOps[name] = run
	}
}

// offKinks draws values at least 0.05 away from the kinks of the hard
// activations (-3, 0, 3, 6 and ±1), over [-8, 8).
func offKinks(s ...int) func(r *rand.Rand) *tensor.Tensor {
	return func(r *rand.Rand) *tensor.Tensor {
		return tensor.FromFunc(func(int) float32 {
			for {
				v := float32(16*r.Float64() - 8)
				ok := true
				for _, k := range []float32{-3, -1, 0, 1, 3, 6} {
					if math.Abs(float64(v-k)) < 0.05 {
						ok = false
					}
				}
				if ok {
					return v
				}
			}
		}, s...)
	}
}

var visionGradCases = []gradCase{
	{op: "Hardtanh", name: "-1,1", inputs: shapes(offKinks(3, 7)), f: func(v []*ag.Value) *ag.Value { return ag.Hardtanh(v[0], -1, 1) }},
	{op: "ReLU6", inputs: shapes(offKinks(3, 7)), f: func(v []*ag.Value) *ag.Value { return ag.ReLU6(v[0]) }},
	{op: "Hardsigmoid", inputs: shapes(offKinks(3, 7)), f: func(v []*ag.Value) *ag.Value { return ag.Hardsigmoid(v[0]) }},
	{op: "Hardswish", inputs: shapes(offKinks(3, 7)), f: func(v []*ag.Value) *ag.Value { return ag.Hardswish(v[0]) }},
	{op: "Mish", inputs: shapes(offKinks(3, 7)), f: func(v []*ag.Value) *ag.Value { return ag.Mish(v[0]) }},
	{op: "AdaptiveAvgPool2d", name: "7x6 to 3x4, overlapping", inputs: shapes(rn(2, 2, 7, 6)),
		f: func(v []*ag.Value) *ag.Value { return ag.AdaptiveAvgPool2d(v[0], 3, 4) }},
	{op: "AdaptiveAvgPool2d", name: "upsampling 2x3 to 5x4", inputs: shapes(rn(1, 2, 2, 3)),
		f: func(v []*ag.Value) *ag.Value { return ag.AdaptiveAvgPool2d(v[0], 5, 4) }},
	{op: "Interpolate", name: "nearest size 5x7", inputs: shapes(rn(2, 2, 3, 4)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.Interpolate(v[0], ag.InterpParams{Mode: tensor.Nearest, Size: [2]int{5, 7}})
		}},
	{op: "Interpolate", name: "nearest-exact scale 0.5", inputs: shapes(rn(1, 2, 6, 5)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.Interpolate(v[0], ag.InterpParams{Mode: tensor.NearestExact, Scale: [2]float64{0.5, 0.5}})
		}},
	{op: "Interpolate", name: "bilinear scale 1.5x2.5", inputs: shapes(rn(2, 2, 3, 4)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.Interpolate(v[0], ag.InterpParams{Mode: tensor.Bilinear, Scale: [2]float64{1.5, 2.5}})
		}},
	{op: "Interpolate", name: "bilinear align corners size 5x3", inputs: shapes(rn(1, 3, 3, 4)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.Interpolate(v[0], ag.InterpParams{Mode: tensor.Bilinear, Size: [2]int{5, 3}, AlignCorners: true})
		}},
	{op: "GroupNorm", name: "2 groups, 3-D input", inputs: shapes(rn(2, 4, 5), rn(4), rn(4)),
		f: func(v []*ag.Value) *ag.Value { return ag.GroupNorm(v[0], 2, v[1], v[2], 1e-5) }},
	{op: "GroupNorm", name: "1 group, no affine", inputs: shapes(rn(2, 3, 2, 2)),
		f: func(v []*ag.Value) *ag.Value { return ag.GroupNorm(v[0], 1, nil, nil, 1e-5) }},
	{op: "RMSNorm", name: "last 2 dims", inputs: shapes(rn(2, 3, 4), rn(3, 4)),
		f: func(v []*ag.Value) *ag.Value { return ag.RMSNorm(v[0], []int{3, 4}, v[1], 1e-6) }},
	{op: "ConvTranspose2d", name: "s2 p1 op1 groups 2 dilation 2", inputs: shapes(rn(2, 4, 3, 4), rn(4, 3, 3, 2), rn(6)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.ConvTranspose2d(v[0], v[1], v[2], ag.ConvTransposeParams{Stride: [2]int{2, 3}, Padding: [2]int{1, 0},
				OutputPadding: [2]int{1, 2}, Dilation: [2]int{2, 1}, Groups: 2})
		}},
	{op: "ConvTranspose2d", name: "output padding above stride, below dilation", inputs: shapes(rn(1, 2, 3, 3), rn(2, 2, 2, 2)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.ConvTranspose2d(v[0], v[1], nil, ag.ConvTransposeParams{OutputPadding: [2]int{1, 0}, Dilation: [2]int{2, 1}})
		}},
}

// visionGoldenOps runs the ops of vision.json; the attributes are those of
// torch.nn.functional.
var visionGoldenOps = map[string]func(a *goldenArgs) *ag.Value{
	"group_norm": func(a *goldenArgs) *ag.Value {
		return ag.GroupNorm(a.v("x"), a.int("num_groups", 1), a.v("weight"), a.v("bias"), float32(a.float("eps", 1e-5)))
	},
	"rms_norm": func(a *goldenArgs) *ag.Value {
		return ag.RMSNorm(a.v("x"), a.ints("normalized_shape"), a.v("weight"), float32(a.float("eps", 1.1920928955078125e-07)))
	},
	"adaptive_avg_pool2d": func(a *goldenArgs) *ag.Value {
		x := a.order[0]
		s := a.ints("output_size")
		if len(s) == 1 {
			s = append(s, s[0])
		}
		// None in output_size keeps the input's size there.
		if raw, _ := a.attr("output_size"); raw != nil {
			if l, ok := raw.([]any); ok {
				for i, e := range l {
					if e == nil {
						s[i] = x.Shape()[2+i]
					}
				}
			}
		}
		return ag.AdaptiveAvgPool2d(x, s[0], s[1])
	},
	"hardtanh": func(a *goldenArgs) *ag.Value {
		return ag.Hardtanh(a.order[0], float32(a.float("min_val", -1)), float32(a.float("max_val", 1)))
	},
	"relu6":       func(a *goldenArgs) *ag.Value { return ag.ReLU6(a.order[0]) },
	"hardswish":   func(a *goldenArgs) *ag.Value { return ag.Hardswish(a.order[0]) },
	"hardsigmoid": func(a *goldenArgs) *ag.Value { return ag.Hardsigmoid(a.order[0]) },
	"mish":        func(a *goldenArgs) *ag.Value { return ag.Mish(a.order[0]) },
	"conv_transpose2d": func(a *goldenArgs) *ag.Value {
		p := ag.ConvTransposeParams{Stride: a.pair("stride", 1), Padding: a.pair("padding", 0),
			OutputPadding: a.pair("output_padding", 0), Dilation: a.pair("dilation", 1), Groups: a.int("groups", 1)}
		return ag.ConvTranspose2d(a.v("x"), a.v("weight"), a.v("bias"), p)
	},
	"interpolate": func(a *goldenArgs) *ag.Value {
		x := a.order[0]
		mode := a.str("mode", "nearest")
		var p ag.InterpParams
		if size := a.ints("size"); len(size) > 0 {
			p.Size = [2]int{size[0], size[len(size)-1]}
		}
		if raw, ok := a.attr("scale_factor"); ok && raw != nil {
			switch s := raw.(type) {
			case float64:
				p.Scale = [2]float64{s, s}
			case []any:
				p.Scale = [2]float64{s[0].(float64), s[len(s)-1].(float64)}
			}
		}
		if a.bool("recompute_scale_factor", false) && p.Scale != [2]float64{} {
			// The coordinates then map through in/out, as with a size.
			h, w := x.Shape()[2], x.Shape()[3]
			p.Size = [2]int{int(math.Floor(float64(h) * p.Scale[0])), int(math.Floor(float64(w) * p.Scale[1]))}
			p.Scale = [2]float64{}
		}
		if a.bool("antialias", false) {
			panic("antialias is not supported")
		}
		switch mode {
		case "area":
			a.attr("align_corners")
			size, err := p.OutputSize(x.Shape()[2], x.Shape()[3])
			if err != nil {
				panic(err)
			}
			return ag.AdaptiveAvgPool2d(x, size[0], size[1])
		case "nearest", "nearest-exact":
			a.attr("align_corners") // PyTorch accepts only None for these
		}
		m, err := tensor.ParseInterpMode(mode)
		if err != nil {
			panic(err)
		}
		p.Mode = m
		p.AlignCorners = a.bool("align_corners", false)
		return ag.Interpolate(x, p)
	},
}

// TestConvTransposeIsConvGradient checks ConvTranspose2d against its
// definition independently of the kernels: for y = convT(x, W),
// <y, u> = <x, conv2d(u, W)> for every u, since the two are adjoint.
func TestConvTransposeIsConvGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, p := range []ag.ConvTransposeParams{
		{},
		{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, OutputPadding: [2]int{1, 1}},
		{Stride: [2]int{3, 1}, Dilation: [2]int{1, 2}, Groups: 3},
	} {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			x := ag.Const(randn(r, 2, 6, 4, 3).To(tensor.Float64))
			w := ag.Const(randn(r, 6, 2, 3, 3).To(tensor.Float64))
			y := ag.ConvTranspose2d(x, w, nil, p)
			u := randn(r, y.Shape()...).To(tensor.Float64)
			cu := tensor.Conv2d(u, w.Data, nil, tensor.ConvParams{Stride: p.Stride, Padding: p.Padding, Dilation: p.Dilation, Groups: p.Groups})
			var lhs, rhs float64
			for i := range u.Size() {
				lhs += y.Data.Float(i) * u.Float(i)
			}
			for i := range x.Data.Size() {
				rhs += x.Data.Float(i) * cu.Float(i)
			}
			if math.Abs(lhs-rhs) > 1e-9*(1+math.Abs(rhs)) {
				t.Errorf("<convT(x), u> = %v, <x, conv(u)> = %v", lhs, rhs)
			}
		})
	}
}
