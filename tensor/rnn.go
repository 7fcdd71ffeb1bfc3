package tensor

import (
	"fmt"

	"github.com/backprop-go/backprop/internal/gemm"
)

// A fused LSTM layer: one product per step for all four gates, the gate
// nonlinearities and the cell update in one pass over the step's N·4H
// values, and a backward pass through time that reuses its buffers and
// computes the recurrent weight's gradient as one product over all steps.

// LSTMTape is what [LSTMForward] keeps for [LSTMBackward]: per time step
// the gate activations, tanh of the cell, and the states the step read.
type LSTMTape struct {
	T, N, H int
	Reverse bool
	gates   []float32 // [T, N, 4H]: σ(i), σ(f), tanh(g), σ(o)
	tanhC   []float32 // [T, N, H]: tanh(c_t)
	hPrev   []float32 // [T, N, H]: the h the step at t read
	cPrev   []float32 // [T, N, H]: the c the step at t read
}

// LSTMForward runs one LSTM layer (PyTorch's gate order i, f, g, o) over
// proj [T, N, 4H], the projected inputs x_t·W_ihᵀ + b_ih, from the states
// h0, c0 [N, H], with the recurrent weight whh [4H, H] and bias bhh [4H]
// (nil for none), from the last step to the first when reverse. It returns
// y [T+1, N, H]: the hidden state of each time step, then the final cell
// state; and the tape that LSTMBackward takes. Its values are those of the
// composite cell, gates = proj_t + (h·W_hhᵀ + b_hh), with float32 sigmoid
// and tanh (a few units in the last place from float64's).
func LSTMForward(proj, h0, c0, whh, bhh *Tensor, reverse bool) (y *Tensor, tape *LSTMTape) {
	T, N, H := lstmDims("tensor.LSTMForward", proj, h0, c0, whh, bhh)
	proj, h0, c0, whh = contig(proj), contig(h0), contig(c0), contig(whh)
	var bias []float32
	if bhh != nil {
		bias = contig(bhh).data
	}
	G, NH := 4*H, N*H
	tape = &LSTMTape{T: T, N: N, H: H, Reverse: reverse,
		gates: make([]float32, T*N*G), tanhC: make([]float32, T*NH), hPrev: make([]float32, T*NH), cPrev: make([]float32, T*NH)}
	y = Empty(T+1, N, H)
	yd := y.data
	hw := make([]float32, N*G)
	// W_hhᵀ [H, 4H] packed once for the T products of the loop (packing it
	// per step cost a transpose each time)
	wt := gemm.PackB(true, H, G, whh.data, H)
	h, c := h0.data, c0.data
	cBufs := [2][]float32{make([]float32, NH), make([]float32, NH)}
	for k := range T {
		t := k
		if reverse {
			t = T - 1 - k
		}
		copy(tape.hPrev[t*NH:], h)
		copy(tape.cPrev[t*NH:], c)
		beta := float32(0)
		if bias != nil { // as Linear adds its bias: the product accumulates onto it
			for n := range N {
				copy(hw[n*G:(n+1)*G], bias)
			}
			beta = 1
		}
		wt.Sgemm(N, 1, h, H, beta, hw, G)
		gt := tape.gates[t*N*G : (t+1)*N*G]
		pt := proj.data[t*N*G : (t+1)*N*G]
		ht, tc := yd[t*NH:(t+1)*NH], tape.tanhC[t*NH:(t+1)*NH]
		cNew := yd[T*NH : (T+1)*NH] // the last step leaves the final cell here; earlier steps pass through
		if k < T-1 {
			cNew = cBufs[k%2] // never c, which is the other one (or c0)
		}
		lstmGates(pt, hw, c, gt, cNew, ht, tc, N, H)
		h, c = ht, cNew
	}
	return y, tape
}

// lstmGates computes one step's gates from the projected input p and the
// recurrent product hw (with its bias), then c' = f·c + i·g and
// h' = o·tanh(c'), row by row ([lstmGatesRow]: float32 sigmoid and tanh,
// the cell update rounded as the composite cell's Mul, Mul, Add).
func lstmGates(p, hw, c, gates, cNew, hNew, tanhC []float32, N, H int) {
	G := 4 * H
	parallelFor(N, lstmMinRows(H), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			lstmGatesRow(p[n*G:(n+1)*G], hw[n*G:(n+1)*G], c[n*H:(n+1)*H], gates[n*G:(n+1)*G],
				cNew[n*H:(n+1)*H], hNew[n*H:(n+1)*H], tanhC[n*H:(n+1)*H], H)
		}
	})
}

