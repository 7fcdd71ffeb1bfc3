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

// Lane indices 0, 2, ..., 30 and 1, 3, ..., 31: VPERMT2PS picks the even
// and the odd elements of 32 consecutive floats with them.
DATA evenIdx<>+0(SB)/8, $0x0000000200000000
DATA evenIdx<>+8(SB)/8, $0x0000000600000004
DATA evenIdx<>+16(SB)/8, $0x0000000a00000008
DATA evenIdx<>+24(SB)/8, $0x0000000e0000000c
DATA evenIdx<>+32(SB)/8, $0x0000001200000010
DATA evenIdx<>+40(SB)/8, $0x0000001600000014
DATA evenIdx<>+48(SB)/8, $0x0000001a00000018
DATA evenIdx<>+56(SB)/8, $0x0000001e0000001c
GLOBL evenIdx<>(SB), RODATA|NOPTR, $64

DATA oddIdx<>+0(SB)/8, $0x0000000300000001
DATA oddIdx<>+8(SB)/8, $0x0000000700000005
DATA oddIdx<>+16(SB)/8, $0x0000000b00000009
DATA oddIdx<>+24(SB)/8, $0x0000000f0000000d
DATA oddIdx<>+32(SB)/8, $0x0000001300000011
DATA oddIdx<>+40(SB)/8, $0x0000001700000015
DATA oddIdx<>+48(SB)/8, $0x0000001b00000019
DATA oddIdx<>+56(SB)/8, $0x0000001f0000001d
GLOBL oddIdx<>(SB), RODATA|NOPTR, $64

// func maxPool2x2Vec512(plane, out *float32, arg *int32, w, oh, ow int) bool
//
// maxPool2x2 over a whole plane, 16 windows at a time (a row's last block
// under a mask). It returns false, having stored an unspecified part, when
// a window holds NaN; the caller then redoes the plane in Go.
//
// Per window (v0 v1 / v2 v3): best = the largest; for a maximum of zeros,
// +0 unless all four are -0 (as Go's max: the AND of the four sign bits);
// off = w+1, then w where v2 == best, 1 where v1 == best, 0 where v0 ==
// best: the first maximum in window order.
TEXT ·maxPool2x2Vec512(SB), NOSPLIT, $0-49
	MOVQ plane+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ arg+16(FP), DX
	MOVQ w+24(FP), R8
	MOVQ oh+32(FP), R9
	MOVQ ow+40(FP), R10
	VMOVDQU32 evenIdx<>(SB), Z28
	VMOVDQU32 oddIdx<>(SB), Z29
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z30
	VPXORD Z31, Z31, Z31
	MOVL R8, AX
	VPBROADCASTD AX, Z26          // w
	INCL AX
	VPBROADCASTD AX, Z27          // w+1
	MOVL $1, AX
	VPBROADCASTD AX, Z25          // 1
	XORQ R11, R11                 // oy
	TESTQ R9, R9
	JEQ mp_ok
mp_row:
	// R12: row 2·oy of the plane, R13: the row below (byte addresses).
	MOVQ R11, AX
	IMULQ R8, AX
	SHLQ $1, AX                   // 2·oy·w
	MOVQ AX, BX                   // base index of the row pair
	LEAQ (SI)(AX*4), R12
	LEAQ (R12)(R8*4), R13
	XORQ R14, R14                 // ox0
mp_block:
	MOVQ R10, CX
	SUBQ R14, CX
	CMPQ CX, $16
	JLE mp_cnt
	MOVQ $16, CX
mp_cnt:
	// K3: cnt output lanes; K1, K2: the 2·cnt input floats, 16 + 16.
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K3
	MOVQ CX, R15
	SHLQ $1, R15                  // 2·cnt
	MOVQ R15, AX
	CMPQ AX, $16
	JLE mp_lo
	MOVQ $16, AX
