package autograd_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// gradCase is one finite-difference check: inputs made from a seeded
// generator and the op applied to them. Every input is checked.
type gradCase struct {
	op     string // the exported function under test
	name   string
	inputs func(r *rand.Rand) []*tensor.Tensor
	f      func(in []*ag.Value) *ag.Value
}

func randn(r *rand.Rand, shape ...int) *tensor.Tensor {
	return tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, shape...)
}

// positive draws from [0.5, 2) for ops defined on positive numbers.
func positive(r *rand.Rand, shape ...int) *tensor.Tensor {
	return tensor.FromFunc(func(int) float32 { return 0.5 + 1.5*r.Float32() }, shape...)
}

// awayFromZero draws |x| in [0.1, 2) so kinks at 0 are not straddled.
func awayFromZero(r *rand.Rand, shape ...int) *tensor.Tensor {
	return tensor.FromFunc(func(int) float32 {
		v := 0.1 + 1.9*r.Float32()
		if r.IntN(2) == 0 {
			return -v
		}
		return v
	}, shape...)
}

func shapes(fs ...func(r *rand.Rand) *tensor.Tensor) func(r *rand.Rand) []*tensor.Tensor {
	return func(r *rand.Rand) []*tensor.Tensor {
		out := make([]*tensor.Tensor, len(fs))
		for i, f := range fs {
			out[i] = f(r)
		}
		return out
	}
}

func rn(s ...int) func(r *rand.Rand) *tensor.Tensor {
	return func(r *rand.Rand) *tensor.Tensor { return randn(r, s...) }
}
func pos(s ...int) func(r *rand.Rand) *tensor.Tensor {
	return func(r *rand.Rand) *tensor.Tensor { return positive(r, s...) }
}
func nz(s ...int) func(r *rand.Rand) *tensor.Tensor {
	return func(r *rand.Rand) *tensor.Tensor { return awayFromZero(r, s...) }
}

// distinct draws a permutation of well-separated values, so max and
// max-pooling have a unique winner that a small step does not change.
func distinct(s ...int) func(r *rand.Rand) *tensor.Tensor {
	return func(r *rand.Rand) *tensor.Tensor {
		n := 1
		for _, d := range s {
			n *= d
		}
		p := r.Perm(n)
		return tensor.FromFunc(func(i int) float32 { return float32(p[i]) * 0.1 }, s...)
	}
}

