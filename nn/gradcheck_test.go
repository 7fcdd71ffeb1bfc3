package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

func randn(r *rand.Rand, shape ...int) *tensor.Tensor {
	return tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, shape...)
}

// TestLayerGradients checks every layer with parameters, in training mode,
// against central finite differences of L = Σ layer(x)·w for a random w:
// the gradients of the input and of every parameter.
func TestLayerGradients(t *testing.T) {
	cases := []struct {
		name  string
		layer func() nn.Module
		input []int
		ints  int // > 0: the input holds indices below this (Embedding)
	}{
		{"Linear", func() nn.Module { return nn.Linear(5, 3, nn.Seed(1)) }, []int{4, 5}, 0},
		{"Linear/3d-input", func() nn.Module { return nn.Linear(4, 2, nn.Seed(2)) }, []int{2, 3, 4}, 0},
		{"Linear/no-bias", func() nn.Module { return nn.Linear(3, 2, nn.NoBias(), nn.Seed(3)) }, []int{2, 3}, 0},
		{"Conv2d", func() nn.Module { return nn.Conv2d(2, 3, 3, nn.Seed(4)) }, []int{2, 2, 5, 5}, 0},
		{"Conv2d/stride-pad", func() nn.Module { return nn.Conv2d(2, 2, 3, nn.Stride(2), nn.Padding(1), nn.Seed(5)) }, []int{1, 2, 6, 5}, 0},
		{"Conv2d/dilation-groups-nobias", func() nn.Module {
			return nn.Conv2d(4, 2, 2, nn.Dilation(2), nn.Groups(2), nn.NoBias(), nn.Seed(6))
		}, []int{2, 4, 5, 5}, 0},
		{"BatchNorm1d", func() nn.Module { return randomAffine(nn.BatchNorm1d(3), 7) }, []int{5, 3}, 0},
		{"BatchNorm1d/NCL", func() nn.Module { return randomAffine(nn.BatchNorm1d(2), 8) }, []int{3, 2, 4}, 0},
		{"BatchNorm2d", func() nn.Module { return randomAffine(nn.BatchNorm2d(2), 9) }, []int{3, 2, 3, 3}, 0},
		{"LayerNorm", func() nn.Module { return randomAffine(nn.LayerNorm([]int{4}), 10) }, []int{3, 4}, 0},
		{"LayerNorm/2d", func() nn.Module { return randomAffine(nn.LayerNorm([]int{2, 3}), 11) }, []int{2, 2, 3}, 0},
		{"Embedding", func() nn.Module { return nn.Embedding(6, 3, nn.Seed(12)) }, []int{2, 4}, 6},
		{"Sequential", func() nn.Module {
			return nn.Sequential(nn.Conv2d(1, 2, 3, nn.Padding(1), nn.Seed(13)), nn.Tanh(), nn.AvgPool2d(2),
				nn.Flatten(), nn.Linear(8, 3, nn.Seed(14)), nn.GELU())
		}, []int{2, 1, 4, 4}, 0},
		// Appended: a case's input is seeded by its index.
		{"LSTM/2-layer-bidirectional", func() nn.Module {
			return nn.LSTM(3, 2, nn.RNNOptions{NumLayers: 2, Bidirectional: true}, nn.Seed(15))
		}, []int{2, 3, 3}, 0},
		{"GRU", func() nn.Module { return nn.GRU(2, 3, nn.RNNOptions{}, nn.Seed(16)) }, []int{2, 3, 2}, 0},
		{"RNN/time-major-no-bias", func() nn.Module {
			return nn.RNN(2, 3, nn.RNNOptions{TimeMajor: true, NoBias: true}, nn.Seed(17))
		}, []int{3, 2, 2}, 0},
		{"MultiheadAttention/causal", func() nn.Module {
			return randomBiases(nn.MultiheadAttention(4, 2, nn.AttentionOptions{Causal: true}, nn.Seed(18)), 19)
		}, []int{2, 3, 4}, 0},
		{"TransformerEncoderLayer/pre-norm-gelu-causal", func() nn.Module {
			return randomBiases(nn.TransformerEncoderLayer(4, 2, 6, nn.TransformerOptions{NormFirst: true, Activation: "gelu", Causal: true}, nn.Seed(20)), 21)
		}, []int{2, 3, 4}, 0},
		// A draw with no ReLU input within the float32 step of its kink.
		{"TransformerEncoderLayer/post-norm-relu", func() nn.Module {
			return randomBiases(nn.TransformerEncoderLayer(4, 1, 5, nn.TransformerOptions{}, nn.Seed(24)), 25)
		}, []int{2, 3, 4}, 0},
	}
	// float32 is the second guard at the working precision; float64 is
	// the tight check (a step of 1e-6, 1e-6 relative), with the model
	// converted by nn.Convert and Embedding fed Int64 indices.
	precisions := []struct {
		dtype    tensor.DType
		eps      float64
		rel, abs float64
	}{{tensor.Float32, 1e-2, 2e-2, 2e-2}, {tensor.Float64, 1e-6, 1e-6, 1e-8}}
	for _, p := range precisions {
		for i, c := range cases {
			t.Run(p.dtype.String()+"/"+c.name, func(t *testing.T) {
				layerGradCheck(t, i, c.layer, c.input, c.ints, p.dtype, p.eps, p.rel, p.abs)
			})
		}
	}
}