mp_lo:
	MOVL AX, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	MOVQ R15, CX
	SUBQ $16, CX
	XORL AX, AX
	CMPQ CX, $0
	JLE mp_hi
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
mp_hi:
	KMOVW AX, K2
	LEAQ (R12)(R14*8), AX
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS.Z 64(AX), K2, Z1
	LEAQ (R13)(R14*8), AX
	VMOVUPS.Z (AX), K1, Z2
	VMOVUPS.Z 64(AX), K2, Z3
	VMOVAPS Z0, Z4
	VPERMT2PS Z1, Z28, Z4         // v0
	VMOVAPS Z0, Z5
	VPERMT2PS Z1, Z29, Z5         // v1
	VMOVAPS Z2, Z6
	VPERMT2PS Z3, Z28, Z6         // v2
	VMOVAPS Z2, Z7
	VPERMT2PS Z3, Z29, Z7         // v3
	VCMPPS $3, Z5, Z4, K4
	VCMPPS $3, Z7, Z6, K5
	KORW K4, K5, K4
	KORTESTW K4, K4
	JNE mp_nan
	VMAXPS Z5, Z4, Z8
	VMAXPS Z7, Z6, Z9
	VMAXPS Z9, Z8, Z8
	VPANDD Z5, Z4, Z10
	VPANDD Z7, Z6, Z11
	VPANDD Z11, Z10, Z10
	VPANDD Z30, Z10, Z10          // ±0 by the AND of the signs
	VCMPPS $0, Z31, Z8, K5
	VMOVAPS Z10, K5, Z8
	VMOVDQA32 Z27, Z12
	VCMPPS $0, Z8, Z6, K5
	VMOVDQA32 Z26, K5, Z12
	VCMPPS $0, Z8, Z5, K5
	VMOVDQA32 Z25, K5, Z12
	VCMPPS $0, Z8, Z4, K5
	VMOVDQA32 Z31, K5, Z12
	LEAQ (BX)(R14*2), AX          // 2·oy·w + 2·ox0
	VPBROADCASTD AX, Z13
	VPADDD Z28, Z13, Z13          // + 2·lane
	VPADDD Z13, Z12, Z12
	MOVQ R11, AX
	IMULQ R10, AX
	ADDQ R14, AX                  // oy·ow + ox0
	VMOVUPS Z8, K3, (DI)(AX*4)
	VMOVDQU32 Z12, K3, (DX)(AX*4)
	ADDQ $16, R14
	CMPQ R14, R10
	JLT mp_block
	INCQ R11
	CMPQ R11, R9
	JLT mp_row
mp_ok:
	MOVB $1, ret+48(FP)
	VZEROUPPER
	RET
mp_nan:
	MOVB $0, ret+48(FP)
	VZEROUPPER
	RET

DATA iota16<>+0(SB)/8, $0x0000000100000000
DATA iota16<>+8(SB)/8, $0x0000000300000002
DATA iota16<>+16(SB)/8, $0x0000000500000004
DATA iota16<>+24(SB)/8, $0x0000000700000006
DATA iota16<>+32(SB)/8, $0x0000000900000008
DATA iota16<>+40(SB)/8, $0x0000000b0000000a
DATA iota16<>+48(SB)/8, $0x0000000d0000000c
DATA iota16<>+56(SB)/8, $0x0000000f0000000e
GLOBL iota16<>(SB), RODATA|NOPTR, $64

// func gatherBias512(dst, src *float32, n, stride int, b float32, mode int)
//
// dst[j] = src[j·stride], plus b when mode&1, then max(·, 0) when mode&2
// (as biasReLUVec512), 16 lanes at a time by VGATHERDPS, the last block
// under a mask: the strided read of a position-major GEMM result.
TEXT ·gatherBias512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), R10
	MOVQ stride+24(FP), R8
	VBROADCASTSS b+32(FP), Z2
	MOVQ mode+40(FP), R9
	VPXORD Z3, Z3, Z3
	VMOVDQU32 iota16<>(SB), Z1
	MOVL R8, AX
	VPBROADCASTD AX, Z4
	VPMULLD Z4, Z1, Z1            // lane·stride
	SHLQ $6, R8                   // bytes per 16 elements
gb_loop:
	TESTQ R10, R10
	JLE gb_done
	MOVQ R10, CX
	CMPQ CX, $16
	JLE gb_mask
	MOVQ $16, CX
