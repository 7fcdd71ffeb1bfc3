//go:build amd64 && !noasm

#include "textflag.h"

// 2·(window index) in the order VSHUFPS leaves the windows of 16
// consecutive floats: 0 1 4 5 | 2 3 6 7.
DATA pool3Lane<>+0(SB)/8, $0x0000000200000000
DATA pool3Lane<>+8(SB)/8, $0x0000000a00000008
DATA pool3Lane<>+16(SB)/8, $0x0000000600000004
DATA pool3Lane<>+24(SB)/8, $0x0000000e0000000c
GLOBL pool3Lane<>(SB), RODATA|NOPTR, $32

// All lanes but the first: the mask of a load that must not touch the
// float before its row (the left padding column).
DATA pool3NotFirst<>+0(SB)/8, $0xffffffff00000000
DATA pool3NotFirst<>+8(SB)/8, $0xffffffffffffffff
DATA pool3NotFirst<>+16(SB)/8, $0xffffffffffffffff
DATA pool3NotFirst<>+24(SB)/8, $0xffffffffffffffff
GLOBL pool3NotFirst<>(SB), RODATA|NOPTR, $32

// P3_TAP takes tap V (8 windows, in VSHUFPS order) into the running
// maximum Y8 and the tap offset Y9 (from the 8 int32 at OFF) where
// V > Y8 or V is NaN: maxPoolPlane's rule, the first maximum in window
// order and the last NaN.
#define P3_TAP(V, OFF) \
	VCMPPS $0x1E, Y8, V, Y10 \
	VCMPPS $3, V, V, Y11 \
	VORPS Y11, Y10, Y10 \
	VBLENDVPS Y10, V, Y8, Y8 \
	VBLENDVPS Y10, OFF, Y9, Y9

// P3_ROW loads, from the input row at ROW, the 17 floats that 8 windows
// 3 wide with stride 2 cover and splits them into the windows' three
// taps: Y4 (left), Y5 (middle), Y6 (right), in VSHUFPS order.
#define P3_ROW(ROW0, ROW1, ROW2, ROW3) \
	VMOVUPS ROW0, Y0 \
	VMOVUPS ROW1, Y1 \
	VMOVUPS ROW2, Y2 \
	VMOVUPS ROW3, Y3 \
	VSHUFPS $0x88, Y1, Y0, Y4 \
	VSHUFPS $0xDD, Y1, Y0, Y5 \
	VSHUFPS $0xDD, Y3, Y2, Y6

// P3_ROWL is P3_ROW for 8 windows whose first has its left tap in the
// padding: that float is not read, and the first window's left tap is its
// middle one again, which changes neither its maximum nor where it is.
#define P3_ROWL(ROW0, ROW1, ROW2, ROW3) \
	VMASKMOVPS ROW0, Y12, Y0 \
	VMOVUPS ROW1, Y1 \
	VMOVUPS ROW2, Y2 \
	VMOVUPS ROW3, Y3 \
	VSHUFPS $0x88, Y1, Y0, Y4 \
	VSHUFPS $0xDD, Y1, Y0, Y5 \
	VSHUFPS $0xDD, Y3, Y2, Y6 \
	VBLENDPS $1, Y5, Y4, Y4

// P3_GROUP pools the 8 windows at SI whose rows are R8 and R9 bytes after
// the first, with ROW as P3_ROW or P3_ROWL, into Y8 (maxima) and Y9 (plane
// indices), in window order.
#define P3_GROUP(ROW) \
	ROW((SI), 32(SI), 4(SI), 36(SI)) \
	VMOVAPS Y4, Y8 \
	VMOVDQU (BX), Y9 \
	P3_TAP(Y5, 32(BX)) \
	P3_TAP(Y6, 64(BX)) \
	ROW((SI)(R8*1), 32(SI)(R8*1), 4(SI)(R8*1), 36(SI)(R8*1)) \
	P3_TAP(Y4, 96(BX)) \
	P3_TAP(Y5, 128(BX)) \
	P3_TAP(Y6, 160(BX)) \
	ROW((SI)(R9*1), 32(SI)(R9*1), 4(SI)(R9*1), 36(SI)(R9*1)) \
	P3_TAP(Y4, 192(BX)) \
	P3_TAP(Y5, 224(BX)) \
	P3_TAP(Y6, 256(BX)) \
	VPADDD Y13, Y9, Y9 \
	VPERMQ $0xD8, Y8, Y8 \
	VPERMQ $0xD8, Y9, Y9

// func maxPool3x3s2AVX2(src *float32, r1, r2 int, out *float32, arg *int32, groups, base int, offs *[2][9][8]int32, left bool)
//
// Pools groups·8 consecutive 3×3 windows with horizontal stride 2: window
// j's top-left pixel is src[2j], its second and third rows r1 and r2
// floats after its first (a padding row given as a copy of its neighbour,
// which changes neither the maximum nor where it is); out[j] is the
// maximum and arg[j] its plane index, base + 2j + offs[0][tap][lane] in
// VSHUFPS lane order. With left, src points one float after the first
// window's top-left pixel, which is padding and not read, and the first group takes its offsets from
// offs[1], which give the middle tap's index for it. src must reach
// r2 + 16·groups floats on.
TEXT ·maxPool3x3s2AVX2(SB), NOSPLIT, $0-65
	MOVQ src+0(FP), SI
	MOVQ r1+8(FP), R8
	SHLQ $2, R8
	MOVQ r2+16(FP), R9
	SHLQ $2, R9
	MOVQ out+24(FP), DI
	MOVQ arg+32(FP), DX
	MOVQ groups+40(FP), CX
	VPBROADCASTD base+48(FP), Y13
	VPADDD pool3Lane<>(SB), Y13, Y13  // base + 2j, VSHUFPS order
	MOVQ offs+56(FP), BX
	MOVL $16, AX
	MOVQ AX, X14
	VPBROADCASTD X14, Y14
	TESTQ CX, CX
	JEQ done
	MOVBLZX left+64(FP), AX
	TESTL AX, AX
	JEQ loop
	VMOVDQU pool3NotFirst<>(SB), Y12
	SUBQ $4, SI                       // the padding pixel, not read
	ADDQ $288, BX                     // offs[1]
	P3_GROUP(P3_ROWL)
	SUBQ $288, BX
	JMP store
loop:
	P3_GROUP(P3_ROW)
store:
	VMOVUPS Y8, (DI)
	VMOVDQU Y9, (DX)
	VPADDD Y14, Y13, Y13
	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNE loop
done:
	VZEROUPPER
	RET
