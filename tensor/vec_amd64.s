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

// func sumVec512(x *float32, n int) float32
// The sum of x[0:n], n a multiple of 16, in sumLanes's order: 16 lane
// sums, lane l adding x[l], x[l+16], ... in turn, then the lanes added
// pairwise, l += l+8, l += l+4, l += l+2, l += l+1.
TEXT ·sumVec512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VPXORD Z0, Z0, Z0
	SHRQ $4, CX
	JEQ sum_reduce
sum_loop:
	VADDPS (SI), Z0, Z0
	ADDQ $64, SI
	DECQ CX
	JNE sum_loop
sum_reduce:
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET
