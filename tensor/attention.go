package tensor

import (
	"fmt"
	"math"

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
		ds := make([]float32, T*T) // dL/dscores of one head, reused
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
					var dot float32
					for j, pv := range pr {
						dot += pv * dr[j]
					}
					for j, pv := range pr {
						dr[j] = pv * (dr[j] - dot) * scale
					}
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

// softmaxRow replaces x by softmax(x), in float32 with [Exp32].
func softmaxRow(x []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float32
	for i, v := range x {
		e := Exp32(v - m)
		x[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] *= inv
	}
}

// Exp32 returns eˣ in float32 to within about one unit in the last place
// (Cephes' expf: x = n·ln2 + r, a degree-6 polynomial in r, times 2ⁿ), about
// four times faster than float32(math.Exp(float64(x))). It returns 0 below
// −87.3 (where eˣ leaves the normal float32s), +Inf above 88.7, NaN for NaN.
func Exp32(x float32) float32 {
	if !(x >= -87.33654) { // below the normal float32s, or NaN
		if x != x {
			return x
		}
		return 0
	}
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	return exp32Core(x)
}

// exp32Core is Exp32 on [−87.3, 88.7]. Adding 1.5·2²³ rounds x·log₂e to
// the nearest integer n (float32 arithmetic in Go is exact IEEE single),
// so no call to Floor; the remainder r = x − n·ln2 (in two parts) lies in
// [−ln2/2, ln2/2].
func exp32Core(x float32) float32 {
	t := x*1.44269504088896341 + 12582912
	n := int32(math.Float32bits(t)) - 0x4b400000
	fx := t - 12582912
	x -= fx * 0.693359375
	x -= fx * -2.12194440e-4
	y := ((((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x+5.0000001201e-1)*(x*x) + x + 1)
	// 2ⁿ in two halves: n reaches 128 near the top, beyond the exponent
	return y * math.Float32frombits(uint32(n>>1+127)<<23) * math.Float32frombits(uint32(n-n>>1+127)<<23)
}
