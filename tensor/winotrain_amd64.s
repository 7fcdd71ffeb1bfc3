//go:build amd64 && !noasm

#include "textflag.h"
#include "winograd_rows_amd64.h"

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

// func winoWG8(mw *float32, oc, n int, dw *float32)
// winoWeightGrad for n groups of 8 kernels: the 16 planes of dU oc floats
// apart from mw, the group's 9·8 values of dW to dw (72 floats a group),
// in winoWeightGrad's order of operations; the 8×9 result is written as
// its first 8 columns transposed and its ninth lane by lane.
TEXT ·winoWG8(SB), NOSPLIT, $0-32
	MOVQ mw+0(FP), SI
	MOVQ oc+8(FP), AX
	MOVQ n+16(FP), CX
	MOVQ dw+24(FP), DI
	SHLQ $2, AX
	LEAQ (AX)(AX*2), R11  // 3·oc
	LEAQ (SI)(AX*4), R8   // X4
	LEAQ (R8)(AX*4), R9   // X8
	LEAQ (R9)(AX*4), R10  // X12
	MOVL $0x3f000000, R12 // 0.5
	TESTQ CX, CX
	JEQ wg_done

wg_loop:
	MOVQ R12, X15
	VBROADCASTSS X15, Y15
	// Gᵀ·X: r_j, r_4+j, r_8+j = x0 + s, d, s + x3 in Y_j, Y_4+j, Y_8+j
	// for column j, s = (x1+x2)/2, d = (x1-x2)/2
	VMOVUPS (R8), Y12
	VMOVUPS (R9), Y13
	VADDPS Y13, Y12, Y14
	VMULPS Y15, Y14, Y14
	VSUBPS Y13, Y12, Y4
	VMULPS Y15, Y4, Y4
	VADDPS (SI), Y14, Y0
	VADDPS (R10), Y14, Y8
	VMOVUPS (R8)(AX*1), Y12
	VMOVUPS (R9)(AX*1), Y13
	VADDPS Y13, Y12, Y14
	VMULPS Y15, Y14, Y14
	VSUBPS Y13, Y12, Y5
	VMULPS Y15, Y5, Y5
	VADDPS (SI)(AX*1), Y14, Y1
	VADDPS (R10)(AX*1), Y14, Y9
	VMOVUPS (R8)(AX*2), Y12
	VMOVUPS (R9)(AX*2), Y13
	VADDPS Y13, Y12, Y14
	VMULPS Y15, Y14, Y14
	VSUBPS Y13, Y12, Y6
	VMULPS Y15, Y6, Y6
	VADDPS (SI)(AX*2), Y14, Y2
	VADDPS (R10)(AX*2), Y14, Y10
	VMOVUPS (R8)(R11*1), Y12
	VMOVUPS (R9)(R11*1), Y13
	VADDPS Y13, Y12, Y14
	VMULPS Y15, Y14, Y14
	VSUBPS Y13, Y12, Y7
	VMULPS Y15, Y7, Y7
	VADDPS (SI)(R11*1), Y14, Y3
	VADDPS (R10)(R11*1), Y14, Y11
	// (Gᵀ·X)·G, row by row: K0..K8 in Y14, Y13, Y12, Y2, Y1, Y0, Y5, Y4, Y3
	VADDPS Y2, Y1, Y12
	VMULPS Y15, Y12, Y12
	VSUBPS Y2, Y1, Y13
	VMULPS Y15, Y13, Y13
	VADDPS Y12, Y0, Y14
	VADDPS Y3, Y12, Y12
	VADDPS Y6, Y5, Y0
	VMULPS Y15, Y0, Y0
	VSUBPS Y6, Y5, Y1
	VMULPS Y15, Y1, Y1
	VADDPS Y0, Y4, Y2
	VADDPS Y7, Y0, Y0
	VADDPS Y10, Y9, Y3
	VMULPS Y15, Y3, Y3
	VSUBPS Y10, Y9, Y4
	VMULPS Y15, Y4, Y4
	VADDPS Y3, Y8, Y5
	VADDPS Y11, Y3, Y3
	// transpose K0..K7: row l (kernel l's first 8 values) to 36·l(DI)
	VUNPCKLPS Y13, Y14, Y6
	VUNPCKHPS Y13, Y14, Y7
	VUNPCKLPS Y2, Y12, Y8
	VUNPCKHPS Y2, Y12, Y9
	VUNPCKLPS Y0, Y1, Y10
	VUNPCKHPS Y0, Y1, Y11
	VUNPCKLPS Y4, Y5, Y14
	VUNPCKHPS Y4, Y5, Y13
	VSHUFPS $0x44, Y8, Y6, Y12
	VSHUFPS $0xEE, Y8, Y6, Y2
	VSHUFPS $0x44, Y9, Y7, Y1
	VSHUFPS $0xEE, Y9, Y7, Y0
	VSHUFPS $0x44, Y14, Y10, Y5
	VSHUFPS $0xEE, Y14, Y10, Y4
	VSHUFPS $0x44, Y13, Y11, Y6
	VSHUFPS $0xEE, Y13, Y11, Y8
	VPERM2F128 $0x20, Y5, Y12, Y7
	VMOVUPS Y7, (DI)
	VPERM2F128 $0x31, Y5, Y12, Y9
	VMOVUPS Y9, 144(DI)
	VPERM2F128 $0x20, Y4, Y2, Y7
	VMOVUPS Y7, 36(DI)
	VPERM2F128 $0x31, Y4, Y2, Y9
	VMOVUPS Y9, 180(DI)
	VPERM2F128 $0x20, Y6, Y1, Y7
	VMOVUPS Y7, 72(DI)
	VPERM2F128 $0x31, Y6, Y1, Y9
	VMOVUPS Y9, 216(DI)
	VPERM2F128 $0x20, Y8, Y0, Y7
	VMOVUPS Y7, 108(DI)
	VPERM2F128 $0x31, Y8, Y0, Y9
	VMOVUPS Y9, 252(DI)
	// K8, lane l to 36·l+32(DI)
	VMOVSS X3, 32(DI)
	VEXTRACTPS $1, X3, 68(DI)
	VEXTRACTPS $2, X3, 104(DI)
	VEXTRACTPS $3, X3, 140(DI)
	VEXTRACTF128 $1, Y3, X3
	VMOVSS X3, 176(DI)
	VEXTRACTPS $1, X3, 212(DI)
	VEXTRACTPS $2, X3, 248(DI)
	VEXTRACTPS $3, X3, 284(DI)

	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $288, DI
	DECQ CX
	JNE wg_loop

