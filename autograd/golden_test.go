package autograd_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/internal/golden"
	"github.com/backprop-go/backprop/tensor"
)

// TestGolden runs every op case of the PyTorch golden vectors: the forward
// output and the gradient of sum(output·upstream) for every float input.
// A case it cannot run fails.
func TestGolden(t *testing.T) {
	dir := golden.Dir()
	cases, err := golden.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range cases {
		if golden.OptimizerOps[c.Op] {
			continue // run by optim's tests
		}
		t.Run(c.File+"/"+c.Name, func(t *testing.T) {
			if err := runGoldenCase(c); err != nil {
				t.Errorf("op %s attrs %v: %v", c.Op, c.Attrs, err)
			}
		})
		ran++
	}
	t.Logf("%d op cases from %s", ran, dir)
}

// goldenArgs holds a case's inputs by name, floats as Params.
type goldenArgs struct {
	vals  map[string]*ag.Value
	intIn map[string][]int
	intT  map[string]*tensor.Tensor // int64 inputs as tensors
	shape map[string][]int
	order []*ag.Value // float inputs in order
	attrs map[string]any
	used  map[string]bool // attributes read
}

func (a *goldenArgs) v(name string) *ag.Value { return a.vals[name] }

func (a *goldenArgs) attr(name string) (any, bool) {
	v, ok := a.attrs[name]
	a.used[name] = true
	return v, ok
}

func (a *goldenArgs) float(name string, def float64) float64 {
	if v, ok := a.attr(name); ok && v != nil {
		return v.(float64)
	}
	return def
}

func (a *goldenArgs) int(name string, def int) int { return int(a.float(name, float64(def))) }

func (a *goldenArgs) bool(name string, def bool) bool {
	if v, ok := a.attr(name); ok && v != nil {
		return v.(bool)
	}
	return def
}

func (a *goldenArgs) str(name, def string) string {
	if v, ok := a.attr(name); ok && v != nil {
		return v.(string)
	}
	return def
}

// ints reads an int or a list of ints; nil for null or absent.
func (a *goldenArgs) ints(name string) []int {
	v, ok := a.attr(name)
	if !ok || v == nil {
		return nil
	}
	switch x := v.(type) {
	case float64:
		return []int{int(x)}
	case []any:
		out := make([]int, len(x))
		for i, e := range x {
			out[i] = int(e.(float64))
		}
		return out
	}
	panic(fmt.Sprintf("attribute %s: unexpected %T", name, v))
}

// pair reads an int or [h, w] attribute.
func (a *goldenArgs) pair(name string, def int) [2]int {
	switch v := a.ints(name); len(v) {
	case 0:
		return [2]int{def, def}
	case 1:
		return [2]int{v[0], v[0]}
	default:
		return [2]int{v[0], v[1]}
	}
}

func (a *goldenArgs) reduction() ag.LossOption {
	r, err := ag.ParseReduction(a.str("reduction", "mean"))
	if err != nil {
		panic(err)
	}
	return ag.WithReduction(r)
}

// lossOpts reads the attributes and optional inputs shared by the losses.
func (a *goldenArgs) lossOpts() []ag.LossOption {
	opts := []ag.LossOption{a.reduction()}
	if _, ok := a.attrs["ignore_index"]; ok {
		opts = append(opts, ag.IgnoreIndex(a.int("ignore_index", -100)))
	}
	if _, ok := a.attrs["label_smoothing"]; ok {
		opts = append(opts, ag.LabelSmoothing(float32(a.float("label_smoothing", 0))))
	}
	if _, ok := a.attrs["delta"]; ok {
		opts = append(opts, ag.Delta(float32(a.float("delta", 1))))
	}
	if w := a.v("weight"); w != nil {
		opts = append(opts, ag.ClassWeights(w.Data))
	}
	if w := a.v("pos_weight"); w != nil {
		opts = append(opts, ag.PosWeight(w.Data))
	}
	return opts
}

