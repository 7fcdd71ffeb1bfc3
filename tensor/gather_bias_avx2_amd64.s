//go:build amd64 && !noasm

#include "textflag.h"

// 0..7, the lanes of a gather.
DATA gbIota8<>+0(SB)/8, $0x0000000100000000
DATA gbIota8<>+8(SB)/8, $0x0000000300000002
DATA gbIota8<>+16(SB)/8, $0x0000000500000004
DATA gbIota8<>+24(SB)/8, $0x0000000700000006
GLOBL gbIota8<>(SB), RODATA|NOPTR, $32

// 8 all-ones int32 then 8 zeros: the 8 int32 from gbMask + 4·(8-c) have
// their first c lanes set.
DATA gbMask<>+0(SB)/8, $0xffffffffffffffff
DATA gbMask<>+8(SB)/8, $0xffffffffffffffff
DATA gbMask<>+16(SB)/8, $0xffffffffffffffff
DATA gbMask<>+24(SB)/8, $0xffffffffffffffff
DATA gbMask<>+32(SB)/8, $0
DATA gbMask<>+40(SB)/8, $0
DATA gbMask<>+48(SB)/8, $0
DATA gbMask<>+56(SB)/8, $0
GLOBL gbMask<>(SB), RODATA|NOPTR, $64

// GB_OPS applies gatherBias256's mode to Y0: + b (Y2) when mode&1, then
// max(·, 0) as max(0, v) + 0 when mode&2 (NaN stays NaN, −0 becomes +0:
// Go's max(v, 0)).
#define GB_OPS \
	TESTQ $1, R9 \
	JEQ 2(PC) \
	VADDPS Y2, Y0, Y0 \
	TESTQ $2, R9 \
	JEQ 3(PC) \
	VMAXPS Y0, Y3, Y0 \
	VADDPS Y3, Y0, Y0

// func gatherBias256(dst, src *float32, n, stride int, b float32, mode int)
//
// gatherBias512 with AVX2: dst[j] = src[j·stride], plus b when mode&1,
// then max(·, 0) when mode&2, 8 lanes at a time by VGATHERDPS, the last
// block under a mask.
TEXT ·gatherBias256(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), R10
	MOVQ stride+24(FP), R8
	VBROADCASTSS b+32(FP), Y2
	MOVQ mode+40(FP), R9
	VXORPS Y3, Y3, Y3
	VMOVDQU gbIota8<>(SB), Y1
	MOVQ R8, X4
	VPBROADCASTD X4, Y4
	VPMULLD Y4, Y1, Y1            // lane·stride
	SHLQ $5, R8                   // bytes per 8 elements
gb_loop:
	CMPQ R10, $8
	JLT gb_tail
	VPCMPEQD Y5, Y5, Y5
	VXORPS Y0, Y0, Y0
	VGATHERDPS Y5, (SI)(Y1*4), Y0
	GB_OPS
	VMOVUPS Y0, (DI)
	ADDQ R8, SI
	ADDQ $32, DI
	SUBQ $8, R10
	JMP gb_loop
gb_tail:
	TESTQ R10, R10
	JLE gb_done
	MOVQ $8, AX
	SUBQ R10, AX
	LEAQ gbMask<>(SB), CX
	VMOVDQU (CX)(AX*4), Y6
	VMOVDQA Y6, Y5
	VXORPS Y0, Y0, Y0
	VGATHERDPS Y5, (SI)(Y1*4), Y0
	GB_OPS
	VMASKMOVPS Y0, Y6, (DI)
gb_done:
	VZEROUPPER
	RET