gb_mask:
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	KMOVW AX, K2
	VMOVAPS Z3, Z0
	VGATHERDPS (SI)(Z1*4), K1, Z0
	TESTQ $1, R9
	JEQ gb_nobias
	VADDPS Z2, Z0, Z0
gb_nobias:
	TESTQ $2, R9
	JEQ gb_store
	VMAXPS Z0, Z3, Z0
	VADDPS Z3, Z0, Z0
gb_store:
	VMOVUPS Z0, K2, (DI)
	ADDQ R8, SI
	ADDQ $64, DI
	SUBQ CX, R10
	JMP gb_loop
gb_done:
	VZEROUPPER
	RET

// func unpool512(dst, gp, y *float32, arg *int32, n, size int) bool
// For i < n: where y[i] > 0, dst[arg[i]] = +0 + gp[i] (scattered); other
// entries of dst are left alone. Returns false, having written at most
// earlier chunks, if some arg[i] is not in [0, size).
TEXT ·unpool512(SB), NOSPLIT, $0-49
	MOVQ dst+0(FP), DI
	MOVQ gp+8(FP), SI
	MOVQ y+16(FP), BX
	MOVQ arg+24(FP), DX
	MOVQ n+32(FP), CX
	VPBROADCASTD size+40(FP), Z5
	VPXORD Z4, Z4, Z4
unpool_loop:
	CMPQ CX, $16
	JLT unpool_tail
	VMOVDQU32 (DX), Z0
	VPCMPUD $1, Z5, Z0, K1
	KORTESTW K1, K1
	JCC unpool_bad
	VMOVUPS (SI), Z1
	VADDPS Z4, Z1, Z1
	VMOVUPS (BX), Z2
	VCMPPS $0x1e, Z4, Z2, K2
	VSCATTERDPS Z1, K2, (DI)(Z0*4)
	ADDQ $64, SI
	ADDQ $64, BX
	ADDQ $64, DX
	SUBQ $16, CX
	JMP unpool_loop
unpool_tail:
	TESTQ CX, CX
	JEQ unpool_ok
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K3
	VMOVDQU32.Z (DX), K3, Z0
	VPCMPUD $1, Z5, Z0, K3, K1
	KXORW K1, K3, K4
	KORTESTW K4, K4
	JNE unpool_bad
	VMOVUPS.Z (SI), K3, Z1
	VADDPS Z4, Z1, Z1
	VMOVUPS.Z (BX), K3, Z2
	VCMPPS $0x1e, Z4, Z2, K3, K2
	VSCATTERDPS Z1, K2, (DI)(Z0*4)
unpool_ok:
	MOVB $1, ret+48(FP)
	VZEROUPPER
	RET
unpool_bad:
	MOVB $0, ret+48(FP)
	VZEROUPPER
	RET

// Batch norm's loops. The sums are in float64, in several partial sums of
// 8 lanes each, reduced in a fixed order at the end.

// REDUCE_PD leaves in the low lane of xa the sum of the 16 float64 lanes
// of za and zb (ya, xa and yb, xb name the same registers' lower parts),
// halving in a fixed order.
#define REDUCE_PD(za, zb, ya, yb, xa, xb) \
	VADDPD zb, za, za \
	VEXTRACTF64X4 $1, za, yb \
	VADDPD yb, ya, ya \
	VEXTRACTF128 $1, ya, xb \
	VADDPD xb, xa, xa \
	VPERMILPD $1, xa, xb \
	VADDSD xb, xa, xa

// func sum64Vec512(x *float32, n int) float64
// Σ x[i] for n a multiple of 16.
TEXT ·sum64Vec512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	SHRQ $4, CX
	JEQ s64_reduce
s64_loop:
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VADDPD Z4, Z0, Z0
	VADDPD Z5, Z1, Z1
	ADDQ $64, SI
	DECQ CX
	JNE s64_loop
s64_reduce:
	REDUCE_PD(Z0, Z1, Y0, Y1, X0, X1)
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET

// func sumSq64Vec512(x *float32, n int, mean float64) float64
// Σ (x[i] - mean)² for n a multiple of 16.
TEXT ·sumSq64Vec512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD mean+16(FP), Z6
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	SHRQ $4, CX
	JEQ sq64_reduce