// goldenOps maps each op name of the golden files to how it is run here.
var goldenOps = map[string]func(a *goldenArgs) *ag.Value{
	"add": func(a *goldenArgs) *ag.Value {
		return ag.Add(a.order[0], alpha(a, a.order[1]))
	},
	"sub": func(a *goldenArgs) *ag.Value {
		return ag.Sub(a.order[0], alpha(a, a.order[1]))
	},
	"mul":  func(a *goldenArgs) *ag.Value { return ag.Mul(a.order[0], a.order[1]) },
	"div":  func(a *goldenArgs) *ag.Value { return ag.Div(a.order[0], a.order[1]) },
	"neg":  func(a *goldenArgs) *ag.Value { return ag.Neg(a.order[0]) },
	"exp":  func(a *goldenArgs) *ag.Value { return ag.Exp(a.order[0]) },
	"log":  func(a *goldenArgs) *ag.Value { return ag.Log(a.order[0]) },
	"sqrt": func(a *goldenArgs) *ag.Value { return ag.Sqrt(a.order[0]) },
	"abs":  func(a *goldenArgs) *ag.Value { return ag.Abs(a.order[0]) },
	"pow": func(a *goldenArgs) *ag.Value {
		if len(a.order) == 2 {
			return ag.Pow(a.order[0], a.order[1])
		}
		return ag.PowScalar(a.order[0], float32(a.float("exponent", 1)))
	},
	"tanh":    func(a *goldenArgs) *ag.Value { return ag.Tanh(a.order[0]) },
	"sigmoid": func(a *goldenArgs) *ag.Value { return ag.Sigmoid(a.order[0]) },
	"relu":    func(a *goldenArgs) *ag.Value { return ag.ReLU(a.order[0]) },
	"leaky_relu": func(a *goldenArgs) *ag.Value {
		return ag.LeakyReLU(a.order[0], float32(a.float("negative_slope", 0.01)))
	},
	"elu": func(a *goldenArgs) *ag.Value { return ag.ELU(a.order[0], float32(a.float("alpha", 1))) },
	"gelu": func(a *goldenArgs) *ag.Value {
		approx := a.str("approximate", "none")
		if approx != "none" && approx != "tanh" {
			panic("unknown approximate " + approx)
		}
		return ag.GELU(a.order[0], approx == "tanh")
	},
	"silu": func(a *goldenArgs) *ag.Value { return ag.SiLU(a.order[0]) },
	"softplus": func(a *goldenArgs) *ag.Value {
		return ag.Softplus(a.order[0], float32(a.float("beta", 1)), float32(a.float("threshold", 20)))
	},
	"sum": func(a *goldenArgs) *ag.Value {
		return ag.SumDims(a.order[0], a.ints("dim"), a.bool("keepdim", false))
	},
	"mean": func(a *goldenArgs) *ag.Value {
		return ag.MeanDims(a.order[0], a.ints("dim"), a.bool("keepdim", false))
	},
	"max": func(a *goldenArgs) *ag.Value {
		dims := a.ints("dim")
		keep := a.bool("keepdim", false)
		if dims == nil {
			return ag.Max(a.order[0])
		}
		return ag.MaxDim(a.order[0], dims[0], keep)
	},
	"logsumexp": func(a *goldenArgs) *ag.Value {
		dims := a.ints("dim")
		keep := a.bool("keepdim", false)
		if len(dims) != 1 {
			panic(fmt.Sprintf("logsumexp over dims %v: one dimension supported", dims))
		}
		return ag.LogSumExp(a.order[0], dims[0], keep)
	},
	"matmul": func(a *goldenArgs) *ag.Value { return ag.MatMul(a.order[0], a.order[1]) },
	"linear": func(a *goldenArgs) *ag.Value { return ag.Linear(a.v("x"), a.v("weight"), a.v("bias")) },
	"reshape": func(a *goldenArgs) *ag.Value {
		return ag.Reshape(a.order[0], a.ints("shape")...)
	},
	"permute": func(a *goldenArgs) *ag.Value { return ag.Permute(a.order[0], a.ints("dims")...) },
	"transpose": func(a *goldenArgs) *ag.Value {
		return ag.Transpose(a.order[0], a.int("dim0", 0), a.int("dim1", 1))
	},
	"concat": func(a *goldenArgs) *ag.Value { return ag.Concat(a.int("dim", 0), a.order...) },
	"narrow": func(a *goldenArgs) *ag.Value {
		return ag.Narrow(a.order[0], a.int("dim", 0), a.int("start", 0), a.int("length", 0))
	},
	"softmax":     func(a *goldenArgs) *ag.Value { return ag.Softmax(a.order[0], a.int("dim", -1)) },
	"log_softmax": func(a *goldenArgs) *ag.Value { return ag.LogSoftmax(a.order[0], a.int("dim", -1)) },
	"conv2d": func(a *goldenArgs) *ag.Value {
		p := ag.ConvParams{Stride: a.pair("stride", 1), Dilation: a.pair("dilation", 1), Groups: a.int("groups", 1)}
		w := a.v("weight")
		switch pad, _ := a.attr("padding"); pad {
		case "valid":
		case "same":
			for i := range 2 {
				total := p.Dilation[i] * (w.Shape()[2+i] - 1)
				if total%2 != 0 || p.Stride[i] != 1 {
					panic("padding='same' with an even kernel extent or stride > 1 is not supported")
				}
				p.Padding[i] = total / 2
			}
		default:
			p.Padding = a.pair("padding", 0)
		}
		return ag.Conv2d(a.v("x"), w, a.v("bias"), p)
	},
	"max_pool2d": func(a *goldenArgs) *ag.Value {
		if a.bool("return_indices", false) {
			panic("return_indices is not supported")
		}
		return ag.MaxPool2d(a.order[0], poolParams(a))
	},
	"avg_pool2d": func(a *goldenArgs) *ag.Value {
		p := poolParams(a)
		p.CountIncludePad = a.bool("count_include_pad", true)
		p.DivisorOverride = a.int("divisor_override", 0)
		return ag.AvgPool2d(a.order[0], p)
	},
	"batch_norm": func(a *goldenArgs) *ag.Value {
		var rm, rv *tensor.Tensor
		if v := a.v("running_mean"); v != nil {
			rm, rv = v.Data.Clone(), a.v("running_var").Data.Clone()
		}
		return ag.BatchNorm(a.order[0], a.v("weight"), a.v("bias"), rm, rv,
			a.bool("training", false), float32(a.float("momentum", 0.1)), float32(a.float("eps", 1e-5)))
	},
	"layer_norm": func(a *goldenArgs) *ag.Value {
		return ag.LayerNorm(a.order[0], a.ints("normalized_shape"), a.v("weight"), a.v("bias"), float32(a.float("eps", 1e-5)))
	},
	"embedding": func(a *goldenArgs) *ag.Value {
		return ag.EmbeddingT(a.v("weight"), a.intT["indices"], a.int("padding_idx", -1))
	},
	"cross_entropy": func(a *goldenArgs) *ag.Value {
		if t, ok := a.intT["target"]; ok {
			return ag.CrossEntropyT(a.order[0], t, a.lossOpts()...)
		}
		return ag.CrossEntropy(a.order[0], a.firstInts(), a.lossOpts()...)
	},
	"gather":       func(a *goldenArgs) *ag.Value { return ag.Gather(a.v("x"), a.int("dim", 0), a.intT["index"]) },
	"index_select": func(a *goldenArgs) *ag.Value { return ag.IndexSelect(a.v("x"), a.int("dim", 0), a.intT["index"]) },
	"masked_fill": func(a *goldenArgs) *ag.Value {
		return ag.MaskedFill(a.v("x"), a.intT["mask"], a.float("value", 0))
	},
	"where": func(a *goldenArgs) *ag.Value { return ag.Where(a.intT["condition"], a.v("a"), a.v("b")) },
	"clamp": func(a *goldenArgs) *ag.Value {
		return ag.Clamp(a.order[0], a.float("min", math.Inf(-1)), a.float("max", math.Inf(1)))
	},
	"maximum": func(a *goldenArgs) *ag.Value { return ag.Maximum(a.v("a"), a.v("b")) },
	"stack":   func(a *goldenArgs) *ag.Value { return ag.Stack(a.int("dim", 0), a.order...) },
	"cumsum":  func(a *goldenArgs) *ag.Value { return ag.Cumsum(a.order[0], a.int("dim", 0)) },
	"nll_loss": func(a *goldenArgs) *ag.Value {
		return ag.NLLLoss(a.order[0], a.firstInts(), a.lossOpts()...)
	},
	"mse_loss": func(a *goldenArgs) *ag.Value { return ag.MSELoss(a.order[0], a.order[1], a.lossOpts()...) },
	"l1_loss":  func(a *goldenArgs) *ag.Value { return ag.L1Loss(a.order[0], a.order[1], a.lossOpts()...) },
	"huber_loss": func(a *goldenArgs) *ag.Value {
		return ag.HuberLoss(a.order[0], a.order[1], a.lossOpts()...)
	},
	"binary_cross_entropy_with_logits": func(a *goldenArgs) *ag.Value {
		return ag.BCEWithLogits(a.order[0], a.order[1], a.lossOpts()...)
	},
}

