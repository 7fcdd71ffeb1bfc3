//go:build amd64 && !noasm

#include "textflag.h"

// SIXROWS: the arguments (in *[6]*float32, out *float32, stride,
// blocks int) of wino43In6 and wino43Out6: the six rows at R8..R13, out at
// DI and its fourth row at SI, the stride in bytes in DX, blocks in BX, CX
// the offset 0; 2 and 4 broadcast in Y12 and Y13.
#define SIXROWS \
	MOVQ in+0(FP), AX \
	MOVQ 0(AX), R8 \
	MOVQ 8(AX), R9 \
	MOVQ 16(AX), R10 \
	MOVQ 24(AX), R11 \
	MOVQ 32(AX), R12 \
	MOVQ 40(AX), R13 \
	MOVQ out+8(FP), DI \
	MOVQ stride+16(FP), DX \
	MOVQ blocks+24(FP), BX \
	SHLQ $2, DX \
	LEAQ (DI)(DX*2), SI \
	ADDQ DX, SI \
	XORQ CX, CX \
	MOVL $0x40000000, AX \
	MOVQ AX, X12 \
	VBROADCASTSS X12, Y12 \
	MOVL $0x40800000, AX \
	MOVQ AX, X13 \
	VBROADCASTSS X13, Y13


// func wino43In6(in *[6]*float32, out *float32, stride, blocks int)
// F(4×4, 3×3)'s input transform Bᵀ·d over blocks·8 columns of six rows
// d0..d5 (in[k]), into six rows stride floats apart from out, with
// wino43In6Go's operations in its order (no FMA):
// 4d0+d4-5d2, (d3+d4)-4(d1+d2), (d4-d3)+4(d1-d2), (d4-d2)±2(d3-d1),
// 4d1+d5-5d3.
TEXT ·wino43In6(SB), NOSPLIT, $0-32
	SIXROWS
	MOVL $0x40a00000, AX // 5
	MOVQ AX, X14
	VBROADCASTSS X14, Y14
	TESTQ BX, BX
	JEQ wi_done
wi_loop:
	VMOVUPS (R8)(CX*1), Y0
	VMOVUPS (R9)(CX*1), Y1
	VMOVUPS (R10)(CX*1), Y2
	VMOVUPS (R11)(CX*1), Y3
	VMOVUPS (R12)(CX*1), Y4
	VMOVUPS (R13)(CX*1), Y5
	// 4d0 + d4 - 5d2
	VMULPS Y13, Y0, Y6
	VADDPS Y4, Y6, Y6
	VMULPS Y14, Y2, Y7
	VSUBPS Y7, Y6, Y6
	VMOVUPS Y6, (DI)
	// (d3 + d4) - 4(d1 + d2)
	VADDPS Y2, Y1, Y6
	VMULPS Y13, Y6, Y6
	VADDPS Y4, Y3, Y7
	VSUBPS Y6, Y7, Y7
	VMOVUPS Y7, (DI)(DX*1)
	// (d4 - d3) + 4(d1 - d2)
	VSUBPS Y2, Y1, Y6
	VMULPS Y13, Y6, Y6
	VSUBPS Y3, Y4, Y7
	VADDPS Y6, Y7, Y7
	VMOVUPS Y7, (DI)(DX*2)
	// (d4 - d2) ± 2(d3 - d1)
	VSUBPS Y2, Y4, Y6
	VSUBPS Y1, Y3, Y7
	VMULPS Y12, Y7, Y7
	VADDPS Y7, Y6, Y8
	VSUBPS Y7, Y6, Y9
	VMOVUPS Y8, (SI)
	VMOVUPS Y9, (SI)(DX*1)
	// 4d1 + d5 - 5d3
	VMULPS Y13, Y1, Y6
	VADDPS Y5, Y6, Y6
	VMULPS Y14, Y3, Y7
	VSUBPS Y7, Y6, Y6
	VMOVUPS Y6, (SI)(DX*2)
	ADDQ $32, CX
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ BX
	JNE wi_loop
wi_done:
	VZEROUPPER
	RET

// func wino43Out6(in *[6]*float32, out *float32, stride, blocks int)
// F(4×4, 3×3)'s output transform Aᵀ·m over blocks·8 columns of six rows
// m0..m5 (in[k]), into four rows stride floats apart from out, with
// wino43Out6Go's operations in its order: with a = m1+m2, b = m1-m2,
// c = m3+m4, d = m3-m4: m0+a+c, b+2d, a+4c, b+8d+m5.
TEXT ·wino43Out6(SB), NOSPLIT, $0-32
	SIXROWS
	MOVL $0x41000000, AX // 8
	MOVQ AX, X14
	VBROADCASTSS X14, Y14
	TESTQ BX, BX
	JEQ wo_done
