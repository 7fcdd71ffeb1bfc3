package nn_test

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/safetensors"
	"github.com/backprop-go/backprop/tensor"
)

// Attention is single-head self-attention written as a user would: four
// Linear layers registered by name, and a Forward that takes a mask, so
// it is not an nn.Module, yet it takes part in state dicts, optimisers,
// freezing and cloning through its Container.
type Attention struct {
	nn.Container
	Q, K, V, Out *nn.LinearModule
	scale        float32
}

// NewAttention returns attention over d features.
func NewAttention(d int, rng nn.Option) *Attention {
	a := &Attention{scale: float32(1 / math.Sqrt(float64(d)))}
	a.Q = nn.Child(&a.Container, "q", nn.Linear(d, d, rng))
	a.K = nn.Child(&a.Container, "k", nn.Linear(d, d, rng))
	a.V = nn.Child(&a.Container, "v", nn.Linear(d, d, rng))
	a.Out = nn.Child(&a.Container, "out", nn.Linear(d, d, rng))
	return a
}

// Forward attends over the T positions of x [B, T, D]. mask [T, T] is
// added to the scores: 0 where position i may look at j, a large
// negative number where it may not, so that softmax gives it no weight.
func (a *Attention) Forward(x, mask *ag.Value) *ag.Value {
	q, k, v := a.Q.Forward(x), a.K.Forward(x), a.V.Forward(x)
	scores := ag.MulScalar(ag.MatMul(q, ag.Transpose(k, 1, 2)), a.scale) // [B, T, T]
	weights := ag.Softmax(ag.Add(scores, mask), -1)
	return a.Out.Forward(ag.MatMul(weights, v))
}

// Block is a pre-norm transformer block: x + attn(ln1(x)), then
// x + fc2(gelu(fc1(ln2(x)))).
type Block struct {
	nn.Container
	LN1, LN2 *nn.LayerNormModule
	Attn     *Attention
	FC1, FC2 *nn.LinearModule
}

// NewBlock returns a block over d features with a hidden layer of 4d.
func NewBlock(d int, rng nn.Option) *Block {
	b := &Block{}
	b.LN1 = nn.Child(&b.Container, "ln1", nn.LayerNorm([]int{d}))
	b.Attn = nn.Child(&b.Container, "attn", NewAttention(d, rng))
	b.LN2 = nn.Child(&b.Container, "ln2", nn.LayerNorm([]int{d}))
	b.FC1 = nn.Child(&b.Container, "fc1", nn.Linear(d, 4*d, rng))
	b.FC2 = nn.Child(&b.Container, "fc2", nn.Linear(4*d, d, rng))
	return b
}

// Forward applies the block to x [B, T, D] under mask [T, T].
func (b *Block) Forward(x, mask *ag.Value) *ag.Value {
	x = ag.Add(x, b.Attn.Forward(b.LN1.Forward(x), mask))
	return ag.Add(x, b.FC2.Forward(ag.GELU(b.FC1.Forward(b.LN2.Forward(x)), false)))
}

// SeqClassifier embeds each position's features, runs the blocks with a
// causal mask, averages over positions and classifies: an nn.Module made
// of modules that are not.
type SeqClassifier struct {
	nn.Container
	Embed  *nn.LinearModule
	Blocks *nn.List[*Block]
	Norm   *nn.LayerNormModule
	Head   *nn.LinearModule
}

// NewSeqClassifier returns a model for sequences of in features.
func NewSeqClassifier(in, d, layers, classes int, seed uint64) *SeqClassifier {
	rng := nn.WithRNG(nn.NewRNG(seed))
	m := &SeqClassifier{}
	m.Embed = nn.Child(&m.Container, "embed", nn.Linear(in, d, rng))
	m.Blocks = nn.Child(&m.Container, "blocks", nn.NewList[*Block]())
	for range layers {
		m.Blocks.Append(NewBlock(d, rng))
	}
	m.Norm = nn.Child(&m.Container, "norm", nn.LayerNorm([]int{d}))
	m.Head = nn.Child(&m.Container, "head", nn.Linear(d, classes, rng))
	return m
}

// causalMask is 0 on and below the diagonal, -1e9 above it.
func causalMask(t int) *ag.Value {
	return ag.Const(tensor.FromFunc(func(i int) float32 {
		if i%t > i/t {
			return -1e9
		}
		return 0
	}, t, t))
}

// Forward maps x [B, T, in] to logits [B, classes].
func (m *SeqClassifier) Forward(x *ag.Value) *ag.Value {
	mask := causalMask(x.Shape()[1])
	h := m.Embed.Forward(x)
	for _, b := range m.Blocks.Items {
		h = b.Forward(h, mask)
	}
	return m.Head.Forward(ag.MeanDims(m.Norm.Forward(h), []int{1}, false))
}

// seqData is a toy task: is the first feature's sum over the sequence
// positive?
func seqData(n, t int) (*ag.Value, []int) {
	x := tensor.FromFunc(func(i int) float32 { return float32(math.Sin(float64(i)*1.7 + float64(i%5))) }, n, t, 2)
	labels := make([]int, n)
	for s := range n {
		sum := float32(0)
		for p := range t {
			sum += x.Data()[(s*t+p)*2]
		}
		if sum > 0 {
			labels[s] = 1
		}
	}
	return ag.Const(x), labels
}

// trainSteps trains m for a few Adam steps and returns the first and last
// losses.
func trainSteps(m nn.Module, steps int) (first, last float32) {
	x, labels := seqData(16, 4)
	opt := optim.Adam(nn.Parameters(m), optim.LR(0.01))
	for i := range steps {
		loss := nn.CrossEntropy(m.Forward(x), labels)
		loss.Backward()
		opt.Step()
		opt.ZeroGrad()
		if i == 0 {
			first = loss.Item()
		}
		last = loss.Item()
	}
	return first, last
}

