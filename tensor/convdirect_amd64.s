//go:build amd64 && !noasm

#include "textflag.h"

// func convDirect(p *float32, off *int, w *float32, taps int, out *float32, n int)
// For q < n (a multiple of 8): out[q] = Σ_t w[t]·p[q+off[t]], t in order,
// each term one fused multiply-add onto an accumulator that starts at +0:
// the micro-kernels' sum of the same products (k256x6 and its kin).
TEXT ·convDirect(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	MOVQ off+8(FP), R8
	MOVQ w+16(FP), R9
	MOVQ taps+24(FP), R10
	MOVQ out+32(FP), DI
	MOVQ n+40(FP), CX
cd_loop32:
	CMPQ CX, $32
	JLT cd_loop8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ R11, R11
cd_tap32:
	MOVQ (R8)(R11*8), AX
	VBROADCASTSS (R9)(R11*4), Y4
	LEAQ (SI)(AX*4), DX
	VFMADD231PS (DX), Y4, Y0
	VFMADD231PS 32(DX), Y4, Y1
	VFMADD231PS 64(DX), Y4, Y2
	VFMADD231PS 96(DX), Y4, Y3
	INCQ R11
	CMPQ R11, R10
	JLT cd_tap32
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP cd_loop32
cd_loop8:
	CMPQ CX, $8
	JLT cd_done
	VXORPS Y0, Y0, Y0
	XORQ R11, R11
cd_tap8:
	MOVQ (R8)(R11*8), AX
	VBROADCASTSS (R9)(R11*4), Y4
	VFMADD231PS (SI)(AX*4), Y4, Y0
	INCQ R11
	CMPQ R11, R10
	JLT cd_tap8
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP cd_loop8
cd_done:
	VZEROUPPER
	RET