wo_loop:
	VMOVUPS (R8)(CX*1), Y0
	VMOVUPS (R9)(CX*1), Y1
	VMOVUPS (R10)(CX*1), Y2
	VMOVUPS (R11)(CX*1), Y3
	VMOVUPS (R12)(CX*1), Y4
	VMOVUPS (R13)(CX*1), Y5
	VADDPS Y2, Y1, Y6
	VSUBPS Y2, Y1, Y7
	VADDPS Y4, Y3, Y8
	VSUBPS Y4, Y3, Y9
	// m0 + a + c
	VADDPS Y6, Y0, Y10
	VADDPS Y8, Y10, Y10
	VMOVUPS Y10, (DI)
	// b + 2d
	VMULPS Y12, Y9, Y10
	VADDPS Y10, Y7, Y10
	VMOVUPS Y10, (DI)(DX*1)
	// a + 4c
	VMULPS Y13, Y8, Y10
	VADDPS Y10, Y6, Y10
	VMOVUPS Y10, (DI)(DX*2)
	// b + 8d + m5
	VMULPS Y14, Y9, Y10
	VADDPS Y10, Y7, Y10
	VADDPS Y5, Y10, Y10
	VMOVUPS Y10, (SI)
	ADDQ $32, CX
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ BX
	JNE wo_loop
wo_done:
	VZEROUPPER
	RET