wg_done:
	VZEROUPPER
	RET

// PROW: with a patch row's e0..e3 in Y0..Y3 (8 tiles each), stores
// v0 = e0, v1 = e1-e2+e3, v2 = e1+e2-e0, v3 = -e3 to the four planes
// from DX (BX bytes apart, R12 = 3·BX).
#define PROW \
	VSUBPS Y2, Y1, Y5 \
	VADDPS Y3, Y5, Y5 \
	VADDPS Y2, Y1, Y6 \
	VSUBPS Y0, Y6, Y6 \
	VXORPS Y3, Y15, Y7 \
	VMOVUPS Y0, (DX) \
	VMOVUPS Y5, (DX)(BX*1) \
	VMOVUPS Y6, (DX)(BX*2) \
	VMOVUPS Y7, (DX)(R12*1)

// func winoPatch8(x *float32, cs, n int, p *float32, ps int)
// winoPatches for tiles 0..n-1 (n a multiple of 8), 8 at a time: dV's 16
// planes cs floats apart from x, the patches' 16 planes ps apart from p.
TEXT ·winoPatch8(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ cs+8(FP), AX
	MOVQ n+16(FP), CX
	MOVQ p+24(FP), DI
	MOVQ ps+32(FP), BX
	SHLQ $2, AX
	SHLQ $2, BX
	LEAQ (AX)(AX*2), R11  // 3·cs
	LEAQ (BX)(BX*2), R12  // 3·ps
	LEAQ (SI)(AX*4), R8   // X4
	LEAQ (R8)(AX*4), R9   // X8
	LEAQ (R9)(AX*4), R10  // X12
	VPCMPEQD Y15, Y15, Y15
	VPSLLD $31, Y15, Y15  // sign bits
	SHRQ $3, CX
	JEQ pt_done

pt_loop:
	WROW0
	MOVQ DI, DX
	PROW

	WROW1
	LEAQ (DX)(BX*4), DX
	PROW

	WROW2
	LEAQ (DX)(BX*4), DX
	PROW

	WROW3
	LEAQ (DX)(BX*4), DX
	PROW

	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, DI
	DECQ CX
	JNE pt_loop

pt_done:
	VZEROUPPER
	RET

// func winoZip8(a, b *float32, n int, dst *float32)
// dst[2i], dst[2i+1] = a[i], b[i] for i < n (n a multiple of 8).
TEXT ·winoZip8(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ n+16(FP), CX
	MOVQ dst+24(FP), DI
	SHRQ $3, CX
	JEQ zip_done

zip_loop:
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VUNPCKLPS Y1, Y0, Y2
	VUNPCKHPS Y1, Y0, Y3
	VPERM2F128 $0x20, Y3, Y2, Y4
	VPERM2F128 $0x31, Y3, Y2, Y5
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $64, DI
	DECQ CX
	JNE zip_loop

zip_done:
	VZEROUPPER
	RET