var gradCases = []gradCase{
	{op: "Add", name: "broadcast", inputs: shapes(rn(3, 4), rn(4)), f: func(v []*ag.Value) *ag.Value { return ag.Add(v[0], v[1]) }},
	{op: "Sub", name: "broadcast", inputs: shapes(rn(3, 1), rn(2, 1, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Sub(v[0], v[1]) }},
	{op: "Mul", name: "broadcast", inputs: shapes(rn(2, 3, 4), rn(3, 1)), f: func(v []*ag.Value) *ag.Value { return ag.Mul(v[0], v[1]) }},
	{op: "Div", name: "broadcast", inputs: shapes(rn(3, 4), pos(4)), f: func(v []*ag.Value) *ag.Value { return ag.Div(v[0], v[1]) }},
	{op: "Pow", name: "tensor exponent", inputs: shapes(pos(3, 4), rn(4)), f: func(v []*ag.Value) *ag.Value { return ag.Pow(v[0], v[1]) }},
	{op: "PowScalar", name: "2.5", inputs: shapes(pos(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.PowScalar(v[0], 2.5) }},
	{op: "AddScalar", inputs: shapes(rn(5)), f: func(v []*ag.Value) *ag.Value { return ag.AddScalar(v[0], 3) }},
	{op: "MulScalar", inputs: shapes(rn(5)), f: func(v []*ag.Value) *ag.Value { return ag.MulScalar(v[0], -2) }},
	{op: "Neg", inputs: shapes(rn(5)), f: func(v []*ag.Value) *ag.Value { return ag.Neg(v[0]) }},
	{op: "Exp", inputs: shapes(rn(5)), f: func(v []*ag.Value) *ag.Value { return ag.Exp(v[0]) }},
	{op: "Log", inputs: shapes(pos(5)), f: func(v []*ag.Value) *ag.Value { return ag.Log(v[0]) }},
	{op: "Sqrt", inputs: shapes(pos(5)), f: func(v []*ag.Value) *ag.Value { return ag.Sqrt(v[0]) }},
	{op: "Abs", inputs: shapes(nz(5)), f: func(v []*ag.Value) *ag.Value { return ag.Abs(v[0]) }},
	{op: "Tanh", inputs: shapes(rn(5)), f: func(v []*ag.Value) *ag.Value { return ag.Tanh(v[0]) }},
	{op: "Sigmoid", inputs: shapes(rn(5)), f: func(v []*ag.Value) *ag.Value { return ag.Sigmoid(v[0]) }},
	{op: "ReLU", inputs: shapes(nz(5)), f: func(v []*ag.Value) *ag.Value { return ag.ReLU(v[0]) }},
	{op: "LeakyReLU", inputs: shapes(nz(5)), f: func(v []*ag.Value) *ag.Value { return ag.LeakyReLU(v[0], 0.2) }},
	{op: "ELU", inputs: shapes(nz(5)), f: func(v []*ag.Value) *ag.Value { return ag.ELU(v[0], 1.5) }},
	{op: "GELU", name: "exact", inputs: shapes(rn(6)), f: func(v []*ag.Value) *ag.Value { return ag.GELU(v[0], false) }},
	{op: "GELU", name: "tanh", inputs: shapes(rn(6)), f: func(v []*ag.Value) *ag.Value { return ag.GELU(v[0], true) }},
	{op: "SiLU", inputs: shapes(rn(6)), f: func(v []*ag.Value) *ag.Value { return ag.SiLU(v[0]) }},
	{op: "Softplus", inputs: shapes(rn(6)), f: func(v []*ag.Value) *ag.Value { return ag.Softplus(v[0], 2, 20) }},
	{op: "Sum", inputs: shapes(rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Sum(v[0]) }},
	{op: "Mean", inputs: shapes(rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Mean(v[0]) }},
	{op: "SumDims", name: "0,2 keepdim", inputs: shapes(rn(2, 3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.SumDims(v[0], []int{0, -1}, true) }},
	{op: "MeanDims", name: "1", inputs: shapes(rn(2, 3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.MeanDims(v[0], []int{1}, false) }},
	{op: "Max", inputs: shapes(distinct(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Max(v[0]) }},
	{op: "MaxDim", inputs: shapes(distinct(3, 4, 2)), f: func(v []*ag.Value) *ag.Value { return ag.MaxDim(v[0], 1, false) }},
	{op: "LogSumExp", inputs: shapes(rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.LogSumExp(v[0], 0, true) }},
	{op: "Softmax", inputs: shapes(rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Softmax(v[0], -1) }},
	{op: "LogSoftmax", inputs: shapes(rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.LogSoftmax(v[0], 0) }},
	{op: "MatMul", name: "2-D", inputs: shapes(rn(3, 4), rn(4, 5)), f: func(v []*ag.Value) *ag.Value { return ag.MatMul(v[0], v[1]) }},
	{op: "MatMul", name: "batched broadcast", inputs: shapes(rn(2, 3, 4), rn(4, 2)), f: func(v []*ag.Value) *ag.Value { return ag.MatMul(v[0], v[1]) }},
	{op: "MatMul", name: "vector", inputs: shapes(rn(4), rn(2, 4, 3)), f: func(v []*ag.Value) *ag.Value { return ag.MatMul(v[0], v[1]) }},
	{op: "LinearReLU", inputs: shapes(rn(2, 3, 4), rn(5, 4), rn(5)), f: func(v []*ag.Value) *ag.Value { return ag.LinearReLU(v[0], v[1], v[2]) }},
	{op: "Linear", inputs: shapes(rn(2, 3, 4), rn(5, 4), rn(5)), f: func(v []*ag.Value) *ag.Value { return ag.Linear(v[0], v[1], v[2]) }},
	{op: "Reshape", inputs: shapes(rn(2, 6)), f: func(v []*ag.Value) *ag.Value { return ag.Mul(ag.Reshape(v[0], 3, -1), ag.Reshape(v[0], 3, 4)) }},
	{op: "Flatten", inputs: shapes(rn(2, 3, 2)), f: func(v []*ag.Value) *ag.Value { return ag.Flatten(v[0]) }},
	{op: "Permute", inputs: shapes(rn(2, 3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Permute(v[0], 2, 0, 1) }},
	{op: "Transpose", inputs: shapes(rn(2, 3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Transpose(v[0], 0, -1) }},
	{op: "Concat", inputs: shapes(rn(2, 3), rn(2, 1)), f: func(v []*ag.Value) *ag.Value { return ag.Concat(1, v[0], v[1], v[0]) }},
	{op: "Narrow", inputs: shapes(rn(4, 3)), f: func(v []*ag.Value) *ag.Value { return ag.Narrow(v[0], 0, -3, 2) }},
	{op: "Conv2dReLU", name: "pad 1 stride 2", inputs: shapes(rn(2, 3, 5, 6), rn(4, 3, 3, 3), rn(4)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.Conv2dReLU(v[0], v[1], v[2], ag.ConvParams{Stride: [2]int{2, 1}, Padding: [2]int{1, 1}})
		}},
	{op: "Conv2d", name: "stride 2 pad 1 dilation 2 groups 2", inputs: shapes(rn(2, 4, 7, 6), rn(6, 2, 3, 2), rn(6)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.Conv2d(v[0], v[1], v[2], ag.ConvParams{Stride: [2]int{2, 1}, Padding: [2]int{1, 2}, Dilation: [2]int{2, 1}, Groups: 2})
		}},
	{op: "MaxPool2d", name: "k3 s2 p1 ceil", inputs: shapes(distinct(2, 2, 7, 6)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.MaxPool2d(v[0], ag.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, CeilMode: true})
		}},
	{op: "AvgPool2d", name: "k3 s2 p1 exclude pad", inputs: shapes(rn(2, 2, 7, 6)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.AvgPool2d(v[0], ag.PoolParams{Kernel: [2]int{3, 2}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, CeilMode: true})
		}},
	{op: "BatchNorm", name: "training 2-D", inputs: shapes(rn(4, 3, 2, 2), rn(3), rn(3)),
		f: func(v []*ag.Value) *ag.Value { return ag.BatchNorm(v[0], v[1], v[2], nil, nil, true, 0.1, 1e-5) }},
	{op: "BatchNorm", name: "eval", inputs: shapes(rn(4, 3), rn(3), rn(3)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.BatchNorm(v[0], v[1], v[2], tensor.New([]float32{0.1, -0.2, 0.3}, 3), tensor.New([]float32{1, 2, 0.5}, 3), false, 0.1, 1e-5)
		}},
	{op: "LayerNorm", inputs: shapes(rn(3, 2, 4), rn(2, 4), rn(2, 4)),
		f: func(v []*ag.Value) *ag.Value { return ag.LayerNorm(v[0], []int{2, 4}, v[1], v[2], 1e-5) }},
	{op: "Embedding", inputs: shapes(rn(5, 3)),
		f: func(v []*ag.Value) *ag.Value { return ag.Embedding(v[0], []int{1, 4, 1, 0}, []int{2, 2}, -1) }},
	{op: "Dropout", inputs: shapes(rn(4, 5)),
		f: func(v []*ag.Value) *ag.Value { return ag.Dropout(v[0], 0.3, true, rand.New(rand.NewPCG(1, 2))) }},
	{op: "CrossEntropy", name: "spatial, smoothing, weights, ignore", inputs: shapes(rn(2, 3, 2)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.CrossEntropy(v[0], []int{0, 2, 1, -100}, ag.LabelSmoothing(0.2), ag.ClassWeights(tensor.New([]float32{1, 2, 0.5}, 3)))
		}},
	{op: "NLLLoss", name: "sum", inputs: shapes(rn(3, 4)),
		f: func(v []*ag.Value) *ag.Value { return ag.NLLLoss(v[0], []int{3, 0, 1}, ag.WithReduction(ag.ReduceSum)) }},
	{op: "MSELoss", inputs: shapes(rn(3, 4), rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.MSELoss(v[0], v[1]) }},
	{op: "L1Loss", inputs: shapes(nz(3, 4), tensorZeros(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.L1Loss(v[0], v[1]) }},
	{op: "HuberLoss", name: "none", inputs: shapes(nz(3, 4), tensorZeros(3, 4)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.HuberLoss(v[0], v[1], ag.Delta(0.5), ag.WithReduction(ag.ReduceNone))
		}},
	{op: "BCEWithLogits", name: "pos weight", inputs: shapes(rn(3, 4), pos(3, 4)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.BCEWithLogits(v[0], v[1], ag.PosWeight(tensor.New([]float32{1, 2, 3, 0.5}, 4)))
		}},
	// Last in the list: a case's inputs depend on its index, and many draws
	// put a ReLU or pooling kink within eps of an input for this op (the
	// unfused ops fail the same draws); this draw has none.
	{op: "Conv2dReLUMaxPool2d", name: "2×2 pooling", inputs: shapes(rn(2, 2, 6, 5), rn(3, 2, 3, 3), rn(3)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.Conv2dReLUMaxPool2d(v[0], v[1], v[2], ag.ConvParams{Padding: [2]int{1, 1}}, ag.PoolParams{Kernel: [2]int{2, 2}})
		}},
	// Appended, not inserted: a case's inputs are seeded by its index.
	{op: "MatMulNT", name: "2-D", inputs: shapes(rn(3, 4), rn(5, 4)), f: func(v []*ag.Value) *ag.Value { return ag.MatMulNT(v[0], v[1]) }},
	{op: "MatMulNT", name: "batched", inputs: shapes(rn(2, 3, 4), rn(2, 5, 4)), f: func(v []*ag.Value) *ag.Value { return ag.MatMulNT(v[0], v[1]) }},
	{op: "MatMulNT", name: "batched broadcast", inputs: shapes(rn(2, 2, 3, 4), rn(5, 4)), f: func(v []*ag.Value) *ag.Value { return ag.MatMulNT(v[0], v[1]) }},
	{op: "MatMulTN", name: "2-D", inputs: shapes(rn(4, 3), rn(4, 5)), f: func(v []*ag.Value) *ag.Value { return ag.MatMulTN(v[0], v[1]) }},
	{op: "MatMulTN", name: "batched", inputs: shapes(rn(2, 4, 3), rn(2, 4, 5)), f: func(v []*ag.Value) *ag.Value { return ag.MatMulTN(v[0], v[1]) }},
	{op: "MatMulTN", name: "batched broadcast", inputs: shapes(rn(4, 3), rn(3, 4, 5)), f: func(v []*ag.Value) *ag.Value { return ag.MatMulTN(v[0], v[1]) }},
	// The indexing ops: indices and masks are Int64 tensors.
	{op: "Gather", name: "dim 1, repeats", inputs: shapes(rn(3, 4)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.Gather(v[0], 1, tensor.FromInts([]int{0, 3, 3, 1, 2, 0, 0, 0, 1}, 3, 3))
		}},
	{op: "IndexSelect", name: "dim -1, repeats", inputs: shapes(rn(2, 3, 4)),
		f: func(v []*ag.Value) *ag.Value { return ag.IndexSelect(v[0], -1, tensor.FromInts([]int{3, 0, 3}, 3)) }},
	{op: "MaskedFill", name: "broadcast mask", inputs: shapes(rn(3, 4)),
		f: func(v []*ag.Value) *ag.Value { return ag.MaskedFill(v[0], tensor.FromInts([]int{1, 0, 0, 1}, 4), -1.5) }},
	{op: "Where", name: "broadcast", inputs: shapes(rn(3, 4), rn(4)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.Where(tensor.FromInts([]int{1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0}, 3, 4), v[0], v[1])
		}},
	{op: "Clamp", inputs: shapes(nz(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Clamp(v[0], -0.5, 0.7) }},
	{op: "Maximum", name: "broadcast", inputs: shapes(distinct(3, 4), distinct(4)),
		f: func(v []*ag.Value) *ag.Value { return ag.Maximum(v[0], v[1]) }},
	{op: "Stack", name: "dim 1", inputs: shapes(rn(2, 3), rn(2, 3)),
		f: func(v []*ag.Value) *ag.Value { return ag.Stack(1, v[0], v[1], v[0]) }},
	{op: "Cumsum", name: "dim 0", inputs: shapes(rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Cumsum(v[0], 0) }},
	// Row 3, the padding row, is not looked up: a looked-up padding row gets
	// no gradient by design (PyTorch's semantics, checked by the golden case).
	{op: "EmbeddingT", name: "int64, padding", inputs: shapes(rn(5, 3)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.EmbeddingT(v[0], tensor.FromInts([]int{1, 4, 1, 0, 2, 0}, 2, 3), 3)
		}},
	{op: "CrossEntropyT", name: "sequence [N,C,T], ignore", inputs: shapes(rn(2, 3, 4)),
		f: func(v []*ag.Value) *ag.Value {
			return ag.CrossEntropyT(v[0], tensor.FromInts([]int{0, 2, -100, 1, 1, -100, 2, 0}, 2, 4))
		}},
	{op: "NLLLossT", name: "int64 targets", inputs: shapes(rn(3, 4)),
		f: func(v []*ag.Value) *ag.Value { return ag.NLLLossT(v[0], tensor.FromInts([]int{3, 0, 1}, 3)) }},
	// Views feeding other ops (appended: a case's inputs are seeded by its index).
	{op: "Narrow", name: "strided, into SumDims", inputs: shapes(rn(3, 5)), f: func(v []*ag.Value) *ag.Value { return ag.SumDims(ag.Narrow(v[0], 1, 1, 3), []int{0}, false) }},
	{op: "Narrow", name: "of a transpose, into Exp", inputs: shapes(rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Exp(ag.Narrow(ag.Transpose(v[0], 0, 1), 0, 1, 2)) }},
	{op: "Expand", inputs: shapes(rn(3, 1)), f: func(v []*ag.Value) *ag.Value { return ag.Expand(v[0], 2, -1, 4) }},
	{op: "Expand", name: "into Mul with a transpose", inputs: shapes(rn(1, 4), rn(4, 3)), f: func(v []*ag.Value) *ag.Value {
		return ag.Mul(ag.Expand(v[0], 3, 4), ag.Transpose(v[1], 0, 1))
	}},
	{op: "Transpose", name: "into MatMul as B", inputs: shapes(rn(2, 3), rn(4, 3)), f: func(v []*ag.Value) *ag.Value { return ag.MatMul(v[0], ag.Transpose(v[1], 0, 1)) }},
	{op: "Transpose", name: "batched, into MatMul as A", inputs: shapes(rn(2, 3, 4), rn(2, 3, 5)), f: func(v []*ag.Value) *ag.Value {
		return ag.MatMul(ag.Transpose(v[0], -1, -2), v[1])
	}},
	{op: "Transpose", name: "twice, gradient accumulated into a view", inputs: shapes(rn(3, 3)), f: func(v []*ag.Value) *ag.Value {
		u := ag.Transpose(v[0], 0, 1)
		return ag.Mul(ag.Transpose(u, 0, 1), ag.Tanh(u))
	}},
	{op: "Permute", name: "into Add and Reshape", inputs: shapes(rn(2, 3, 4), rn(4, 2, 3)), f: func(v []*ag.Value) *ag.Value {
		return ag.Reshape(ag.Add(ag.Permute(v[0], 2, 0, 1), v[1]), 8, 3)
	}},
	{op: "Reshape", name: "of a permute (copies)", inputs: shapes(rn(2, 3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Reshape(ag.Permute(v[0], 0, 2, 1), 2, 12) }},
	{op: "Reshape", name: "of a transpose (stays a view)", inputs: shapes(rn(2, 3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.Reshape(ag.Transpose(v[0], 0, 1), 3, 2, 2, 2) }},
}

func tensorZeros(s ...int) func(r *rand.Rand) *tensor.Tensor {
	return func(*rand.Rand) *tensor.Tensor { return tensor.Zeros(s...) }
}

// checkPrecision is the step and tolerance of a finite-difference check in
// one dtype: float32 can afford only a coarse step and a loose tolerance
// (a rule 1% wrong passes it); float64 takes a step of 1e-6 and a relative
// tolerance of 1e-6, which no wrong rule passes.
type checkPrecision struct {
	dtype    tensor.DType
	eps      float64
	rel, abs float64
}

// precisions are the checks TestGradCheck runs on every case.
var precisions = []checkPrecision{check32, check64}

var (
	check32 = checkPrecision{dtype: tensor.Float32, eps: 1e-2, rel: 2e-2, abs: 2e-2}
	check64 = checkPrecision{dtype: tensor.Float64, eps: 1e-6, rel: 1e-6, abs: 1e-8}
)

// gradMismatches runs case c (index i of its list, which seeds its draws)
// in precision p: it compares the backward pass with central finite
// differences of L = Σ f(x)·w for a random w, and returns one line per
// element that differs by more than the tolerance. The inputs are drawn as
// float32 and converted, so both precisions check the same points.
func gradMismatches(t *testing.T, c gradCase, i int, p checkPrecision) []string {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	ins := c.inputs(r)
	vals := make([]*ag.Value, len(ins))
	for j, in := range ins {
		vals[j] = ag.Param(in.To(p.dtype))
	}
	out := c.f(vals)
	if out.Data.DType() != p.dtype {
		t.Fatalf("%v inputs give a %v output", p.dtype, out.Data.DType())
	}
	w := randn(r, out.Shape()...).To(p.dtype)
	out.BackwardWith(w)
	// The perturbed forwards share the parameters' data but build
	// no graph: their inputs are marked NoGraph.
	plain := make([]*ag.Value, len(vals))
	for j, v := range vals {
		plain[j] = ag.Detached(v)
		if v.Grad != nil && v.Grad.DType() != p.dtype {
			t.Fatalf("input %d: %v gradient for a %v value", j, v.Grad.DType(), p.dtype)
		}
	}
	loss := func() float64 {
		var s float64
		y := c.f(plain)
		if y.RequiresGrad() || !y.NoGraph() {
			t.Fatalf("a forward from NoGraph inputs records a graph")
		}
		for k := range y.Data.Size() {
			s += y.Data.Float(k) * w.Float(k)
		}
		return s
	}
	var bad []string
	for j, v := range vals {
		n := v.Data.Size()
		for k := range n {
			orig := v.Data.Float(k)
			set(v.Data, k, orig+p.eps)
			up := loss()
			set(v.Data, k, orig-p.eps)
			down := loss()
			set(v.Data, k, orig)
			num := (up - down) / (2 * p.eps)
			var got float64
			if v.Grad != nil {
				got = v.Grad.Float(k)
			}
			if math.Abs(got-num) > p.abs+p.rel*math.Abs(num) {
				bad = append(bad, fmt.Sprintf("input %d element %d: backward %.9g, finite difference %.9g", j, k, got, num))
			}
		}
	}
	return bad
}

// set writes v at flat index k of a float tensor of either dtype.
func set(t *tensor.Tensor, k int, v float64) {
	if t.DType() == tensor.Float64 {
		t.Data64()[k] = v
	} else {
		t.Data()[k] = float32(v)
	}
}

// TestGradCheck compares every op's backward pass with central finite
// differences, in float32 (the second guard, at the working precision)
// and in float64 (the tight check).
func TestGradCheck(t *testing.T) {
	for _, p := range precisions {
		for i, c := range gradCases {
			t.Run(p.dtype.String()+"/"+c.op+"/"+c.name, func(t *testing.T) {
				for _, m := range gradMismatches(t, c, i, p) {
					t.Error(m)
				}
			})
		}
	}
}

// TestFloat64CheckCatchesOnePercent installs a backward rule 1% off (a
// test-only op, Exp whose gradient is scaled by 1.01) and shows that the
// float64 check fails it while the float32 check, at its 2% tolerance,
// lets it through: the reason the float64 check exists.
func TestFloat64CheckCatchesOnePercent(t *testing.T) {
	c := gradCase{op: "WrongExp", inputs: shapes(rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.WrongExp(v[0], 1.01) }}
	if bad := gradMismatches(t, c, 0, check32); len(bad) != 0 {
		t.Errorf("the float32 check should miss a 1%% error (that is its weakness), but it flags: %v", bad)
	}
	bad := gradMismatches(t, c, 0, check64)
	if len(bad) != 12 {
		t.Errorf("the float64 check flags %d of 12 elements of a rule 1%% wrong, want all: %v", len(bad), bad)
	}
	right := gradCase{op: "WrongExp", inputs: shapes(rn(3, 4)), f: func(v []*ag.Value) *ag.Value { return ag.WrongExp(v[0], 1) }}
	if bad := gradMismatches(t, right, 0, check64); len(bad) != 0 {
		t.Errorf("the float64 check flags the correct rule: %v", bad)
	}
}

// TestEveryOpHasGradCheck lists the package's exported functions that
// return a *Value and fails for any without a finite-difference case.
func TestEveryOpHasGradCheck(t *testing.T) {
	has64 := false
	for _, p := range precisions {
		has64 = has64 || (p.dtype == tensor.Float64 && p.eps <= 1e-5 && p.rel <= 1e-6)
	}
	if !has64 {
		t.Fatal("TestGradCheck runs no float64 check at the tight tolerance: every op needs one")
	}
	checked := map[string]bool{} // every case runs in every precision
	for _, c := range gradCases {
		checked[c.op] = true
	}
	notOps := map[string]bool{"Param": true, "Const": true, "NoGraph": true, "Detached": true} // leaves, not ops
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || notOps[fn.Name.Name] || fn.Type.Results == nil {
				continue
			}
			if res := fn.Type.Results.List; len(res) == 1 {
				if star, ok := res[0].Type.(*ast.StarExpr); ok {
					if id, ok := star.X.(*ast.Ident); ok && id.Name == "Value" && !checked[fn.Name.Name] {
						t.Errorf("%s: op %s has no finite-difference check in gradCases", f, fn.Name.Name)
					}
				}
			}
		}
	}
}

// TestFloat32MatchesFloat64 runs every case's forward and backward pass in
// both dtypes on the same inputs and compares them: the float64 check
// validates the float64 kernels, and this ties the float32 kernels (the
// fast ones training uses) to them, value for value.
func TestFloat32MatchesFloat64(t *testing.T) {
	for i, c := range gradCases {
		t.Run(c.op+"/"+c.name, func(t *testing.T) {
			var outs [2]*ag.Value
			var vals [2][]*ag.Value
			for d, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
				r := rand.New(rand.NewPCG(uint64(i), 7))
				for _, in := range c.inputs(r) {
					vals[d] = append(vals[d], ag.Param(in.To(dt)))
				}
				outs[d] = c.f(vals[d])
				outs[d].BackwardWith(randn(r, outs[d].Shape()...).To(dt))
			}
			close := func(what string, a, b *tensor.Tensor) {
				if a == nil || b == nil {
					if (a == nil) != (b == nil) {
						t.Errorf("%s: float32 %v, float64 %v", what, a, b)
					}
					return
				}
				for k := range a.Size() {
					x, y := a.Float(k), b.Float(k)
					if math.Abs(x-y) > 1e-4+1e-4*math.Abs(y) {
						t.Errorf("%s element %d: float32 %.7g, float64 %.7g", what, k, x, y)
						return
					}
				}
			}
			close("output", outs[0].Data, outs[1].Data)
			for j := range vals[0] {
				close(fmt.Sprintf("gradient %d", j), vals[0][j].Grad, vals[1][j].Grad)
			}
		})
	}
}
