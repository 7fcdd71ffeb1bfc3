//go:build amd64 && !noasm

#include "textflag.h"

// The AVX2 forms of vec_amd64.s's loops, for CPUs without AVX-512. Each
// takes 16 floats per step (two ymm registers), so that n is the same
// multiple of 16 and the sums keep the 16 lanes, and so the bits, of the
// AVX-512 loops and of sumLanesGo.

// func addVec256(dst, src *float32, n int)
TEXT ·addVec256(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JEQ add_done
add_loop:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNE add_loop
add_done:
	VZEROUPPER
	RET

// func biasReLUVec256(dst, src *float32, n int, b float32)
// As biasReLUVec512: max(0, t) by VMAXPS keeps a NaN t, and +0 added
// turns its -0 into +0.
TEXT ·biasReLUVec256(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS b+24(FP), Y4
	VXORPS Y5, Y5, Y5
	SHRQ $4, CX
	JEQ br_done
br_loop:
	VADDPS (SI), Y4, Y0
	VADDPS 32(SI), Y4, Y1
	VMAXPS Y0, Y5, Y0
	VMAXPS Y1, Y5, Y1
	VADDPS Y5, Y0, Y0
	VADDPS Y5, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNE br_loop
br_done:
	VZEROUPPER
	RET

// func biasAddVec256(dst, src *float32, n int, b float32)
TEXT ·biasAddVec256(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS b+24(FP), Y4
	SHRQ $4, CX
	JEQ ba_done
ba_loop:
	VADDPS (SI), Y4, Y0
	VADDPS 32(SI), Y4, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNE ba_loop
ba_done:
	VZEROUPPER
	RET

// func sumVec256(x *float32, n int) float32
// sumVec512's order: Y0 holds lanes 0-7, Y1 lanes 8-15; then l += l+8,
// l += l+4, l += l+2, l += l+1.
TEXT ·sumVec256(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ $4, CX
	JEQ sum_reduce
sum_loop:
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	ADDQ $64, SI
	DECQ CX
	JNE sum_loop
sum_reduce:
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

// REDUCE4_PD leaves in the low lane of xa the sum of the 16 float64 lanes
// of ya, yb, yc, yd (elements 0-3, 4-7, 8-11, 12-15 of each step) in
// REDUCE_PD's order for the AVX-512 pair (ya:yb)+(yc:yd): l += l+8, then
// l += l+4, l += l+2, l += l+1.
#define REDUCE4_PD(ya, yb, yc, yd, xa, xb) \
	VADDPD yc, ya, ya \
	VADDPD yd, yb, yb \
	VADDPD yb, ya, ya \
	VEXTRACTF128 $1, ya, xb \
	VADDPD xb, xa, xa \
	VPERMILPD $1, xa, xb \
	VADDSD xb, xa, xa

// func sum64Vec256(x *float32, n int) float64
TEXT ·sum64Vec256(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	SHRQ $4, CX
	JEQ s64_reduce
s64_loop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $64, SI
	DECQ CX
	JNE s64_loop
s64_reduce:
	REDUCE4_PD(Y0, Y1, Y2, Y3, X0, X1)
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET

// func sumSq64Vec256(x *float32, n int, mean float64) float64
TEXT ·sumSq64Vec256(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD mean+16(FP), Y8
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	SHRQ $4, CX
	JEQ sq64_reduce
sq64_loop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VSUBPD Y8, Y4, Y4
	VSUBPD Y8, Y5, Y5
	VSUBPD Y8, Y6, Y6
	VSUBPD Y8, Y7, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ $64, SI
	DECQ CX
	JNE sq64_loop
sq64_reduce:
	REDUCE4_PD(Y0, Y1, Y2, Y3, X0, X1)
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET

// func sumGradXhat256(xs, gs *float32, n int, mean, inv float32) (sg, sgx float64)
// As sumGradXhat512, 8 float32 of x̂ per register.
TEXT ·sumGradXhat256(SB), NOSPLIT, $0-48
	MOVQ xs+0(FP), SI
	MOVQ gs+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS mean+24(FP), Y14
	VBROADCASTSS inv+28(FP), Y15
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	SHRQ $4, CX
	JEQ sgx_reduce
sgx_loop:
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VSUBPS Y14, Y8, Y8
	VSUBPS Y14, Y9, Y9
	VMULPS Y15, Y8, Y8
	VMULPS Y15, Y9, Y9
	VCVTPS2PD (DI), Y10
	VADDPD Y10, Y0, Y0
	VCVTPS2PD X8, Y11
	VFMADD231PD Y11, Y10, Y4
	VCVTPS2PD 16(DI), Y10
	VADDPD Y10, Y1, Y1
	VEXTRACTF128 $1, Y8, X11
	VCVTPS2PD X11, Y11
	VFMADD231PD Y11, Y10, Y5
	VCVTPS2PD 32(DI), Y10
	VADDPD Y10, Y2, Y2
	VCVTPS2PD X9, Y11
	VFMADD231PD Y11, Y10, Y6
	VCVTPS2PD 48(DI), Y10
	VADDPD Y10, Y3, Y3
	VEXTRACTF128 $1, Y9, X11
	VCVTPS2PD X11, Y11
	VFMADD231PD Y11, Y10, Y7
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE sgx_loop
sgx_reduce:
	REDUCE4_PD(Y0, Y1, Y2, Y3, X0, X8)
	REDUCE4_PD(Y4, Y5, Y6, Y7, X4, X8)
	VZEROUPPER
	MOVSD X0, sg+32(FP)
	MOVSD X4, sgx+40(FP)
	RET

// func bnAffine256(dst, src *float32, n int, mean, scale, shift float32)
TEXT ·bnAffine256(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS mean+24(FP), Y6
	VBROADCASTSS scale+28(FP), Y7
	VBROADCASTSS shift+32(FP), Y8
	SHRQ $4, CX
	JEQ bna_done
bna_loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSUBPS Y6, Y0, Y0
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y0, Y0
	VMULPS Y7, Y1, Y1
	VADDPS Y8, Y0, Y0
	VADDPS Y8, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE bna_loop
bna_done:
	VZEROUPPER
	RET

// func bnBackward256(dst, xs, gs *float32, n int, mean, inv, wi, mg, mgx float32)
TEXT ·bnBackward256(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ xs+8(FP), SI
	MOVQ gs+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS mean+32(FP), Y6
	VBROADCASTSS inv+36(FP), Y7
	VBROADCASTSS wi+40(FP), Y8
	VBROADCASTSS mg+44(FP), Y9
	VBROADCASTSS mgx+48(FP), Y10
	SHRQ $4, CX
	JEQ bnb_done
bnb_loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y2
	VSUBPS Y6, Y0, Y0
	VSUBPS Y6, Y2, Y2
	VMULPS Y7, Y0, Y0
	VMULPS Y7, Y2, Y2
	VMULPS Y10, Y0, Y0
	VMULPS Y10, Y2, Y2
	VMOVUPS (DX), Y1
	VMOVUPS 32(DX), Y3
	VSUBPS Y9, Y1, Y1
	VSUBPS Y9, Y3, Y3
	VSUBPS Y0, Y1, Y1
	VSUBPS Y2, Y3, Y3
	VMULPS Y1, Y8, Y1
	VMULPS Y3, Y8, Y3
	VMOVUPS Y1, (DI)
	VMOVUPS Y3, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNE bnb_loop
bnb_done:
	VZEROUPPER
	RET

// func reluGrad256(dst, grad, y *float32, n int)
// dst[i] = grad[i] where y[i] > 0 (ordered: NaN is not), +0 elsewhere:
// the compare's all-ones or all-zeros mask ANDed with grad.
TEXT ·reluGrad256(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y4, Y4, Y4
	SHRQ $4, CX
	JEQ rg_done
rg_loop:
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VCMPPS $0x1e, Y4, Y0, Y0
	VCMPPS $0x1e, Y4, Y1, Y1
	VANDPS (SI), Y0, Y0
	VANDPS 32(SI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNE rg_loop
rg_done:
	VZEROUPPER
	RET