// firstInts returns the case's integer input (class targets).
func (a *goldenArgs) firstInts() []int {
	for _, v := range a.intIn {
		return v
	}
	panic("no int64 target input")
}

// alpha applies add/sub's optional alpha scale to the second operand.
func alpha(a *goldenArgs, b *ag.Value) *ag.Value {
	if s := a.float("alpha", 1); s != 1 {
		return ag.MulScalar(b, float32(s))
	}
	return b
}

func poolParams(a *goldenArgs) ag.PoolParams {
	k := a.pair("kernel_size", 1)
	return ag.PoolParams{Kernel: k, Stride: a.pair("stride", 0), Padding: a.pair("padding", 0),
		Dilation: a.pair("dilation", 1), CeilMode: a.bool("ceil_mode", false)}
}

func runGoldenCase(c golden.Case) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot run: %v", r)
		}
	}()
	run, ok := goldenOps[c.Op]
	if !ok {
		return fmt.Errorf("unknown op %q", c.Op)
	}
	a := &goldenArgs{vals: map[string]*ag.Value{}, intIn: map[string][]int{}, intT: map[string]*tensor.Tensor{}, shape: map[string][]int{}, attrs: c.Attrs, used: map[string]bool{}}
	for _, in := range c.Inputs {
		a.shape[in.Name] = in.Shape
		switch in.Dtype {
		case "float32":
			v := ag.Param(tensor.New(in.Float32(), in.Shape...))
			a.vals[in.Name] = v
			a.order = append(a.order, v)
		case "int64":
			a.intIn[in.Name] = in.Ints()
			a.intT[in.Name] = tensor.FromInts(in.Ints(), in.Shape...)
		default:
			return fmt.Errorf("input %s: unsupported dtype %s", in.Name, in.Dtype)
		}
	}
	out := run(a)
	for name := range c.Attrs {
		if !a.used[name] {
			return fmt.Errorf("attribute %q is not honoured", name)
		}
	}
	if c.Output == nil {
		return fmt.Errorf("case has no output")
	}
	if msg := golden.Compare("output", out.Shape(), out.Data.Data(), *c.Output); msg != "" {
		return fmt.Errorf("%s", msg)
	}
	if c.Upstream == nil {
		return nil
	}
	out.BackwardWith(tensor.New(c.Upstream.Float32(), c.Upstream.Shape...))
	for _, g := range c.Grads {
		v := a.vals[g.Name]
		if v == nil {
			return fmt.Errorf("gradient for unknown input %q", g.Name)
		}
		got := v.Grad
		if got == nil {
			got = tensor.Zeros(v.Shape()...)
		}
		if msg := golden.Compare("grad "+g.Name, got.Shape(), got.Data(), g); msg != "" {
			return fmt.Errorf("%s", msg)
		}
	}
	return nil
}

