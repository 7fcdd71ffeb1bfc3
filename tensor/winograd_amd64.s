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
