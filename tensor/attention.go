package tensor

import (
	"fmt"

	"github.com/backprop-go/backprop/internal/gemm"
)

// Fused multi-head self-attention over packed projections, the core of a
// transformer block: one pass per (sample, head) that reads the queries,
// keys and values in place from the [N, T, 3E] output of the input
// projection, never materialises a mask, skips the hidden upper triangle
// of causal attention block by block, and writes the heads already joined
// as [N, T, E]. Each (sample, head) is computed by one goroutine alone and
// writes its own rows and columns, so the results are the same for any
// number of threads.

// attnBlock is the row block of the causal triangle: the queries of a
// block of rows see only the keys up to its last row, so the products skip
// the keys after it (a quarter of the work at T = 2·attnBlock, more for
// longer sequences).
const attnBlock = 64

// SelfAttention returns softmax(q·kᵀ·scale)·v per head for the packed
// projections qkv [N, T, 3E] (queries, keys and values side by side, each
// split into heads of E/heads features), with the keys after each query
// hidden when causal: out [N, T, E], the heads joined, and the attention
// weights p [N, heads, T, T] that [SelfAttentionBackward] takes (zero
// where hidden).
func SelfAttention(qkv *Tensor, heads int, causal bool, scale float32) (out, p *Tensor) {
	N, T, E, hd := attnDims("tensor.SelfAttention", qkv, heads)
	qkv = contig(qkv)
	out = Empty(N, T, E)
	p = Empty(N, heads, T, T)
	src, od, pd := qkv.data, out.data, p.data
	parallelFor(N*heads, 1, func(lo, hi int) {
		for nh := lo; nh < hi; nh++ {
			n, h := nh/heads, nh%heads
			base := n * T * 3 * E
			q, k, v := src[base+h*hd:], src[base+E+h*hd:], src[base+2*E+h*hd:]
			pp := pd[nh*T*T : (nh+1)*T*T]
			o := od[n*T*E+h*hd:]
			for r0 := 0; r0 < T; r0 += attnBlock {
				r1 := min(r0+attnBlock, T)
				keys := T
				if causal {
					keys = r1
				}
				// scores of rows r0..r1 against the keys they may see
				gemm.SgemmSerial(false, true, r1-r0, keys, hd, scale, q[r0*3*E:], 3*E, k, 3*E, 0, pp[r0*T:], T)
				for i := r0; i < r1; i++ {
					lim := T
					if causal {
						lim = i + 1
					}
					row := pp[i*T : (i+1)*T]
					softmaxRow(row[:lim])
					clear(row[lim:])
				}
				gemm.SgemmSerial(false, false, r1-r0, hd, keys, 1, pp[r0*T:], T, v, 3*E, 0, o[r0*E:], E)
			}
		}
	})
	return out, p
}

// SelfAttentionBackward returns the gradient of the loss with respect to
// qkv [N, T, 3E], given the attention weights p that SelfAttention
// returned and gout [N, T, E], the gradient of its output.
func SelfAttentionBackward(qkv, p, gout *Tensor, heads int, causal bool, scale float32) *Tensor {
	N, T, E, hd := attnDims("tensor.SelfAttentionBackward", qkv, heads)
	if !EqualShapes(p.Shape(), []int{N, heads, T, T}) || !EqualShapes(gout.Shape(), []int{N, T, E}) {
		panic(fmt.Sprintf("tensor.SelfAttentionBackward: qkv %v, weights %v, gradient %v: want [N, T, 3E], [N, %d, T, T], [N, T, E]", qkv.Shape(), p.Shape(), gout.Shape(), heads))
	}
	qkv, p, gout = contig(qkv), contig(p), contig(gout)
	grad := Empty(N, T, 3*E)
	src, pd, gd, dd := qkv.data, p.data, gout.data, grad.data
	parallelFor(N*heads, 1, func(lo, hi int) {
		ds := getFloats(T * T) // dL/dscores of one head, reused; every row is written before it is read
		defer putFloats(ds)
		for nh := lo; nh < hi; nh++ {
			n, h := nh/heads, nh%heads
			base := n * T * 3 * E
			q, k, v := src[base+h*hd:], src[base+E+h*hd:], src[base+2*E+h*hd:]
			dq, dk, dv := dd[base+h*hd:], dd[base+E+h*hd:], dd[base+2*E+h*hd:]
			pp := pd[nh*T*T : (nh+1)*T*T]
			g := gd[n*T*E+h*hd:]
			for r0 := 0; r0 < T; r0 += attnBlock {
				r1 := min(r0+attnBlock, T)
				keys := T
				if causal {
					keys = r1
				}
				// dP = dO·vᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P))·scale
				gemm.SgemmSerial(false, true, r1-r0, keys, hd, 1, g[r0*E:], E, v, 3*E, 0, ds[r0*T:], T)
				for i := r0; i < r1; i++ {
					lim := T
					if causal {
						lim = i + 1
					}
					pr, dr := pp[i*T:i*T+lim], ds[i*T:i*T+lim]
					softmaxGradRow(pr, dr, dotRow(pr, dr), scale)
					clear(ds[i*T+lim : (i+1)*T])
				}
				// dq = dS·k over the keys the rows see
				gemm.SgemmSerial(false, false, r1-r0, hd, keys, 1, ds[r0*T:], T, k, 3*E, 0, dq[r0*3*E:], 3*E)
			}
			// dk = dSᵀ·q and dv = Pᵀ·dO: key block s0..s1 is seen by the
			// queries from s0 on when causal
			for s0 := 0; s0 < T; s0 += attnBlock {
				s1 := min(s0+attnBlock, T)
				first := 0
				if causal {
					first = s0
				}
				gemm.SgemmSerial(true, false, s1-s0, hd, T-first, 1, ds[first*T+s0:], T, q[first*3*E:], 3*E, 0, dk[s0*3*E:], 3*E)
				gemm.SgemmSerial(true, false, s1-s0, hd, T-first, 1, pp[first*T+s0:], T, g[first*E:], E, 0, dv[s0*3*E:], 3*E)
			}
		}
	})
	return grad
}

func attnDims(who string, qkv *Tensor, heads int) (n, t, e, hd int) {
	s := qkv.Shape()
	if len(s) != 3 || s[2]%3 != 0 || heads < 1 || (s[2]/3)%heads != 0 || qkv.DType() != Float32 {
		panic(fmt.Sprintf("%s: qkv %v (%v) with %d heads: want float32 [N, T, 3E], E a multiple of the heads", who, s, qkv.DType(), heads))
	}
	e = s[2] / 3
	return s[0], s[1], e, e / heads
}