// TestGoldenCoversOps checks that every op of the golden files has a runner,
// so a new file's op cannot be silently skipped.
func TestGoldenCoversOps(t *testing.T) {
	cases, err := golden.Load(golden.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, c := range cases {
		if _, ok := goldenOps[c.Op]; !ok && !golden.OptimizerOps[c.Op] && !slices.Contains(missing, c.Op) {
			missing = append(missing, c.Op)
		}
	}
	if len(missing) > 0 {
		t.Errorf("golden ops without a runner: %v", missing)
	}
}

// TestGoldenTransposedMatMul runs every 2-D and batched "matmul" golden case
// through MatMulNT and MatMulTN: the operand that the product reads
// transposed is handed over in transposed storage, so that a·b =
// MatMulNT(a, bᵀ) = MatMulTN(aᵀ, b), and its gradient, transposed back,
// must match PyTorch's gradient of the untransposed operand.
func TestGoldenTransposedMatMul(t *testing.T) {
	cases, err := golden.Load(golden.Dir())
	if err != nil {
		t.Fatal(err)
	}
	transposed := func(v *ag.Value) *ag.Value {
		return ag.Param(tensor.Transpose(v.Data, -2, -1))
	}
	forms := []struct {
		name  string
		which int // the operand handed over transposed
		f     func(a, b *ag.Value) *ag.Value
	}{
		{"NT", 1, ag.MatMulNT},
		{"TN", 0, ag.MatMulTN},
	}
	ran := 0
	for _, c := range cases {
		if c.Op != "matmul" || len(c.Inputs) != 2 || len(c.Inputs[0].Shape) < 2 || len(c.Inputs[1].Shape) < 2 || c.Upstream == nil {
			continue
		}
		for _, form := range forms {
			t.Run(c.Name+"/"+form.name, func(t *testing.T) {
				orig := []*ag.Value{
					ag.Param(tensor.New(c.Inputs[0].Float32(), c.Inputs[0].Shape...)),
					ag.Param(tensor.New(c.Inputs[1].Float32(), c.Inputs[1].Shape...)),
				}
				in := slices.Clone(orig)
				in[form.which] = transposed(orig[form.which])
				out := form.f(in[0], in[1])
				if msg := golden.Compare("output", out.Shape(), out.Data.Data(), *c.Output); msg != "" {
					t.Fatal(msg)
				}
				out.BackwardWith(tensor.New(c.Upstream.Float32(), c.Upstream.Shape...))
				for _, g := range c.Grads {
					i := slices.IndexFunc(c.Inputs, func(in golden.Tensor) bool { return in.Name == g.Name })
					if i < 0 {
						t.Fatalf("gradient for unknown input %q", g.Name)
					}
					got := in[i].Grad
					if i == form.which {
						got = tensor.Transpose(got, -2, -1)
					}
					if msg := golden.Compare("grad "+g.Name, got.Shape(), got.Data(), g); msg != "" {
						t.Error(msg)
					}
				}
			})
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("no matmul golden case to run the transposed forms on")
	}
}
