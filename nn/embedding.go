package nn

import (
	"fmt"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// EmbeddingModule maps integer indices to rows of a learned table, as
// torch.nn.Embedding. Make one with [Embedding].
type EmbeddingModule struct {
	Num, Dim int
	// PaddingIdx is the row that stays at its value and gets no gradient,
	// or -1 for none.
	PaddingIdx int
	// Weight has shape [Num, Dim].
	Weight *ag.Value
}

// Embedding returns a table of num rows of dim features drawn from
// N(0, 1), as PyTorch does. Options: PaddingIdx (its row starts at 0),
// WithRNG, Seed.
func Embedding(num, dim int, opts ...Option) *EmbeddingModule {
	c := newConfig("Embedding", []string{"PaddingIdx"}, opts)
	if num < 1 || dim < 1 {
		panic(fmt.Sprintf("nn.Embedding: sizes must be positive (num %d, dim %d)", num, dim))
	}
	if c.paddingIdx < -1 || c.paddingIdx >= num {
		panic(fmt.Sprintf("nn.Embedding: padding index %d outside [0, %d)", c.paddingIdx, num))
	}
	w := tensor.Zeros(num, dim)
	Normal(w, 0, 1, c.rng)
	if c.paddingIdx >= 0 {
		clear(w.Data()[c.paddingIdx*dim : (c.paddingIdx+1)*dim])
	}
	return &EmbeddingModule{Num: num, Dim: dim, PaddingIdx: c.paddingIdx, Weight: ag.Param(w)}
}

// Forward looks up x's elements, which must be in [0, Num), returning
// shape [x's shape..., Dim]. The indices are best an Int64 tensor
// (tensor.NewInt64, tensor.FromInts); float ones are still taken and
// converted, each of which must be a whole number (float32 is exact up to
// 2²⁴). Lookup takes ints.
func (l *EmbeddingModule) Forward(x *ag.Value) *ag.Value {
	idx := x.Data.Ints("nn.Embedding")
	if x.NoGraph() {
		// The indices carry the no-graph mark, but the op sees only the
		// weight: look up in a marked view of it so that nothing records.
		return ag.Embedding(ag.Detached(l.Weight), idx, x.Shape(), l.PaddingIdx)
	}
	return l.Lookup(idx, x.Shape())
}

// Lookup returns the rows for indices, shaped [shape..., Dim].
func (l *EmbeddingModule) Lookup(indices []int, shape []int) *ag.Value {
	return ag.Embedding(l.Weight, indices, shape, l.PaddingIdx)
}

// LocalParameters returns weight.
func (l *EmbeddingModule) LocalParameters() []NamedValue { return params("weight", l.Weight) }

// OutputShape appends Dim to the input shape.
func (l *EmbeddingModule) OutputShape(in []int) ([]int, error) {
	return append(append([]int{}, in...), l.Dim), nil
}

// String describes the layer as PyTorch prints it.
func (l *EmbeddingModule) String() string {
	if l.PaddingIdx >= 0 {
		return fmt.Sprintf("Embedding(%d, %d, padding_idx=%d)", l.Num, l.Dim, l.PaddingIdx)
	}
	return fmt.Sprintf("Embedding(%d, %d)", l.Num, l.Dim)
}