// layerGradCheck is one case of TestLayerGradients in one precision.
func layerGradCheck(t *testing.T, i int, layer func() nn.Module, input []int, ints int, dt tensor.DType, eps, rel, abs float64) {
	{
		{
			r := rand.New(rand.NewPCG(uint64(i), 99))
			m := layer()
			nn.Convert(m, dt)
			nn.Train(m)
			c := struct{ ints int }{ints}
			var x *tensor.Tensor
			if c.ints > 0 {
				x = tensor.FromFunc(func(int) float32 { return float32(r.IntN(c.ints)) }, input...)
				if dt == tensor.Float64 {
					x = x.To(tensor.Int64)
				}
			} else {
				x = randn(r, input...).To(dt)
			}
			in := ag.Param(x)
			if c.ints > 0 {
				in = ag.Const(x)
			}
			// BatchNorm's running statistics change on every training
			// Forward; they do not enter the training-mode output, so the
			// finite differences are unaffected.
			out := m.Forward(in)
			if out.Data.DType() != dt {
				t.Fatalf("a %v model gives a %v output", dt, out.Data.DType())
			}
			w := randn(r, out.Shape()...).To(dt)
			out.BackwardWith(w)
			loss := func() float64 {
				y := m.Forward(ag.Detached(in))
				s := 0.0
				for k := range y.Data.Size() {
					s += y.Data.Float(k) * w.Float(k)
				}
				return s
			}
			set := func(t *tensor.Tensor, k int, v float64) {
				if dt == tensor.Float64 {
					t.Data64()[k] = v
				} else {
					t.Data()[k] = float32(v)
				}
			}
			check := func(what string, v *ag.Value) {
				if v.Grad == nil {
					t.Fatalf("%s: no gradient", what)
				}
				for k := range v.Data.Size() {
					orig := v.Data.Float(k)
					set(v.Data, k, orig+eps)
					up := loss()
					set(v.Data, k, orig-eps)
					down := loss()
					set(v.Data, k, orig)
					num := (up - down) / (2 * eps)
					got := v.Grad.Float(k)
					if math.Abs(got-num) > abs+rel*math.Abs(num) {
						t.Errorf("%s element %d: backward %.9g, finite difference %.9g", what, k, got, num)
					}
				}
			}
			if c.ints == 0 {
				check("input", in)
			}
			params := nn.NamedParameters(m)
			if len(params) == 0 {
				t.Fatal("no parameters")
			}
			for _, p := range params {
				check(p.Name, p.Value)
			}
		}
	}
}

// randomAffine gives a norm layer non-trivial weight and bias, so that
// their gradients are checked away from the identity.
func randomAffine(m nn.Module, seed uint64) nn.Module {
	r := rand.New(rand.NewPCG(seed, 1))
	for _, p := range nn.Parameters(m) {
		for i := range p.Data.Data() {
			p.Data.Data()[i] = float32(0.5 + r.Float64())
		}
	}
	return m
}

// randomBiases draws the parameters that start at 0 or 1 (attention
// biases, layer norms) from N(0, 0.5²)·(1 + ...), so that their gradients
// are checked away from a special point.
func randomBiases(m nn.Module, seed uint64) nn.Module {
	r := rand.New(rand.NewPCG(seed, 1))
	for _, p := range nn.Parameters(m) {
		if p.Data.Dims() == 1 {
			for i := range p.Data.Data() {
				p.Data.Data()[i] += float32(0.5 * r.NormFloat64())
			}
		}
	}
	return m
}
