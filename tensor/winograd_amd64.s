//go:build amd64 && !noasm

#include "textflag.h"

// func winoIn4(e, o *float32, s, n int, out *float32, stride int)
// For i < n (a multiple of 8): out[i] = e[i] - e[i+s], out[stride+i] =
// o[i] + e[i+s], out[2·stride+i] = e[i+s] - o[i], out[3·stride+i] =
// o[i] - o[i+s]: one pass of Bᵀ·d·B over rows or columns (winoInput).
TEXT ·winoIn4(SB), NOSPLIT, $0-48
	MOVQ e+0(FP), SI
	MOVQ o+8(FP), DX
	MOVQ s+16(FP), AX
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DI
	MOVQ stride+40(FP), BX
	SHLQ $2, AX
	SHLQ $2, BX
	LEAQ (DI)(BX*2), R8
	SHRQ $3, CX
	JEQ wi_done
wi_loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(AX*1), Y1
	VMOVUPS (DX), Y2
	VMOVUPS (DX)(AX*1), Y3
	VSUBPS Y1, Y0, Y4
	VADDPS Y1, Y2, Y5
	VSUBPS Y2, Y1, Y6
	VSUBPS Y3, Y2, Y7
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, (DI)(BX*1)
	VMOVUPS Y6, (R8)
	VMOVUPS Y7, (R8)(BX*1)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, R8
	DECQ CX
	JNE wi_loop
wi_done:
	VZEROUPPER
	RET

// func winoOut4(m *float32, ms, n int, y *float32, ys int)
// For i < n (a multiple of 8), with m_k = m[k·ms+i]: a_j = m_j + m_4+j +
// m_8+j, b_j = m_4+j - m_8+j - m_12+j, then y[i] = a0 + a1 + a2,
// y[ys+i] = a1 - a2 - a3, y[2·ys+i] = b0 + b1 + b2, y[3·ys+i] =
// b1 - b2 - b3: Aᵀ·M·A (winoOutput).
TEXT ·winoOut4(SB), NOSPLIT, $0-40
	MOVQ m+0(FP), SI
	MOVQ ms+8(FP), AX
	MOVQ n+16(FP), CX
	MOVQ y+24(FP), DI
	MOVQ ys+32(FP), R11
	SHLQ $2, AX
	SHLQ $2, R11
	LEAQ (AX)(AX*2), BX
	LEAQ (SI)(AX*4), R8
	LEAQ (R8)(AX*4), R9
	LEAQ (R9)(AX*4), R10
	LEAQ (R11)(R11*2), R12
	SHRQ $3, CX
	JEQ wo_done
wo_loop:
	// j = 0
	VMOVUPS (R8), Y12
	VADDPS (SI), Y12, Y0
	VADDPS (R9), Y0, Y0
	VSUBPS (R9), Y12, Y4
	VSUBPS (R10), Y4, Y4
	// j = 1
	VMOVUPS (R8)(AX*1), Y12
	VADDPS (SI)(AX*1), Y12, Y1
	VADDPS (R9)(AX*1), Y1, Y1
	VSUBPS (R9)(AX*1), Y12, Y5
	VSUBPS (R10)(AX*1), Y5, Y5
	// j = 2
	VMOVUPS (R8)(AX*2), Y12
	VADDPS (SI)(AX*2), Y12, Y2
	VADDPS (R9)(AX*2), Y2, Y2
	VSUBPS (R9)(AX*2), Y12, Y6
	VSUBPS (R10)(AX*2), Y6, Y6
	// j = 3
	VMOVUPS (R8)(BX*1), Y12
	VADDPS (SI)(BX*1), Y12, Y3
	VADDPS (R9)(BX*1), Y3, Y3
	VSUBPS (R9)(BX*1), Y12, Y7
	VSUBPS (R10)(BX*1), Y7, Y7
	// columns
	VADDPS Y1, Y0, Y8
	VADDPS Y2, Y8, Y8
	VSUBPS Y2, Y1, Y9
	VSUBPS Y3, Y9, Y9
	VADDPS Y5, Y4, Y10
	VADDPS Y6, Y10, Y10
	VSUBPS Y6, Y5, Y11
	VSUBPS Y7, Y11, Y11
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R11*1)
	VMOVUPS Y10, (DI)(R11*2)
	VMOVUPS Y11, (DI)(R12*1)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, DI
	DECQ CX
	JNE wo_loop
wo_done:
	VZEROUPPER
	RET

