package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/backprop-go/backprop/tensor"
)

// Attention, with the semantics of torch.nn.functional.
// scaled_dot_product_attention and torch.nn.MultiheadAttention, composed
// of MatMulNT, Softmax, MaskedFill and MatMul, so that its gradient is
// theirs.

// AttentionOptions are the optional arguments of
// [ScaledDotProductAttention]; the zero value is plain attention scaled
// by 1/√D.
type AttentionOptions struct {
	// Causal hides from query i the keys j > i: the top-left lower
	// triangle, as is_causal does (also when T ≠ S).
	Causal bool
	// Scale multiplies the scores; 0 means 1/√D.
	Scale float64
	// Mask, broadcast to the scores [..., T, S], says where attention is
	// allowed: true (non-zero) where query i may look at key j, as
	// PyTorch's boolean attn_mask. nil allows everything.
	Mask *tensor.Tensor
	// Bias is added to the scores, broadcast to [..., T, S], as PyTorch's
	// float attn_mask (−inf hides a key). It may require a gradient.
	Bias *Value
	// Dropout is the probability of dropping an attention weight, drawn
	// from RNG; 0 or a nil RNG drops nothing.
	Dropout float32
	RNG     *rand.Rand
}

// ScaledDotProductAttention returns softmax(q·kᵀ·scale + mask)·v for q
// [..., T, D], k [..., S, D] and v [..., S, Dv]: shape [..., T, Dv]. A
// query whose keys are all hidden gets NaN weights, as in PyTorch.
func ScaledDotProductAttention(q, k, v *Value, o AttentionOptions) *Value {
	return attend(q, k, v, o, nil)
}

// attend is ScaledDotProductAttention that also hides the scores where
// any of hide (broadcast to the scores) is true.
func attend(q, k, v *Value, o AttentionOptions, hide []*tensor.Tensor) *Value {
	if q.Data.Dims() < 2 || k.Data.Dims() < 2 || v.Data.Dims() < 2 {
		panic(fmt.Sprintf("autograd.ScaledDotProductAttention: q %v, k %v, v %v: want [..., T, D], [..., S, D], [..., S, Dv]", q.Shape(), k.Shape(), v.Shape()))
	}
	qs := q.Shape()
	T, D := qs[len(qs)-2], qs[len(qs)-1]
	S := k.Shape()[k.Data.Dims()-2]
	scale := o.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(D))
	}
	scores := MulScalar(MatMulNT(q, k), float32(scale)) // [..., T, S]
	if o.Bias != nil {
		scores = Add(scores, o.Bias)
	}
	if o.Mask != nil {
		scores = MaskedFill(scores, maskNot(o.Mask), math.Inf(-1))
	}
	for _, h := range hide {
		scores = MaskedFill(scores, h, math.Inf(-1))
	}
	if o.Causal {
		scores = MaskedFill(scores, CausalMask(T, S), math.Inf(-1))
	}
	p := Softmax(scores, -1)
	if o.Dropout > 0 && o.RNG != nil {
		p = Dropout(p, o.Dropout, true, o.RNG)
	}
	return MatMul(p, v)
}

// CausalMask returns the Int64 [T, S] mask that is 1 where key j comes
// after query i (j > i), the positions causal attention hides.
func CausalMask(t, s int) *tensor.Tensor {
	m := make([]int, t*s)
	for i := range t {
		for j := i + 1; j < s; j++ {
			m[i*s+j] = 1
		}
	}
	return tensor.FromInts(m, t, s)
}

// MHAOptions are the optional arguments of [MultiHeadAttention].
type MHAOptions struct {
	// Causal hides later positions (attn_mask of is_causal).
	Causal bool
	// AttnMask, broadcast to the scores [N, heads, T, T] (a [T, T] mask
	// serves every sample and head), is true (non-zero) where attention is
	// NOT allowed, as nn.MultiheadAttention's boolean attn_mask: the
	// opposite of [AttentionOptions].Mask, as in PyTorch.
	AttnMask *tensor.Tensor
	// KeyPadding is [N, T], true (non-zero) at the keys to ignore
	// (padding), as key_padding_mask.
	KeyPadding *tensor.Tensor
	// Dropout on the attention weights, drawn from RNG (nil: none).
	Dropout float32
	RNG     *rand.Rand
}