// A transformer built from modules whose Forward takes a mask, held in an
// nn.List: its parameters have PyTorch's names, and it trains.
func Example_transformer() {
	model := NewSeqClassifier(2, 8, 2, 2, 1)
	for _, p := range nn.NamedParameters(model) {
		if strings.HasPrefix(p.Name, "blocks.0.") || !strings.HasPrefix(p.Name, "blocks.") {
			fmt.Println(p.Name, p.Value.Shape())
		}
	}
	fmt.Println("parameters:", nn.NumParameters(model), "unregistered:", nn.CheckRegistered(model))
	first, last := trainSteps(model, 30)
	fmt.Println("loss falls:", last < first)
	// Output:
	// embed.weight [8 2]
	// embed.bias [8]
	// blocks.0.ln1.weight [8]
	// blocks.0.ln1.bias [8]
	// blocks.0.attn.q.weight [8 8]
	// blocks.0.attn.q.bias [8]
	// blocks.0.attn.k.weight [8 8]
	// blocks.0.attn.k.bias [8]
	// blocks.0.attn.v.weight [8 8]
	// blocks.0.attn.v.bias [8]
	// blocks.0.attn.out.weight [8 8]
	// blocks.0.attn.out.bias [8]
	// blocks.0.ln2.weight [8]
	// blocks.0.ln2.bias [8]
	// blocks.0.fc1.weight [32 8]
	// blocks.0.fc1.bias [32]
	// blocks.0.fc2.weight [8 32]
	// blocks.0.fc2.bias [8]
	// norm.weight [8]
	// norm.bias [8]
	// head.weight [2 8]
	// head.bias [2]
	// parameters: 1802 unregistered: <nil>
	// loss falls: true
}

// forgetful is a block whose constructor assigns a gate but forgets to
// register it.
type forgetful struct {
	*Block
	Gate *nn.LinearModule
}

func (f *forgetful) Forward(x, mask *ag.Value) *ag.Value {
	return ag.Mul(f.Block.Forward(x, mask), ag.Sigmoid(f.Gate.Forward(x)))
}

// TestTransformerBlock: the mask blocks attention to later positions; the
// model saves with PyTorch's names and loads into a fresh one; a clone
// trains independently; an unregistered child is reported.
func TestTransformerBlock(t *testing.T) {
	m := NewSeqClassifier(2, 8, 2, 2, 1)
	// Causality: changing the last position does not change what the
	// first position's attention output is.
	a := m.Blocks.At(0).Attn
	x1 := tensor.FromFunc(func(i int) float32 { return float32(i%3) - 1 }, 1, 3, 8)
	x2 := x1.Clone()
	for j := range 8 {
		x2.Data()[2*8+j] += 5
	}
	mask := causalMask(3)
	y1, y2 := a.Forward(ag.Const(x1), mask).Data.Data(), a.Forward(ag.Const(x2), mask).Data.Data()
	if !slices.Equal(y1[:16], y2[:16]) || slices.Equal(y1[16:], y2[16:]) {
		t.Errorf("attention is not causal under the mask:\n%v\n%v", y1, y2)
	}

	// Summary reaches the children whatever their Forward.
	if s, err := nn.Summary(m, []int{4, 2}); err != nil || !strings.Contains(s, "blocks.0.attn (Attention)") || !strings.Contains(s, "[N, 2]") {
		t.Errorf("Summary: %v\n%s", err, s)
	}

	// Save, then load into a fresh model with other weights.
	path := filepath.Join(t.TempDir(), "tf.safetensors")
	if err := nn.Save(path, m, nil); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"blocks.0.attn.q.weight", "blocks.1.fc2.bias", "blocks.1.ln1.weight", "embed.weight", "head.bias"} {
		if f.Tensors[k] == nil {
			t.Errorf("saved file lacks %q", k)
		}
	}
	if len(f.Tensors) != len(nn.NamedParameters(m)) {
		t.Errorf("saved %d tensors, want %d", len(f.Tensors), len(nn.NamedParameters(m)))
	}
	fresh := NewSeqClassifier(2, 8, 2, 2, 2)
	if err := nn.Load(path, fresh); err != nil {
		t.Fatal(err)
	}
	x, _ := seqData(4, 4)
	if !slices.Equal(fresh.Forward(x).Data.Data(), m.Forward(x).Data.Data()) {
		t.Error("the loaded model computes something else")
	}

	// A clone trains; the original stays as it was.
	c := nn.Clone(m)
	before := slices.Clone(m.Blocks.At(1).Attn.V.Weight.Data.Data())
	if first, last := trainSteps(c, 10); !(last < first) {
		t.Errorf("the clone's loss did not fall: %v → %v", first, last)
	}
	if !slices.Equal(before, m.Blocks.At(1).Attn.V.Weight.Data.Data()) {
		t.Error("training the clone changed the original")
	}

	// An unregistered child is reported by its path.
	bad := NewSeqClassifier(2, 8, 1, 2, 3)
	fg := &forgetful{Block: NewBlock(8, nn.Seed(4)), Gate: nn.Linear(8, 8)}
	bad.RegisterModule("extra", nn.NewList(fg))
	err = nn.CheckRegistered(bad)
	if err == nil || !strings.Contains(err.Error(), `module "extra.0" (*nn_test.forgetful): field Gate (*nn.LinearModule) holds 2 parameters that are not registered`) {
		t.Errorf("CheckRegistered: %v", err)
	}
}