sq64_loop:
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VSUBPD Z6, Z4, Z4
	VSUBPD Z6, Z5, Z5
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1
	ADDQ $64, SI
	DECQ CX
	JNE sq64_loop
sq64_reduce:
	REDUCE_PD(Z0, Z1, Y0, Y1, X0, X1)
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET

// func sumGradXhat512(xs, gs *float32, n int, mean, inv float32) (sg, sgx float64)
// Σ g[i] and Σ g[i]·x̂[i], x̂ = (x[i] - mean)·inv in float32, for n a
// multiple of 16.
TEXT ·sumGradXhat512(SB), NOSPLIT, $0-48
	MOVQ xs+0(FP), SI
	MOVQ gs+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS mean+24(FP), Z6
	VBROADCASTSS inv+28(FP), Z7
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
	SHRQ $4, CX
	JEQ sgx_reduce
sgx_loop:
	VMOVUPS (SI), Z8
	VSUBPS Z6, Z8, Z8
	VMULPS Z7, Z8, Z8
	VCVTPS2PD (DI), Z4
	VCVTPS2PD 32(DI), Z5
	VADDPD Z4, Z0, Z0
	VADDPD Z5, Z1, Z1
	VCVTPS2PD Y8, Z9
	VEXTRACTF64X4 $1, Z8, Y10
	VCVTPS2PD Y10, Z10
	VFMADD231PD Z9, Z4, Z2
	VFMADD231PD Z10, Z5, Z3
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE sgx_loop
sgx_reduce:
	REDUCE_PD(Z0, Z1, Y0, Y1, X0, X1)
	REDUCE_PD(Z2, Z3, Y2, Y3, X2, X3)
	VZEROUPPER
	MOVSD X0, sg+32(FP)
	MOVSD X2, sgx+40(FP)
	RET

// func bnAffine512(dst, src *float32, n int, mean, scale, shift float32)
// dst[i] = (src[i] - mean)·scale + shift (no fused multiply-add, as in Go)
// for n a multiple of 16.
TEXT ·bnAffine512(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS mean+24(FP), Z6
	VBROADCASTSS scale+28(FP), Z7
	VBROADCASTSS shift+32(FP), Z8
	SHRQ $4, CX
	JEQ bna_done
bna_loop:
	VMOVUPS (SI), Z0
	VSUBPS Z6, Z0, Z0
	VMULPS Z7, Z0, Z0
	VADDPS Z8, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE bna_loop
bna_done:
	VZEROUPPER
	RET

// func bnBackward512(dst, xs, gs *float32, n int, mean, inv, wi, mg, mgx float32)
// dst[i] = wi·((g[i] - mg) - x̂·mgx), x̂ = (x[i] - mean)·inv, each
// operation rounded as Go rounds it, for n a multiple of 16.
TEXT ·bnBackward512(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ xs+8(FP), SI
	MOVQ gs+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS mean+32(FP), Z6
	VBROADCASTSS inv+36(FP), Z7
	VBROADCASTSS wi+40(FP), Z8
	VBROADCASTSS mg+44(FP), Z9
	VBROADCASTSS mgx+48(FP), Z10
	SHRQ $4, CX
	JEQ bnb_done
bnb_loop:
	VMOVUPS (SI), Z0
	VSUBPS Z6, Z0, Z0
	VMULPS Z7, Z0, Z0
	VMULPS Z10, Z0, Z0
	VMOVUPS (DX), Z1
	VSUBPS Z9, Z1, Z1
	VSUBPS Z0, Z1, Z1
	VMULPS Z1, Z8, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNE bnb_loop
bnb_done:
	VZEROUPPER
	RET

// func reluGrad512(dst, grad, y *float32, n int)
// dst[i] = grad[i] where y[i] > 0 (NaN is not), +0 elsewhere, for n a
// multiple of 16: reluMask's rule.
TEXT ·reluGrad512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VPXORD Z2, Z2, Z2
	SHRQ $4, CX
	JEQ rg_done
rg_loop:
	VMOVUPS (DX), Z1
	VCMPPS $0x1e, Z2, Z1, K1
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNE rg_loop
rg_done:
	VZEROUPPER
	RET
