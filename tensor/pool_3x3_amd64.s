//go:build amd64 && !noasm

#include "textflag.h"

// 2·(window index) in the order VSHUFPS leaves the windows of 16
// consecutive floats: 0 1 4 5 | 2 3 6 7.
DATA pool3Lane<>+0(SB)/8, $0x0000000200000000
DATA pool3Lane<>+8(SB)/8, $0x0000000a00000008
DATA pool3Lane<>+16(SB)/8, $0x0000000600000004
DATA pool3Lane<>+24(SB)/8, $0x0000000e0000000c
GLOBL pool3Lane<>(SB), RODATA|NOPTR, $32

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

// func maxPool3x3s2AVX2(src *float32, w int, out *float32, arg *int32, groups, base int, offs *[9][8]int32)
//
// Pools groups·8 consecutive 3×3 windows with horizontal stride 2 lying
// wholly inside the plane: window j's top-left pixel is src[2j], its rows
// w floats apart; out[j] is its maximum and arg[j] the maximum's plane
// index, base + 2j + offs[tap][0] (offs[t] holding (t/3)·w + t%3 eight
// times). src must reach 2w + 16·groups floats on.
TEXT ·maxPool3x3s2AVX2(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ w+8(FP), R8
	SHLQ $2, R8
	MOVQ out+16(FP), DI
	MOVQ arg+24(FP), DX
	MOVQ groups+32(FP), CX
	VPBROADCASTD base+40(FP), Y13
	VPADDD pool3Lane<>(SB), Y13, Y13  // base + 2j, VSHUFPS order
	MOVQ offs+48(FP), BX
	MOVL $16, AX
	MOVQ AX, X14
	VPBROADCASTD X14, Y14
	TESTQ CX, CX
	JEQ done
loop:
	P3_ROW((SI), 32(SI), 4(SI), 36(SI))
	VMOVAPS Y4, Y8
	VPXOR Y9, Y9, Y9
	P3_TAP(Y5, 32(BX))
	P3_TAP(Y6, 64(BX))
	P3_ROW((SI)(R8*1), 32(SI)(R8*1), 4(SI)(R8*1), 36(SI)(R8*1))
	P3_TAP(Y4, 96(BX))
	P3_TAP(Y5, 128(BX))
	P3_TAP(Y6, 160(BX))
	P3_ROW((SI)(R8*2), 32(SI)(R8*2), 4(SI)(R8*2), 36(SI)(R8*2))
	P3_TAP(Y4, 192(BX))
	P3_TAP(Y5, 224(BX))
	P3_TAP(Y6, 256(BX))
	VPADDD Y13, Y9, Y9
	VPERMQ $0xD8, Y8, Y8              // VSHUFPS order to window order
	VPERMQ $0xD8, Y9, Y9
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