// lstmMinRows is the fewest batch rows of H hidden units worth a
// goroutine in a step's element-wise pass (each row is independent of the
// others, so any split gives the same results).
func lstmMinRows(H int) int { return max(1, (1<<11)/max(H, 1)) }

// LSTMBackward returns the gradients of the loss with respect to
// LSTMForward's proj [T, N, 4H], h0 and c0 [N, H], whh [4H, H] and bhh [4H]
// (nil when hasBias is false), given gy [T+1, N, H], the gradient of its
// y: through time, c' = f·c + i·g and h' = o·tanh(c') give
// dc = dc' ·f + …, and each gate's pre-activation gradient is its
// activation's derivative (σ(1−σ), 1−tanh²) times its share.
func LSTMBackward(tape *LSTMTape, whh, gy *Tensor, hasBias bool) (dproj, dh0, dc0, dwhh, dbhh *Tensor) {
	T, N, H := tape.T, tape.N, tape.H
	if !EqualShapes(gy.Shape(), []int{T + 1, N, H}) {
		panic(fmt.Sprintf("tensor.LSTMBackward: gradient %v, want [%d %d %d]", gy.Shape(), T+1, N, H))
	}
	whh, gy = contig(whh), contig(gy)
	G, NH := 4*H, N*H
	dproj = Empty(T, N, G)
	da := dproj.data
	dh, dc := make([]float32, NH), make([]float32, NH)
	copy(dc, gy.data[T*NH:])
	w := gemm.PackB(false, G, H, whh.data, H) // W_hh [4H, H], packed once for the T products
	for k := T - 1; k >= 0; k-- {
		t := k
		if tape.Reverse {
			t = T - 1 - k
		}
		gt, tc, cp := tape.gates[t*N*G:(t+1)*N*G], tape.tanhC[t*NH:(t+1)*NH], tape.cPrev[t*NH:(t+1)*NH]
		gyt := gy.data[t*NH : (t+1)*NH]
		dat := da[t*N*G : (t+1)*N*G]
		parallelFor(N, lstmMinRows(H), func(lo, hi int) {
			for n := lo; n < hi; n++ {
				r := n * H
				lstmBackRow(gt[n*G:(n+1)*G], dat[n*G:(n+1)*G], gyt[r:r+H], dh[r:r+H], tc[r:r+H], cp[r:r+H], dc[r:r+H], H)
			}
		})
		// to the previous hidden state: dh = da·W_hh
		w.Sgemm(N, 1, dat, G, 0, dh, H)
	}
	dh0, dc0 = New(dh, N, H), New(dc, N, H)
	dwhh = Empty(G, H)
	// dW_hh = Σ_t da_tᵀ·h_{t-1}, one product over all T·N rows
	Gemm(true, false, G, H, T*N, da, G, tape.hPrev, H, 0, dwhh.data, H)
	if hasBias {
		dbhh = SumRows(da, T*N, G)
	}
	return dproj, dh0, dc0, dwhh, dbhh
}

func lstmDims(who string, proj, h0, c0, whh, bhh *Tensor) (t, n, h int) {
	ps, hs := proj.Shape(), h0.Shape()
	ok := len(ps) == 3 && len(hs) == 2 && hs[0] == ps[1] && ps[2] == 4*hs[1] &&
		EqualShapes(c0.Shape(), hs) && EqualShapes(whh.Shape(), []int{ps[2], hs[1]}) &&
		(bhh == nil || EqualShapes(bhh.Shape(), []int{ps[2]}))
	for _, x := range []*Tensor{proj, h0, c0, whh, bhh} {
		ok = ok && (x == nil || x.DType() == Float32)
	}
	if !ok {
		panic(fmt.Sprintf("%s: proj %v, h0 %v, c0 %v, weight_hh %v: want float32 [T, N, 4H], [N, H], [N, H], [4H, H]", who, ps, hs, c0.Shape(), whh.Shape()))
	}
	return ps[0], ps[1], hs[1]
}