// func wino43Split(src *float32, blocks int, p0, p1, p2, p3 *float32)
// Splits blocks·32 floats of a padded row into its four column phases:
// p_q[k] = src[4k+q] for k < blocks·8. Each 128-bit lane holds one group
// of four columns; a 4×4 transpose within the lanes of groups k, k+1,
// k+2, k+3 (low lanes) and k+4..k+7 (high lanes) gives each phase's 8
// consecutive columns in order.
TEXT ·wino43Split(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ blocks+8(FP), BX
	MOVQ p0+16(FP), R8
	MOVQ p1+24(FP), R9
	MOVQ p2+32(FP), R10
	MOVQ p3+40(FP), R11
	XORQ CX, CX
	TESTQ BX, BX
	JEQ ws_done
ws_loop:
	VMOVUPS 0(SI), X0
	VMOVUPS 16(SI), X1
	VMOVUPS 32(SI), X2
	VMOVUPS 48(SI), X3
	VINSERTF128 $1, 64(SI), Y0, Y0
	VINSERTF128 $1, 80(SI), Y1, Y1
	VINSERTF128 $1, 96(SI), Y2, Y2
	VINSERTF128 $1, 112(SI), Y3, Y3
	VUNPCKLPS Y1, Y0, Y4
	VUNPCKHPS Y1, Y0, Y5
	VUNPCKLPS Y3, Y2, Y6
	VUNPCKHPS Y3, Y2, Y7
	VUNPCKLPD Y6, Y4, Y0
	VUNPCKHPD Y6, Y4, Y1
	VUNPCKLPD Y7, Y5, Y2
	VUNPCKHPD Y7, Y5, Y3
	VMOVUPS Y0, (R8)(CX*1)
	VMOVUPS Y1, (R9)(CX*1)
	VMOVUPS Y2, (R10)(CX*1)
	VMOVUPS Y3, (R11)(CX*1)
	ADDQ $128, SI
	ADDQ $32, CX
	DECQ BX
	JNE ws_loop
ws_done:
	VZEROUPPER
	RET

// func wino43Join(p0, p1, p2, p3 *float32, blocks int, dst *float32)
// wino43Split's inverse: dst[4k+q] = p_q[k] for k < blocks·8, the four
// outputs of each tile's row laid side by side. The 4×4 transposes within
// the lanes of the phases' 8 tiles give tiles k..k+3 in the low lanes and
// k+4..k+7 in the high ones.
TEXT ·wino43Join(SB), NOSPLIT, $0-48
	MOVQ p0+0(FP), R8
	MOVQ p1+8(FP), R9
	MOVQ p2+16(FP), R10
	MOVQ p3+24(FP), R11
	MOVQ blocks+32(FP), BX
	MOVQ dst+40(FP), DI
	XORQ CX, CX
	TESTQ BX, BX
	JEQ wj_done
wj_loop:
	VMOVUPS (R8)(CX*1), Y0
	VMOVUPS (R9)(CX*1), Y1
	VMOVUPS (R10)(CX*1), Y2
	VMOVUPS (R11)(CX*1), Y3
	VUNPCKLPS Y1, Y0, Y4
	VUNPCKHPS Y1, Y0, Y5
	VUNPCKLPS Y3, Y2, Y6
	VUNPCKHPS Y3, Y2, Y7
	VUNPCKLPD Y6, Y4, Y0 // tiles k, k+4
	VUNPCKHPD Y6, Y4, Y1 // k+1, k+5
	VUNPCKLPD Y7, Y5, Y2 // k+2, k+6
	VUNPCKHPD Y7, Y5, Y3 // k+3, k+7
	VMOVUPS X0, 0(DI)
	VMOVUPS X1, 16(DI)
	VMOVUPS X2, 32(DI)
	VMOVUPS X3, 48(DI)
	VEXTRACTF128 $1, Y0, 64(DI)
	VEXTRACTF128 $1, Y1, 80(DI)
	VEXTRACTF128 $1, Y2, 96(DI)
	VEXTRACTF128 $1, Y3, 112(DI)
	ADDQ $32, CX
	ADDQ $128, DI
	DECQ BX
	JNE wj_loop
wj_done:
	VZEROUPPER
	RET

// func wino43U6(w *float32, idx *int32, n int, k *float32, scr *float32, tmp *float32, run int)
// F(4×4, 3×3)'s kernel transform G g Gᵀ in float32 for n input channels
// of a block of 6 output channels: lanes 0–5 of each vector are the 6
// output channels, gathered from w at idx (their kernels' offsets, int32;
// lanes 6 and 7 repeat lane 5), the channels' kernels 9 floats apart.
// k holds ¼, -⅙, 1/24, ⅙, 1/12. The 6·6 values of channel i go to
// tmp[ξ·run + 6i], 8 floats each (the last two overwritten by channel
// i+1, or spare: run leaves room); scr holds 18 vectors of G·g.
TEXT ·wino43U6(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ idx+8(FP), AX
	VMOVDQU (AX), Y9
	MOVQ n+16(FP), BX
	MOVQ k+24(FP), AX
	VBROADCASTSS 0(AX), Y11
	VBROADCASTSS 4(AX), Y12
	VBROADCASTSS 8(AX), Y13
	VBROADCASTSS 12(AX), Y14
	VBROADCASTSS 16(AX), Y15
	MOVQ scr+32(FP), R8
	MOVQ tmp+40(FP), DI
	MOVQ run+48(FP), DX
	SHLQ $2, DX
	TESTQ BX, BX
	JEQ wu_done
wu_chan:
	// G·g by the columns j of g: row i at scr[(3i+j)·8]; G's rows are
	// a/4, -(a+b+c)/6, -(a-b+c)/6, a/24+b/12+c/6, a/24-b/12+c/6, c
	VPCMPEQD Y10, Y10, Y10
	VPXOR Y0, Y0, Y0
	VGATHERDPS Y10, 0(SI)(Y9*4), Y0
	VPCMPEQD Y10, Y10, Y10
	VPXOR Y1, Y1, Y1
	VGATHERDPS Y10, 12(SI)(Y9*4), Y1
	VPCMPEQD Y10, Y10, Y10
	VPXOR Y2, Y2, Y2
	VGATHERDPS Y10, 24(SI)(Y9*4), Y2
	VADDPS Y2, Y0, Y3
	VMULPS Y11, Y0, Y4
	VADDPS Y1, Y3, Y5
	VMULPS Y12, Y5, Y5
	VSUBPS Y1, Y3, Y6
	VMULPS Y12, Y6, Y6
	VMULPS Y13, Y0, Y7
	VMULPS Y14, Y2, Y8
	VADDPS Y8, Y7, Y7
	VMULPS Y15, Y1, Y8
	VADDPS Y8, Y7, Y3
	VSUBPS Y8, Y7, Y7
	VMOVUPS Y4, 0(R8)
	VMOVUPS Y5, 96(R8)
	VMOVUPS Y6, 192(R8)
	VMOVUPS Y3, 288(R8)
	VMOVUPS Y7, 384(R8)
	VMOVUPS Y2, 480(R8)
	VPCMPEQD Y10, Y10, Y10
	VPXOR Y0, Y0, Y0
	VGATHERDPS Y10, 4(SI)(Y9*4), Y0
	VPCMPEQD Y10, Y10, Y10
	VPXOR Y1, Y1, Y1
	VGATHERDPS Y10, 16(SI)(Y9*4), Y1
	VPCMPEQD Y10, Y10, Y10
	VPXOR Y2, Y2, Y2
	VGATHERDPS Y10, 28(SI)(Y9*4), Y2
	VADDPS Y2, Y0, Y3
	VMULPS Y11, Y0, Y4
	VADDPS Y1, Y3, Y5
	VMULPS Y12, Y5, Y5
	VSUBPS Y1, Y3, Y6
	VMULPS Y12, Y6, Y6
	VMULPS Y13, Y0, Y7
	VMULPS Y14, Y2, Y8
	VADDPS Y8, Y7, Y7
	VMULPS Y15, Y1, Y8
	VADDPS Y8, Y7, Y3
	VSUBPS Y8, Y7, Y7
	VMOVUPS Y4, 32(R8)
	VMOVUPS Y5, 128(R8)
	VMOVUPS Y6, 224(R8)
	VMOVUPS Y3, 320(R8)
	VMOVUPS Y7, 416(R8)
	VMOVUPS Y2, 512(R8)
	VPCMPEQD Y10, Y10, Y10
	VPXOR Y0, Y0, Y0
	VGATHERDPS Y10, 8(SI)(Y9*4), Y0
	VPCMPEQD Y10, Y10, Y10
	VPXOR Y1, Y1, Y1
	VGATHERDPS Y10, 20(SI)(Y9*4), Y1
	VPCMPEQD Y10, Y10, Y10
	VPXOR Y2, Y2, Y2
	VGATHERDPS Y10, 32(SI)(Y9*4), Y2
	VADDPS Y2, Y0, Y3
	VMULPS Y11, Y0, Y4
	VADDPS Y1, Y3, Y5
	VMULPS Y12, Y5, Y5
	VSUBPS Y1, Y3, Y6
	VMULPS Y12, Y6, Y6
	VMULPS Y13, Y0, Y7
	VMULPS Y14, Y2, Y8
	VADDPS Y8, Y7, Y7
	VMULPS Y15, Y1, Y8
	VADDPS Y8, Y7, Y3
	VSUBPS Y8, Y7, Y7
	VMOVUPS Y4, 64(R8)
	VMOVUPS Y5, 160(R8)
	VMOVUPS Y6, 256(R8)
	VMOVUPS Y3, 352(R8)
	VMOVUPS Y7, 448(R8)
	VMOVUPS Y2, 544(R8)
	// (G·g)·Gᵀ: row i of G·g gives ξ = 6i..6i+5
	MOVQ DI, R10
	VMOVUPS 0(R8), Y0
	VMOVUPS 32(R8), Y1
	VMOVUPS 64(R8), Y2
	VADDPS Y2, Y0, Y3
	VMULPS Y11, Y0, Y4
	VADDPS Y1, Y3, Y5
	VMULPS Y12, Y5, Y5
	VSUBPS Y1, Y3, Y6
	VMULPS Y12, Y6, Y6
	VMULPS Y13, Y0, Y7
	VMULPS Y14, Y2, Y8
	VADDPS Y8, Y7, Y7
	VMULPS Y15, Y1, Y8
	VADDPS Y8, Y7, Y3
	VSUBPS Y8, Y7, Y7
	VMOVUPS Y4, (R10)
	ADDQ DX, R10
	VMOVUPS Y5, (R10)
	ADDQ DX, R10
	VMOVUPS Y6, (R10)
	ADDQ DX, R10
	VMOVUPS Y3, (R10)
	ADDQ DX, R10
	VMOVUPS Y7, (R10)
	ADDQ DX, R10
	VMOVUPS Y2, (R10)
	ADDQ DX, R10
	VMOVUPS 96(R8), Y0
	VMOVUPS 128(R8), Y1
	VMOVUPS 160(R8), Y2
	VADDPS Y2, Y0, Y3
	VMULPS Y11, Y0, Y4
	VADDPS Y1, Y3, Y5
	VMULPS Y12, Y5, Y5
	VSUBPS Y1, Y3, Y6
	VMULPS Y12, Y6, Y6
	VMULPS Y13, Y0, Y7
	VMULPS Y14, Y2, Y8
	VADDPS Y8, Y7, Y7
	VMULPS Y15, Y1, Y8
	VADDPS Y8, Y7, Y3
	VSUBPS Y8, Y7, Y7
	VMOVUPS Y4, (R10)
	ADDQ DX, R10
	VMOVUPS Y5, (R10)
	ADDQ DX, R10
	VMOVUPS Y6, (R10)
	ADDQ DX, R10
	VMOVUPS Y3, (R10)
	ADDQ DX, R10
	VMOVUPS Y7, (R10)
	ADDQ DX, R10
	VMOVUPS Y2, (R10)
	ADDQ DX, R10
	VMOVUPS 192(R8), Y0
	VMOVUPS 224(R8), Y1
	VMOVUPS 256(R8), Y2
	VADDPS Y2, Y0, Y3
	VMULPS Y11, Y0, Y4
	VADDPS Y1, Y3, Y5
	VMULPS Y12, Y5, Y5
	VSUBPS Y1, Y3, Y6
	VMULPS Y12, Y6, Y6
	VMULPS Y13, Y0, Y7
	VMULPS Y14, Y2, Y8
	VADDPS Y8, Y7, Y7
	VMULPS Y15, Y1, Y8
	VADDPS Y8, Y7, Y3
	VSUBPS Y8, Y7, Y7
	VMOVUPS Y4, (R10)
	ADDQ DX, R10
	VMOVUPS Y5, (R10)
	ADDQ DX, R10
	VMOVUPS Y6, (R10)
	ADDQ DX, R10
	VMOVUPS Y3, (R10)
	ADDQ DX, R10
	VMOVUPS Y7, (R10)
	ADDQ DX, R10
	VMOVUPS Y2, (R10)
	ADDQ DX, R10
	VMOVUPS 288(R8), Y0
	VMOVUPS 320(R8), Y1
	VMOVUPS 352(R8), Y2
	VADDPS Y2, Y0, Y3
	VMULPS Y11, Y0, Y4
	VADDPS Y1, Y3, Y5
	VMULPS Y12, Y5, Y5
	VSUBPS Y1, Y3, Y6
	VMULPS Y12, Y6, Y6
	VMULPS Y13, Y0, Y7
	VMULPS Y14, Y2, Y8
	VADDPS Y8, Y7, Y7
	VMULPS Y15, Y1, Y8
	VADDPS Y8, Y7, Y3
	VSUBPS Y8, Y7, Y7
	VMOVUPS Y4, (R10)
	ADDQ DX, R10
	VMOVUPS Y5, (R10)
	ADDQ DX, R10
	VMOVUPS Y6, (R10)
	ADDQ DX, R10
	VMOVUPS Y3, (R10)
	ADDQ DX, R10
	VMOVUPS Y7, (R10)
	ADDQ DX, R10
	VMOVUPS Y2, (R10)
	ADDQ DX, R10
	VMOVUPS 384(R8), Y0
	VMOVUPS 416(R8), Y1
	VMOVUPS 448(R8), Y2
	VADDPS Y2, Y0, Y3
	VMULPS Y11, Y0, Y4
	VADDPS Y1, Y3, Y5
	VMULPS Y12, Y5, Y5
	VSUBPS Y1, Y3, Y6
	VMULPS Y12, Y6, Y6
	VMULPS Y13, Y0, Y7
	VMULPS Y14, Y2, Y8
	VADDPS Y8, Y7, Y7
	VMULPS Y15, Y1, Y8
	VADDPS Y8, Y7, Y3
	VSUBPS Y8, Y7, Y7
	VMOVUPS Y4, (R10)
	ADDQ DX, R10
	VMOVUPS Y5, (R10)
	ADDQ DX, R10
	VMOVUPS Y6, (R10)
	ADDQ DX, R10
	VMOVUPS Y3, (R10)
	ADDQ DX, R10
	VMOVUPS Y7, (R10)
	ADDQ DX, R10
	VMOVUPS Y2, (R10)
	ADDQ DX, R10
	VMOVUPS 480(R8), Y0
	VMOVUPS 512(R8), Y1
	VMOVUPS 544(R8), Y2
	VADDPS Y2, Y0, Y3
	VMULPS Y11, Y0, Y4
	VADDPS Y1, Y3, Y5
	VMULPS Y12, Y5, Y5
	VSUBPS Y1, Y3, Y6
	VMULPS Y12, Y6, Y6
	VMULPS Y13, Y0, Y7
	VMULPS Y14, Y2, Y8
	VADDPS Y8, Y7, Y7
	VMULPS Y15, Y1, Y8
	VADDPS Y8, Y7, Y3
	VSUBPS Y8, Y7, Y7
	VMOVUPS Y4, (R10)
	ADDQ DX, R10
	VMOVUPS Y5, (R10)
	ADDQ DX, R10
	VMOVUPS Y6, (R10)
	ADDQ DX, R10
	VMOVUPS Y3, (R10)
	ADDQ DX, R10
	VMOVUPS Y7, (R10)
	ADDQ DX, R10
	VMOVUPS Y2, (R10)
	ADDQ DX, R10
	ADDQ $36, SI
	ADDQ $24, DI
	DECQ BX
	JNE wu_chan
wu_done:
	VZEROUPPER
	RET