// func winoPoolBN(m *float32, ms, n int, k *float32, pos *int32, out *float32, arg *int32) bool
// For 8 tiles at a time (n a multiple of 8): the tile's four outputs as
// winoOut4 computes them, each then v + bias, (v - mean)·scale + shift and
// ReLU as biasReLUVec256 does it (max with 0, then + 0), and the 2×2
// window's maximum into out with its index (pos[i] plus 0, 1, ow or ow+1,
// the first maximum in window order) into arg. k holds bias, mean, scale,
// shift, then the int32s ow+1, ow, 1 and 0, each broadcast to 8 lanes.
// It reports whether a value was NaN (out and arg are then not those of
// maxPool2x2, which the caller redoes).
TEXT ·winoPoolBN(SB), NOSPLIT, $0-57
	MOVQ m+0(FP), SI
	MOVQ ms+8(FP), AX
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), R13
	MOVQ pos+32(FP), DX
	MOVQ out+40(FP), DI
	MOVQ arg+48(FP), R11
	SHLQ $2, AX
	LEAQ (AX)(AX*2), BX
	LEAQ (SI)(AX*4), R8
	LEAQ (R8)(AX*4), R9
	LEAQ (R9)(AX*4), R10
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	SHRQ $3, CX
	JEQ wp_done
wp_loop:
	VMOVUPS (R8), Y12
	VADDPS (SI), Y12, Y0
	VADDPS (R9), Y0, Y0
	VSUBPS (R9), Y12, Y4
	VSUBPS (R10), Y4, Y4
	VMOVUPS (R8)(AX*1), Y12
	VADDPS (SI)(AX*1), Y12, Y1
	VADDPS (R9)(AX*1), Y1, Y1
	VSUBPS (R9)(AX*1), Y12, Y5
	VSUBPS (R10)(AX*1), Y5, Y5
	VMOVUPS (R8)(AX*2), Y12
	VADDPS (SI)(AX*2), Y12, Y2
	VADDPS (R9)(AX*2), Y2, Y2
	VSUBPS (R9)(AX*2), Y12, Y6
	VSUBPS (R10)(AX*2), Y6, Y6
	VMOVUPS (R8)(BX*1), Y12
	VADDPS (SI)(BX*1), Y12, Y3
	VADDPS (R9)(BX*1), Y3, Y3
	VSUBPS (R9)(BX*1), Y12, Y7
	VSUBPS (R10)(BX*1), Y7, Y7
	VADDPS Y1, Y0, Y8
	VADDPS Y2, Y8, Y8
	VSUBPS Y2, Y1, Y9
	VSUBPS Y3, Y9, Y9
	VADDPS Y5, Y4, Y10
	VADDPS Y6, Y10, Y10
	VSUBPS Y6, Y5, Y11
	VSUBPS Y7, Y11, Y11
	// bias, batch norm, ReLU
	VADDPS (R13), Y8, Y8
	VADDPS (R13), Y9, Y9
	VADDPS (R13), Y10, Y10
	VADDPS (R13), Y11, Y11
	VSUBPS 32(R13), Y8, Y8
	VSUBPS 32(R13), Y9, Y9
	VSUBPS 32(R13), Y10, Y10
	VSUBPS 32(R13), Y11, Y11
	VMULPS 64(R13), Y8, Y8
	VMULPS 64(R13), Y9, Y9
	VMULPS 64(R13), Y10, Y10
	VMULPS 64(R13), Y11, Y11
	VADDPS 96(R13), Y8, Y8
	VADDPS 96(R13), Y9, Y9
	VADDPS 96(R13), Y10, Y10
	VADDPS 96(R13), Y11, Y11
	VMAXPS Y8, Y13, Y8
	VMAXPS Y9, Y13, Y9
	VMAXPS Y10, Y13, Y10
	VMAXPS Y11, Y13, Y11
	VADDPS Y13, Y8, Y8
	VADDPS Y13, Y9, Y9
	VADDPS Y13, Y10, Y10
	VADDPS Y13, Y11, Y11
	// NaN anywhere
	VCMPPS $3, Y9, Y8, Y0
	VCMPPS $3, Y11, Y10, Y1
	VORPS Y0, Y14, Y14
	VORPS Y1, Y14, Y14
	// the window's maximum and where it is first
	VMAXPS Y9, Y8, Y0
	VMAXPS Y11, Y10, Y1
	VMAXPS Y1, Y0, Y0
	VMOVUPS 128(R13), Y2
	VCMPPS $0, Y0, Y10, Y3
	VBLENDVPS Y3, 160(R13), Y2, Y2
	VCMPPS $0, Y0, Y9, Y3
	VBLENDVPS Y3, 192(R13), Y2, Y2
	VCMPPS $0, Y0, Y8, Y3
	VBLENDVPS Y3, 224(R13), Y2, Y2
	VPADDD (DX), Y2, Y2
	VMOVUPS Y0, (DI)
	VMOVDQU Y2, (R11)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, R11
	DECQ CX
	JNE wp_loop
