package nn

import (
	"fmt"
	"math"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// stepFunc maps the features of one new position of a sequence, x [1, 1,
// F] (token ids [1, 1] for an embedding), at position pos (0-based) to its
// output, given everything fed before: the state a layer needs of the
// earlier positions lives in the closure (a key-value cache, an RNN's
// hidden state). Positions arrive in order, 0, 1, 2, …
type stepFunc func(x *tensor.Tensor, pos int) *tensor.Tensor

// stepMaker makes a layer's stepFunc for one sequence of at most maxLen
// positions (0: no bound), with fresh state.
type stepMaker func(maxLen int) stepFunc

// kvCache holds the keys and values of the positions seen so far for one
// attention layer: row t of k and v is position t's key and value, E wide,
// head h in columns h·E/heads … (h+1)·E/heads, as MultiheadAttention
// splits them.
type kvCache struct {
	k, v []float32
	e    int
	n    int // positions held
}

func (c *kvCache) add(k, v []float32) {
	c.k = append(c.k, k...)
	c.v = append(c.v, v...)
	c.n++
}

// attentionStep returns the stepFunc of causal self-attention m: the new
// position's query attends over the cached keys and values of every
// position so far, itself included, which is exactly row pos of the
// causal attention over the whole sequence (the causal mask hides the
// rest), at the cost of one position.
func attentionStep(m *MultiheadAttentionModule) stepMaker {
	return func(maxLen int) stepFunc {
		e, heads := m.EmbedDim, m.NumHeads
		hd := e / heads
		scale := 1 / math.Sqrt(float64(hd))
		c := &kvCache{e: e}
		if maxLen > 0 {
			c.k, c.v = make([]float32, 0, maxLen*e), make([]float32, 0, maxLen*e)
		}
		var scores []float64
		out := make([]float64, hd) // one head's context, reused
		return func(x *tensor.Tensor, pos int) *tensor.Tensor {
			// qkv = x·in_proj_weightᵀ + in_proj_bias: q, k, v side by side.
			qkv := tensor.Linear(x, m.InProjWeight.Data, dataOf(m.InProjBias)).Data()
			q := qkv[:e]
			c.add(qkv[e:2*e], qkv[2*e:3*e])
			ctx := make([]float32, e)
			scores = scores[:0]
			for range c.n {
				scores = append(scores, 0)
			}
			for h := range heads {
				lo := h * hd
				best := math.Inf(-1)
				for t := range c.n {
					kt := c.k[t*e+lo : t*e+lo+hd]
					s := 0.0
					for j, qj := range q[lo : lo+hd] {
						s += float64(qj) * float64(kt[j])
					}
					s *= scale
					scores[t] = s
					best = math.Max(best, s)
				}
				// softmax over the positions, shifted by the largest score.
				sum := 0.0
				for t := range c.n {
					scores[t] = math.Exp(scores[t] - best)
					sum += scores[t]
				}
				clear(out)
				for t := range c.n {
					p := scores[t] / sum
					vt := c.v[t*e+lo : t*e+lo+hd]
					for j := range out {
						out[j] += p * float64(vt[j])
					}
				}
				for j, o := range out {
					ctx[lo+j] = float32(o)
				}
			}
			return tensor.Linear(tensor.New(ctx, 1, 1, e), m.OutProj.Weight.Data, dataOf(m.OutProj.Bias))
		}
	}
}

// transformerStep returns the stepFunc of causal transformer block t: its
// attention through a key-value cache, its norms and feed-forward block
// (which see one position at a time anyway) on the new position alone.
// Dropout is left out: generation is inference.
func transformerStep(t *TransformerEncoderLayerModule) stepMaker {
	attn := attentionStep(t.SelfAttn)
	return func(maxLen int) stepFunc {
		sa := attn(maxLen)
		ff := func(h *tensor.Tensor) *tensor.Tensor {
			h = tensor.Linear(h, t.Linear1.Weight.Data, dataOf(t.Linear1.Bias))
			if t.Activation == "gelu" {
				h = ag.GELU(ag.NoGraph(h), false).Data
			} else {
				h = ag.ReLU(ag.NoGraph(h)).Data
			}
			return tensor.Linear(h, t.Linear2.Weight.Data, dataOf(t.Linear2.Bias))
		}
		norm := func(l *LayerNormModule, x *tensor.Tensor) *tensor.Tensor {
			return l.Forward(ag.NoGraph(x)).Data
		}
		add := func(a, b *tensor.Tensor) *tensor.Tensor { return ag.Add(ag.NoGraph(a), ag.NoGraph(b)).Data }
		return func(x *tensor.Tensor, pos int) *tensor.Tensor {
			if t.NormFirst {
				x = add(x, sa(norm(t.Norm1, x), pos))
				return add(x, ff(norm(t.Norm2, x)))
			}
			x = norm(t.Norm1, add(x, sa(x, pos)))
			return norm(t.Norm2, add(x, ff(x)))
		}
	}
}

// positionStep adds position pos's learned vector.
func positionStep(p *PositionalEmbeddingModule) stepMaker {
	return func(int) stepFunc {
		return func(x *tensor.Tensor, pos int) *tensor.Tensor {
			if pos >= p.MaxLen {
				panic(fmt.Sprintf("nn: generation at position %d past posembedding(%d)", pos, p.MaxLen))
			}
			row := p.Weight.Data.Data()[pos*p.Dim : (pos+1)*p.Dim]
			out := append([]float32(nil), x.Data()...)
			for j, w := range row {
				out[j] += w
			}
			return tensor.New(out, 1, 1, p.Dim)
		}
	}
}

// recurrentStep carries a one-direction RNN's hidden (and LSTM cell)
// states from one position to the next: one cell step per new position.
func recurrentStep(m *RNNModule) stepMaker {
	return func(int) stepFunc {
		var h, c *ag.Value
		w := detachedWeights(m.Weights)
		cfg := ag.RNNConfig{Cell: m.Cell, Layers: m.NumLayers, BatchFirst: true}
		return func(x *tensor.Tensor, pos int) *tensor.Tensor {
			out, hn, cn := ag.RNN(ag.NoGraph(x), h, c, w, cfg)
			h, c = hn, cn
			return out.Data
		}
	}
}

// pointwiseStep runs a layer that treats every position on its own
// (embedding, linear, norms over the features, activations) on the new
// position alone.
func pointwiseStep(m Module) stepMaker {
	return func(int) stepFunc {
		return func(x *tensor.Tensor, pos int) *tensor.Tensor { return m.Forward(ag.NoGraph(x)).Data }
	}
}

// passStep is a layer that does nothing at inference (dropout).
func passStep(int) stepFunc { return func(x *tensor.Tensor, pos int) *tensor.Tensor { return x } }

// stepPlan returns the makers of the layers of model for incremental
// decoding, and the longest sequence the model takes (its smallest
// posembedding; 0 for no bound), or an error naming the first layer that
// cannot decode one position at a time.
func stepPlan(model Module) ([]stepMaker, int, error) {
	seq, ok := model.(*SequentialModule)
	if !ok {
		return nil, 0, fmt.Errorf("a %T, not a Sequential of layers", model)
	}
	var makers []stepMaker
	maxLen := 0
	for i, l := range seq.Layers {
		var mk stepMaker
		switch l := l.(type) {
		case *EmbeddingModule, *LinearModule, *ReLUModule, *LeakyReLUModule, *TanhModule, *SigmoidModule,
			*GELUModule, *SiLUModule, *ELUModule, *SoftplusModule:
			mk = pointwiseStep(l)
		case *LayerNormModule:
			if len(l.Shape) != 1 {
				return nil, 0, fmt.Errorf("layer %d: a layer norm over %v mixes positions; normalise the features alone (layernorm(dims=1))", i, l.Shape)
			}
			mk = pointwiseStep(l)
		case *RMSNormModule:
			if len(l.Shape) != 1 {
				return nil, 0, fmt.Errorf("layer %d: an RMS norm over %v mixes positions; normalise the features alone (rmsnorm(dims=1))", i, l.Shape)
			}
			mk = pointwiseStep(l)
		case *DropoutModule:
			mk = passStep
		case *PositionalEmbeddingModule:
			mk = positionStep(l)
			if maxLen == 0 || l.MaxLen < maxLen {
				maxLen = l.MaxLen
			}
		case *MultiheadAttentionModule:
			if !l.Causal {
				return nil, 0, fmt.Errorf("layer %d: attention that is not causal sees later positions; a language model's is causal=1", i)
			}
			mk = attentionStep(l)
		case *TransformerEncoderLayerModule:
			if !l.Causal {
				return nil, 0, fmt.Errorf("layer %d: a transformer that is not causal sees later positions; a language model's is causal=1", i)
			}
			mk = transformerStep(l)
		case *RNNModule:
			if l.Bidirectional || l.TimeMajor {
				return nil, 0, fmt.Errorf("layer %d: a bidirectional or time-major %s reads later positions", i, l.kind())
			}
			mk = recurrentStep(l)
		default:
			return nil, 0, fmt.Errorf("layer %d (%T) has no step-by-step form", i, l)
		}
		makers = append(makers, mk)
	}
	if len(makers) == 0 {
		return nil, 0, fmt.Errorf("an empty Sequential")
	}
	if _, ok := seq.Layers[0].(*EmbeddingModule); !ok {
		return nil, 0, fmt.Errorf("layer 0 is %T: a language model starts with an embedding of its tokens", seq.Layers[0])
	}
	return makers, maxLen, nil
}
