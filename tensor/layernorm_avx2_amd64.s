//go:build amd64 && !noasm

#include "textflag.h"

// AVX2 forms of layer norm's row loops (see their Go twins in
// layernorm.go), 8 floats per step over a multiple of 8, rounding every
// operation as the Go loops do (no fused multiply-add) and summing in
// float64 in 8 lanes combined as sum8 combines them, so that the results
// are the same bit for bit with and without the assembly.

// SUM8D leaves in the low lane of XA the sum of the 8 float64 lanes held
// in YA (lanes 0-3) and YB (lanes 4-7), in sum8's order. XT is scratch.
#define SUM8D(YA, YB, XA, XT) \
	VADDPD YB, YA, YA; \
	VEXTRACTF128 $1, YA, XT; \
	VADDPD XT, XA, XA; \
	VPERMILPD $1, XA, XT; \
	VADDSD XT, XA, XA

// func lnForward8(dst, src, w, b *float32, n int, mean, inv float32)
// dst[i] = ((src[i] - mean)·inv)·w[i] + b[i].
TEXT ·lnForward8(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ b+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y6
	VBROADCASTSS inv+44(FP), Y7
lf_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	VMULPS Y7, Y0, Y0
	VMULPS (DX), Y0, Y0
	VADDPS (R8), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	SUBQ $8, CX
	JNE lf_loop
	VZEROUPPER
	RET

// func lnBackRow8(xs, gs, w, dxh *float32, n int, mean, inv float32) (s1, s2 float64)
// dxh[i] = gs[i]·w[i]; s1 = Σ dxh[i], s2 = Σ dxh[i]·x̂[i] (the product in
// float32, the sums in float64), x̂ = (xs[i] - mean)·inv.
TEXT ·lnBackRow8(SB), NOSPLIT, $0-64
	MOVQ xs+0(FP), SI
	MOVQ gs+8(FP), DX
	MOVQ w+16(FP), R8
	MOVQ dxh+24(FP), DI
	MOVQ n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y6
	VBROADCASTSS inv+44(FP), Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
lr_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	VMULPS Y7, Y0, Y0          // x̂
	VMOVUPS (DX), Y1
	VMULPS (R8), Y1, Y1        // dx̂ = g·w
	VMOVUPS Y1, (DI)
	VMULPS Y1, Y0, Y0          // dx̂·x̂
	VCVTPS2PD X1, Y2
	VEXTRACTF128 $1, Y1, X3
	VCVTPS2PD X3, Y3
	VADDPD Y2, Y8, Y8
	VADDPD Y3, Y9, Y9
	VCVTPS2PD X0, Y2
	VEXTRACTF128 $1, Y0, X3
	VCVTPS2PD X3, Y3
	VADDPD Y2, Y10, Y10
	VADDPD Y3, Y11, Y11
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	SUBQ $8, CX
	JNE lr_loop
	SUM8D(Y8, Y9, X8, X4)
	SUM8D(Y10, Y11, X10, X4)
	MOVSD X8, s1+48(FP)
	MOVSD X10, s2+56(FP)
	VZEROUPPER
	RET

// func lnBackDx8(ds, dxh, xs *float32, n int, mean, inv, m1, m2 float32)
// ds[i] = inv·((dxh[i] - m1) - x̂·m2), x̂ = (xs[i] - mean)·inv.
TEXT ·lnBackDx8(SB), NOSPLIT, $0-48
	MOVQ ds+0(FP), DI
	MOVQ dxh+8(FP), DX
	MOVQ xs+16(FP), SI
	MOVQ n+24(FP), CX
	VBROADCASTSS mean+32(FP), Y6
	VBROADCASTSS inv+36(FP), Y7
	VBROADCASTSS m1+40(FP), Y8
	VBROADCASTSS m2+44(FP), Y9
ld_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	VMULPS Y7, Y0, Y0          // x̂
	VMULPS Y9, Y0, Y0          // x̂·m2
	VMOVUPS (DX), Y1
	VSUBPS Y8, Y1, Y1          // dx̂ - m1
	VSUBPS Y0, Y1, Y1
	VMULPS Y7, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNE ld_loop
	VZEROUPPER
	RET

// func lnParams8(dw, db, xs, gs *float32, n int, mean, inv float32)
// dw[i] += gs[i]·x̂, db[i] += gs[i], x̂ = (xs[i] - mean)·inv.
TEXT ·lnParams8(SB), NOSPLIT, $0-48
	MOVQ dw+0(FP), DI
	MOVQ db+8(FP), R8
	MOVQ xs+16(FP), SI
	MOVQ gs+24(FP), DX
	MOVQ n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y6
	VBROADCASTSS inv+44(FP), Y7
lp_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	VMULPS Y7, Y0, Y0
	VMOVUPS (DX), Y1
	VMULPS Y1, Y0, Y0
	VADDPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	VADDPS (R8), Y1, Y1
	VMOVUPS Y1, (R8)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, R8
	SUBQ $8, CX
	JNE lp_loop
	VZEROUPPER
	RET
