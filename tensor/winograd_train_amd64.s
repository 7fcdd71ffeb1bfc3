//go:build amd64 && !noasm

#include "textflag.h"
#include "winograd_rows_amd64.h"

// DXROW: with a patch row's e0..e3 in Y0..Y3 (8 tiles each), v0 = e0,
// v1 = e1-e2+e3, v2 = e1+e2-e0, v3 = -e3; adds v0, v1 interleaved to the
// 16 floats at DX, then v2, v3 interleaved to the 16 at DX+8.
#define DXROW \
	VSUBPS Y2, Y1, Y5 \
	VADDPS Y3, Y5, Y5 \
	VADDPS Y2, Y1, Y6 \
	VSUBPS Y0, Y6, Y6 \
	VXORPS Y3, Y15, Y7 \
	VUNPCKLPS Y5, Y0, Y8 \
	VUNPCKHPS Y5, Y0, Y9 \
	VPERM2F128 $0x20, Y9, Y8, Y10 \
	VPERM2F128 $0x31, Y9, Y8, Y11 \
	VADDPS (DX), Y10, Y10 \
	VMOVUPS Y10, (DX) \
	VADDPS 32(DX), Y11, Y11 \
	VMOVUPS Y11, 32(DX) \
	VUNPCKLPS Y7, Y6, Y8 \
	VUNPCKHPS Y7, Y6, Y9 \
	VPERM2F128 $0x20, Y9, Y8, Y10 \
	VPERM2F128 $0x31, Y9, Y8, Y11 \
	VADDPS 8(DX), Y10, Y10 \
	VMOVUPS Y10, 8(DX) \
	VADDPS 40(DX), Y11, Y11 \
	VMOVUPS Y11, 40(DX)


// func winoDX8(x *float32, cs, n int, row *float32, pw int)
// winoDXGroup for the tiles 0..n-1 (n a multiple of 8) of a tile row, 8 at
// a time, in its order: for each patch row j, columns 0 and 1 of the 8
// tiles, then their columns 2 and 3.
TEXT ·winoDX8(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ cs+8(FP), AX
	MOVQ n+16(FP), CX
	MOVQ row+24(FP), DI
	MOVQ pw+32(FP), BX
	SHLQ $2, AX
	SHLQ $2, BX
	LEAQ (AX)(AX*2), R11  // 3·cs
	LEAQ (BX)(BX*2), R12  // 3·pw
	LEAQ (SI)(AX*4), R8   // X4
	LEAQ (R8)(AX*4), R9   // X8
	LEAQ (R9)(AX*4), R10  // X12
	VPCMPEQD Y15, Y15, Y15
	VPSLLD $31, Y15, Y15  // sign bits
	SHRQ $3, CX
	JEQ dx_done

dx_loop:
	WROW0
	MOVQ DI, DX
	DXROW

	WROW1
	LEAQ (DI)(BX*1), DX
	DXROW

	WROW2
	LEAQ (DI)(BX*2), DX
	DXROW

	WROW3
	LEAQ (DI)(R12*1), DX
	DXROW

	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $64, DI
	DECQ CX
	JNE dx_loop

dx_done:
	VZEROUPPER
	RET

// func winoGrad8(r0, r1 *float32, n int, y *float32, stride int)
// winoGradTiles's transform A·dY·Aᵀ for tiles 0..n-1 (n a multiple of 8)
// of a tile row: rows r0 and r1 of dY (2n floats each), the 16 values of
// tile t to y[ξ·stride + t].
TEXT ·winoGrad8(SB), NOSPLIT, $0-40
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), DX
	MOVQ n+16(FP), CX
	MOVQ y+24(FP), DI
	MOVQ stride+32(FP), AX
	SHLQ $2, AX
	LEAQ (AX)(AX*2), R11
	LEAQ (DI)(AX*4), R8
	LEAQ (R8)(AX*4), R9
	LEAQ (R9)(AX*4), R10
	VPCMPEQD Y15, Y15, Y15
	VPSLLD $31, Y15, Y15
	SHRQ $3, CX
	JEQ gt_done

gt_loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y2, Y2  // a
	VPERMPD $0xD8, Y3, Y3  // b
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VSHUFPS $0x88, Y1, Y0, Y4
	VSHUFPS $0xDD, Y1, Y0, Y5
	VPERMPD $0xD8, Y4, Y4  // c
	VPERMPD $0xD8, Y5, Y5  // d

	// p0, q0 = a, b
	VADDPS Y3, Y2, Y6
	VSUBPS Y3, Y2, Y7
	VXORPS Y3, Y15, Y8
	VMOVUPS Y2, (DI)
	VMOVUPS Y6, (DI)(AX*1)
	VMOVUPS Y7, (DI)(AX*2)
	VMOVUPS Y8, (DI)(R11*1)
	// p1, q1 = a+c, b+d
	VADDPS Y4, Y2, Y0
	VADDPS Y5, Y3, Y1
	VADDPS Y1, Y0, Y6
	VSUBPS Y1, Y0, Y7
	VXORPS Y1, Y15, Y8
	VMOVUPS Y0, (R8)
	VMOVUPS Y6, (R8)(AX*1)
	VMOVUPS Y7, (R8)(AX*2)
	VMOVUPS Y8, (R8)(R11*1)
	// p2, q2 = a-c, b-d
	VSUBPS Y4, Y2, Y0
	VSUBPS Y5, Y3, Y1
	VADDPS Y1, Y0, Y6
	VSUBPS Y1, Y0, Y7
	VXORPS Y1, Y15, Y8
	VMOVUPS Y0, (R9)
	VMOVUPS Y6, (R9)(AX*1)
	VMOVUPS Y7, (R9)(AX*2)
	VMOVUPS Y8, (R9)(R11*1)
	// p3, q3 = -c, -d
	VXORPS Y4, Y15, Y0
	VXORPS Y5, Y15, Y1
	VADDPS Y1, Y0, Y6
	VSUBPS Y1, Y0, Y7
	VXORPS Y1, Y15, Y8
	VMOVUPS Y0, (R10)
	VMOVUPS Y6, (R10)(AX*1)
	VMOVUPS Y7, (R10)(AX*2)
	VMOVUPS Y8, (R10)(R11*1)

	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	DECQ CX
	JNE gt_loop

gt_done:
	VZEROUPPER
	RET