// MultiHeadAttention is the self-attention of torch.nn.MultiheadAttention
// with batch_first=True: x [N, T, E] is projected by inProjW [3E, E] and
// inProjB [3E] (nil without bias) into queries, keys and values, split
// into heads of E/heads features, attended, joined and projected by
// outW [E, E] and outB [E]. It returns [N, T, E] (the attention weights
// are not returned).
func MultiHeadAttention(x, inProjW, inProjB, outW, outB *Value, heads int, o MHAOptions) *Value {
	xs := x.Shape()
	if len(xs) != 3 {
		panic(fmt.Sprintf("autograd.MultiHeadAttention: input %v, want [N, T, E]", xs))
	}
	N, T, E := xs[0], xs[1], xs[2]
	if heads < 1 || E%heads != 0 {
		panic(fmt.Sprintf("autograd.MultiHeadAttention: %d features do not split into %d heads", E, heads))
	}
	if s := inProjW.Shape(); len(s) != 2 || s[0] != 3*E || s[1] != E {
		panic(fmt.Sprintf("autograd.MultiHeadAttention: in_proj_weight %v, want [%d %d]", s, 3*E, E))
	}
	hd := E / heads
	qkv := Linear(x, inProjW, inProjB) // [N, T, 3E]
	if o.AttnMask == nil && o.KeyPadding == nil && (o.Dropout == 0 || o.RNG == nil) && qkv.Data.DType() == tensor.Float32 {
		// the common case, fused: no mask to build, no head permutes
		return Linear(selfAttention(qkv, heads, o.Causal, float32(1/math.Sqrt(float64(hd)))), outW, outB)
	}
	split := func(i int) *Value {
		part := Reshape(Narrow(qkv, 2, i*E, E), N, T, heads, hd)
		return Permute(part, 0, 2, 1, 3) // [N, heads, T, hd]
	}
	ao := AttentionOptions{Causal: o.Causal, Dropout: o.Dropout, RNG: o.RNG}
	var hide []*tensor.Tensor
	if o.AttnMask != nil {
		hide = append(hide, o.AttnMask)
	}
	if o.KeyPadding != nil {
		if s := o.KeyPadding.Shape(); len(s) != 2 || s[0] != N || s[1] != T {
			panic(fmt.Sprintf("autograd.MultiHeadAttention: key padding mask %v, want [%d %d]", s, N, T))
		}
		hide = append(hide, tensor.Reshape(o.KeyPadding, N, 1, 1, T)) // the same keys for every head and query
	}
	att := attend(split(0), split(1), split(2), ao, hide) // [N, heads, T, hd]
	joined := Reshape(Permute(att, 0, 2, 1, 3), N, T, E)
	return Linear(joined, outW, outB)
}

// maskNot returns the Int64 mask that is 1 where m is 0.
func maskNot(m *tensor.Tensor) *tensor.Tensor {
	out := make([]int, m.Size())
	for i := range out {
		if m.Float(i) == 0 {
			out[i] = 1
		}
	}
	return tensor.FromInts(out, m.Shape()...)
}

// selfAttention is the attention of the heads of the packed projections
// qkv [N, T, 3E] (tensor.SelfAttention), their outputs joined [N, T, E]:
// MultiHeadAttention's core without masks or dropout. Its gradient is the
// composite's: dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P⊙(dP − Σⱼ dP⊙P), dQ = dS·K·scale,
// dK = dSᵀ·Q·scale.
func selfAttention(qkv *Value, heads int, causal bool, scale float32) *Value {
	att, p := tensor.SelfAttention(qkv.Data, heads, causal, scale)
	out := fresh(att, qkv)
	if !recording(qkv) {
		tensor.Recycle(p) // no backward pass will read the weights
		return out
	}
	out.onBackward(func() {
		qkv.addGradOwned(tensor.SelfAttentionBackward(qkv.Data, p, out.Grad, heads, causal, scale))
		tensor.Recycle(p) // a backward rule runs once: the weights are done with
	})
	return out
}
