//go:build amd64 && !noasm

#include "textflag.h"

// func addVec512(dst, src *float32, n int)
// dst[i] += src[i] for n a multiple of 16.
TEXT ·addVec512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JEQ add_done
add_loop:
	VMOVUPS (DI), Z0
	VADDPS (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNE add_loop
add_done:
	VZEROUPPER
	RET

// func biasReLUVec512(dst, src *float32, n int, b float32)
// dst[i] = max(src[i]+b, 0) with Go's max semantics, for n a multiple of
// 16: VMAXPS returns its second source when either is NaN, so max(0, t)
// keeps a NaN t; it returns -0 for t = -0, which adding +0 turns into +0.
TEXT ·biasReLUVec512(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS b+24(FP), Z1
	VPXORD Z2, Z2, Z2
	SHRQ $4, CX
	JEQ br_done
br_loop:
	VADDPS (SI), Z1, Z0
	VMAXPS Z0, Z2, Z0
	VADDPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNE br_loop
br_done:
	VZEROUPPER
	RET

// func biasAddVec512(dst, src *float32, n int, b float32)
// dst[i] = src[i] + b for n a multiple of 16.
TEXT ·biasAddVec512(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS b+24(FP), Z1
	SHRQ $4, CX
	JEQ ba_done
ba_loop:
	VADDPS (SI), Z1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNE ba_loop
ba_done:
	VZEROUPPER
	RET
