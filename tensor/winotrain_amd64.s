//go:build amd64 && !noasm

#include "textflag.h"

// ROW4 stores a row (x0, x1, x2) of G·g as x0, (x0+x1+x2)/2, (x0-x1+x2)/2,
// x2 to the four planes from P (AX bytes apart, R11 = 3·AX), in
// winoKernel's order of operations.
#define ROW4(X0, X1, X2, P) \
	VADDPS X1, X0, Y9 \
	VADDPS X2, Y9, Y9 \
	VMULPS Y15, Y9, Y9 \
	VSUBPS X1, X0, Y10 \
	VADDPS X2, Y10, Y10 \
	VMULPS Y15, Y10, Y10 \
	VMOVUPS X0, (P) \
	VMOVUPS Y9, (P)(AX*1) \
	VMOVUPS Y10, (P)(AX*2) \
	VMOVUPS X2, (P)(R11*1)

// func winoKern8(w *float32, ls, n int, u *float32, us int)
// winoKernel for n groups of 8 kernels: lane l of group g reads its
// kernel at w + (8·g + l)·ls (in bytes), and the 16 values of the group
// go to u[ξ·us + 8·g ...+8]. Each lane's first 8 values are loaded as a
// row and the 8 rows transposed; the ninth loaded one by one and
// interleaved.
TEXT ·winoKern8(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ls+8(FP), BX
	MOVQ n+16(FP), CX
	MOVQ u+24(FP), DI
	MOVQ us+32(FP), AX
	LEAQ (BX)(BX*2), R13  // 3·ls
	MOVQ BX, R14
	SHLQ $3, R14          // 8·ls: the next group
	SHLQ $2, AX
	LEAQ (AX)(AX*2), R11  // 3·us
	MOVL $0x3f000000, R12 // 0.5
	MOVQ R12, X15
	VBROADCASTSS X15, Y15
	TESTQ CX, CX
	JEQ k8_done

k8_loop:
	LEAQ (SI)(BX*4), DX
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(BX*1), Y1
	VMOVUPS (SI)(BX*2), Y2
	VMOVUPS (SI)(R13*1), Y3
	VMOVUPS (DX), Y4
	VMOVUPS (DX)(BX*1), Y5
	VMOVUPS (DX)(BX*2), Y6
	VMOVUPS (DX)(R13*1), Y7
	// transpose: Y0..Y7 become g0..g7 of the 8 lanes
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y0
	VSHUFPS $0x44, Y10, Y8, Y1
	VSHUFPS $0xEE, Y10, Y8, Y2
	VSHUFPS $0x44, Y11, Y9, Y3
	VSHUFPS $0xEE, Y11, Y9, Y4
	VSHUFPS $0x44, Y14, Y12, Y5
	VSHUFPS $0xEE, Y14, Y12, Y6
	VSHUFPS $0x44, Y0, Y13, Y7
	VSHUFPS $0xEE, Y0, Y13, Y8
	VPERM2F128 $0x20, Y5, Y1, Y0
	VPERM2F128 $0x31, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y1
	VPERM2F128 $0x31, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y2
	VPERM2F128 $0x31, Y7, Y3, Y6
	VPERM2F128 $0x20, Y8, Y4, Y3
	VPERM2F128 $0x31, Y8, Y4, Y7
	VMOVAPS Y9, Y4
	VMOVAPS Y10, Y5
	// g8
	VMOVSS 32(SI), X8
	VMOVSS 32(SI)(BX*1), X9
	VUNPCKLPS X9, X8, X8
	VMOVSS 32(SI)(BX*2), X10
	VMOVSS 32(SI)(R13*1), X11
	VUNPCKLPS X11, X10, X10
	VMOVLHPS X10, X8, X8
	VMOVSS 32(DX), X9
	VMOVSS 32(DX)(BX*1), X10
	VUNPCKLPS X10, X9, X9
	VMOVSS 32(DX)(BX*2), X11
	VMOVSS 32(DX)(R13*1), X12
	VUNPCKLPS X12, X11, X11
	VMOVLHPS X11, X9, X9
	VINSERTF128 $1, X9, Y8, Y8

	LEAQ (DI)(AX*4), R8
	LEAQ (R8)(AX*4), R9
	LEAQ (R9)(AX*4), R10

	// row a: g0, g1, g2
	ROW4(Y0, Y1, Y2, DI)
	// row d: g6, g7, g8
	ROW4(Y6, Y7, Y8, R10)
	// row b: (g_i + g_3+i + g_6+i)/2
	VADDPS Y3, Y0, Y11
	VADDPS Y6, Y11, Y11
	VMULPS Y15, Y11, Y11
	VADDPS Y4, Y1, Y12
	VADDPS Y7, Y12, Y12
	VMULPS Y15, Y12, Y12
	VADDPS Y5, Y2, Y13
	VADDPS Y8, Y13, Y13
	VMULPS Y15, Y13, Y13
	ROW4(Y11, Y12, Y13, R8)
	// row c: (g_i - g_3+i + g_6+i)/2
	VSUBPS Y3, Y0, Y11
	VADDPS Y6, Y11, Y11
	VMULPS Y15, Y11, Y11
	VSUBPS Y4, Y1, Y12
	VADDPS Y7, Y12, Y12
	VMULPS Y15, Y12, Y12
	VSUBPS Y5, Y2, Y13
	VADDPS Y8, Y13, Y13
	VMULPS Y15, Y13, Y13
	ROW4(Y11, Y12, Y13, R9)

	ADDQ R14, SI
	ADDQ $32, DI
	DECQ CX
	JNE k8_loop

k8_done:
	VZEROUPPER
	RET