wp_done:
	VPTEST Y14, Y14
	SETNE ret+56(FP)
	VZEROUPPER
	RET

// func winoSplit(src *float32, n int, ev, od *float32)
// For i < n (a multiple of 8): ev[i] = src[2i], od[i] = src[2i+1].
TEXT ·winoSplit(SB), NOSPLIT, $0-32
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ ev+16(FP), DI
	MOVQ od+24(FP), DX
	SHRQ $3, CX
	JEQ ws_done
ws_loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y2, Y2
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, (DX)
	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNE ws_loop
ws_done:
	VZEROUPPER
	RET

// func winoIn4Rows(e, o *float32, s, rows, tw, tw1 int, out *float32, stride int)
// winoIn4 row by row: for each of rows rows (tw1 apart in e and o, tw
// apart in out), its tw elements, in vectors of 8: the last vector of a
// row writes up to 7 elements past it, which the next row overwrites (the
// caller leaves room after the last).
TEXT ·winoIn4Rows(SB), NOSPLIT, $0-64
	MOVQ e+0(FP), SI
	MOVQ o+8(FP), DX
	MOVQ s+16(FP), AX
	MOVQ rows+24(FP), R12
	MOVQ tw+32(FP), R13
	MOVQ tw1+40(FP), R11
	MOVQ out+48(FP), DI
	MOVQ stride+56(FP), BX
	SHLQ $2, AX
	SHLQ $2, BX
	SHLQ $2, R11
	TESTQ R12, R12
	JEQ wr_done
wr_row:
	XORQ R8, R8
	MOVQ R13, CX
wr_vec:
	LEAQ (SI)(R8*1), R9
	LEAQ (DX)(R8*1), R10
	VMOVUPS (R9), Y0
	VMOVUPS (R9)(AX*1), Y1
	VMOVUPS (R10), Y2
	VMOVUPS (R10)(AX*1), Y3
	VSUBPS Y1, Y0, Y4
	VADDPS Y1, Y2, Y5
	VSUBPS Y2, Y1, Y6
	VSUBPS Y3, Y2, Y7
	LEAQ (DI)(R8*1), R9
	VMOVUPS Y4, (R9)
	VMOVUPS Y5, (R9)(BX*1)
	LEAQ (R9)(BX*2), R9
	VMOVUPS Y6, (R9)
	VMOVUPS Y7, (R9)(BX*1)
	ADDQ $32, R8
	SUBQ $8, CX
	JG wr_vec
	ADDQ R11, SI
	ADDQ R11, DX
	LEAQ (DI)(R13*4), DI
	DECQ R12
	JNE wr_row
wr_done:
	VZEROUPPER
	RET

// func winoInTiles(q *float32, l, tw1, th, tw int, out *float32, cs int)
// winoInput's two passes at once, 8 tiles at a time: q holds the padded
// plane's quarters (even rows' even and odd columns, odd rows' even and odd
// columns, each l floats of th+1 rows of tw1), and for each tile (ty, tx)
// the 16 values of Bᵀ d B go to out[ξ·cs + ty·tw + tx]: d·B along the rows,
// then Bᵀ down the columns, winoPass's expressions. A row's last vector
// writes up to 7 tiles past it (the caller's next row, next image, or room).
TEXT ·winoInTiles(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), DI
	MOVQ l+8(FP), BX
	MOVQ tw1+16(FP), R15
	MOVQ th+24(FP), AX
	MOVQ out+40(FP), R12
	MOVQ cs+48(FP), DX
	SHLQ $2, BX           // a quarter, in bytes
	SHLQ $2, R15          // a row of a quarter
	SHLQ $2, DX           // a ξ plane
	LEAQ (DX*4), SI       // four of them
	TESTQ AX, AX
	JEQ wt_done
