//go:build amd64 && !noasm

#include "textflag.h"

// TR4 transposes, in each 128-bit lane, the 4×4 block held by a, b, c, d
// (one row each) into o0..o3, using t0..t3 as scratch.
#define TR4(a, b, c, d, t0, t1, t2, t3, o0, o1, o2, o3) \
	VUNPCKLPS b, a, t0 \
	VUNPCKHPS b, a, t1 \
	VUNPCKLPS d, c, t2 \
	VUNPCKHPS d, c, t3 \
	VSHUFPS $0x44, t2, t0, o0 \
	VSHUFPS $0xEE, t2, t0, o1 \
	VSHUFPS $0x44, t3, t1, o2 \
	VSHUFPS $0xEE, t3, t1, o3

// func transpose8(rows *[8]*float32, n int, dst *float32, ldd int)
//
// For 8 source rows and n blocks of 8 k steps: dst[p*ldd + i] =
// rows[i][p] for p < 8n, i < 8, each k step stored as one 8-float row.
// Lane l of a register holds row l%4 (low half) or row 4+l%4 (high half),
// so the transposes stay inside 128-bit lanes (cross-lane shuffles are
// slow on Zen): VINSERTF128 puts rows 4-7 in the high halves at load time.
TEXT ·transpose8(SB), NOSPLIT, $0-32
	MOVQ rows+0(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	MOVQ 48(AX), R14
	MOVQ 56(AX), R15
	MOVQ n+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ ldd+24(FP), DX
	SHLQ $2, DX                   // ldd in bytes
	LEAQ (DX)(DX*2), BX           // 3·ldd
	XORQ SI, SI                   // byte offset into the rows
	TESTQ CX, CX
	JEQ tr8_done
tr8_loop:
	VMOVUPS (R8)(SI*1), X0
	VINSERTF128 $1, (R12)(SI*1), Y0, Y0
	VMOVUPS (R9)(SI*1), X1
	VINSERTF128 $1, (R13)(SI*1), Y1, Y1
	VMOVUPS (R10)(SI*1), X2
	VINSERTF128 $1, (R14)(SI*1), Y2, Y2
	VMOVUPS (R11)(SI*1), X3
	VINSERTF128 $1, (R15)(SI*1), Y3, Y3
	VMOVUPS 16(R8)(SI*1), X4
	VINSERTF128 $1, 16(R12)(SI*1), Y4, Y4
	VMOVUPS 16(R9)(SI*1), X5
	VINSERTF128 $1, 16(R13)(SI*1), Y5, Y5
	VMOVUPS 16(R10)(SI*1), X6
	VINSERTF128 $1, 16(R14)(SI*1), Y6, Y6
	VMOVUPS 16(R11)(SI*1), X7
	VINSERTF128 $1, 16(R15)(SI*1), Y7, Y7
	TR4(Y0, Y1, Y2, Y3, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	VMOVUPS Y12, (DI)
	VMOVUPS Y13, (DI)(DX*1)
	VMOVUPS Y14, (DI)(DX*2)
	VMOVUPS Y15, (DI)(BX*1)
	LEAQ (DI)(DX*4), DI
	TR4(Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	VMOVUPS Y12, (DI)
	VMOVUPS Y13, (DI)(DX*1)
	VMOVUPS Y14, (DI)(DX*2)
	VMOVUPS Y15, (DI)(BX*1)
	LEAQ (DI)(DX*4), DI
	ADDQ $32, SI
	DECQ CX
	JNE tr8_loop
tr8_done:
	VZEROUPPER
	RET