wt_row:
	MOVQ tw+32(FP), CX
	ADDQ $7, CX
	SHRQ $3, CX
	JEQ wt_next
	MOVQ DI, R8           // padded row 2ty: even columns (odd ones a quarter on)
	LEAQ (DI)(BX*2), R10  // padded row 2ty+1
	LEAQ (R8)(R15*1), R9  // padded row 2ty+2
	LEAQ (R10)(R15*1), R11 // padded row 2ty+3
	MOVQ R12, R13
wt_loop:
	// column 0 of d·B, rows 0..3
	VMOVUPS (R8), Y0
	VSUBPS 4(R8), Y0, Y0
	VMOVUPS (R10), Y1
	VSUBPS 4(R10), Y1, Y1
	VMOVUPS (R9), Y2
	VSUBPS 4(R9), Y2, Y2
	VMOVUPS (R11), Y3
	VSUBPS 4(R11), Y3, Y3
	VSUBPS Y2, Y0, Y4
	VADDPS Y2, Y1, Y5
	VSUBPS Y1, Y2, Y6
	VSUBPS Y3, Y1, Y7
	LEAQ (R13)(SI*2), R14
	VMOVUPS Y4, (R13)
	VMOVUPS Y5, (R13)(SI*1)
	VMOVUPS Y6, (R14)
	VMOVUPS Y7, (R14)(SI*1)
	ADDQ DX, R13
	// column 1 of d·B, rows 0..3
	VMOVUPS (R8)(BX*1), Y0
	VADDPS 4(R8), Y0, Y0
	VMOVUPS (R10)(BX*1), Y1
	VADDPS 4(R10), Y1, Y1
	VMOVUPS (R9)(BX*1), Y2
	VADDPS 4(R9), Y2, Y2
	VMOVUPS (R11)(BX*1), Y3
	VADDPS 4(R11), Y3, Y3
	VSUBPS Y2, Y0, Y4
	VADDPS Y2, Y1, Y5
	VSUBPS Y1, Y2, Y6
	VSUBPS Y3, Y1, Y7
	LEAQ (R13)(SI*2), R14
	VMOVUPS Y4, (R13)
	VMOVUPS Y5, (R13)(SI*1)
	VMOVUPS Y6, (R14)
	VMOVUPS Y7, (R14)(SI*1)
	ADDQ DX, R13
	// column 2 of d·B, rows 0..3
	VMOVUPS 4(R8), Y0
	VSUBPS (R8)(BX*1), Y0, Y0
	VMOVUPS 4(R10), Y1
	VSUBPS (R10)(BX*1), Y1, Y1
	VMOVUPS 4(R9), Y2
	VSUBPS (R9)(BX*1), Y2, Y2
	VMOVUPS 4(R11), Y3
	VSUBPS (R11)(BX*1), Y3, Y3
	VSUBPS Y2, Y0, Y4
	VADDPS Y2, Y1, Y5
	VSUBPS Y1, Y2, Y6
	VSUBPS Y3, Y1, Y7
	LEAQ (R13)(SI*2), R14
	VMOVUPS Y4, (R13)
	VMOVUPS Y5, (R13)(SI*1)
	VMOVUPS Y6, (R14)
	VMOVUPS Y7, (R14)(SI*1)
	ADDQ DX, R13
	// column 3 of d·B, rows 0..3
	VMOVUPS (R8)(BX*1), Y0
	VSUBPS 4(R8)(BX*1), Y0, Y0
	VMOVUPS (R10)(BX*1), Y1
	VSUBPS 4(R10)(BX*1), Y1, Y1
	VMOVUPS (R9)(BX*1), Y2
	VSUBPS 4(R9)(BX*1), Y2, Y2
	VMOVUPS (R11)(BX*1), Y3
	VSUBPS 4(R11)(BX*1), Y3, Y3
	VSUBPS Y2, Y0, Y4
	VADDPS Y2, Y1, Y5
	VSUBPS Y1, Y2, Y6
	VSUBPS Y3, Y1, Y7
	LEAQ (R13)(SI*2), R14
	VMOVUPS Y4, (R13)
	VMOVUPS Y5, (R13)(SI*1)
	VMOVUPS Y6, (R14)
	VMOVUPS Y7, (R14)(SI*1)
	ADDQ DX, R13
	// back to ξ 0, 8 tiles on
	SUBQ SI, R13
	ADDQ $32, R13
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ CX
	JNE wt_loop
wt_next:
	ADDQ R15, DI          // the next tile row: one row of each quarter on
	MOVQ tw+32(FP), CX
	LEAQ (R12)(CX*4), R12
	DECQ AX
	JNE wt_row
wt_done:
	VZEROUPPER
	RET
