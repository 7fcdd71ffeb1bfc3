//go:build amd64 && !noasm

#include "textflag.h"

// maskTab: 8 all-ones int32 then 8 zeros; the 8 int32 from
// maskTab + 4·(8-c) have their first c lanes set (VMASKMOVPS masks).
DATA maskTab<>+0(SB)/8, $0xffffffffffffffff
DATA maskTab<>+8(SB)/8, $0xffffffffffffffff
DATA maskTab<>+16(SB)/8, $0xffffffffffffffff
DATA maskTab<>+24(SB)/8, $0xffffffffffffffff
DATA maskTab<>+32(SB)/8, $0
DATA maskTab<>+40(SB)/8, $0
DATA maskTab<>+48(SB)/8, $0
DATA maskTab<>+56(SB)/8, $0
GLOBL maskTab<>(SB), RODATA|NOPTR, $64

// 2·(window index) in the order VSHUFPS leaves the windows of 16
// consecutive floats: 0 1 4 5 | 2 3 6 7.
DATA winOff<>+0(SB)/8, $0x0000000200000000
DATA winOff<>+8(SB)/8, $0x0000000a00000008
DATA winOff<>+16(SB)/8, $0x0000000600000004
DATA winOff<>+24(SB)/8, $0x0000000e0000000c
GLOBL winOff<>(SB), RODATA|NOPTR, $32

// MP_WINDOW: from the rows Y0:Y1 (top) and Y2:Y3 (bottom) of 8 windows
// starting at window R14 of the row pair whose plane index is BX, the
// maxima in Y8 and their plane indices in Y1, both in window order. ZF is
// clear when a window holds NaN (Y8 and Y1 are then undefined).
#define MP_WINDOW \
	VSHUFPS $0x88, Y1, Y0, Y4 \
	VSHUFPS $0xDD, Y1, Y0, Y5 \
	VSHUFPS $0x88, Y3, Y2, Y6 \
	VSHUFPS $0xDD, Y3, Y2, Y7 \
	VMAXPS Y5, Y4, Y8 \
	VMAXPS Y7, Y6, Y9 \
	VMAXPS Y9, Y8, Y8 \
	VANDPS Y5, Y4, Y9 \
	VANDPS Y7, Y6, Y3 \
	VANDPS Y3, Y9, Y9 \
	VANDPS Y15, Y9, Y9 \
	VCMPPS $0, Y14, Y8, Y0 \
	VBLENDVPS Y0, Y9, Y8, Y8 \
	VMOVAPS Y12, Y1 \
	VCMPPS $0, Y8, Y6, Y0 \
	VBLENDVPS Y0, Y13, Y1, Y1 \
	VCMPPS $0, Y8, Y5, Y0 \
	VBLENDVPS Y0, Y11, Y1, Y1 \
	VCMPPS $0, Y8, Y4, Y0 \
	VBLENDVPS Y0, Y14, Y1, Y1 \
	LEAQ (BX)(R14*2), AX \
	MOVL AX, X2 \
	VPBROADCASTD X2, Y2 \
	VPADDD Y10, Y2, Y2 \
	VPADDD Y2, Y1, Y1 \
	VPERMPD $0xD8, Y8, Y8 \
	VPERMQ $0xD8, Y1, Y1 \
	VCMPPS $3, Y5, Y4, Y2 \
	VCMPPS $3, Y7, Y6, Y3 \
	VORPS Y3, Y2, Y2 \
	VTESTPS Y2, Y2

// func maxPool2x2Vec256(plane, out *float32, arg *int32, w, oh, ow int) bool
//
// maxPool2x2Vec512's rule with AVX2, 8 windows at a time: a row of at
// least 8 windows ends with a block that overlaps the one before it (its
// windows are computed twice, to the same values); a row of fewer is one
// block, read under VMASKMOVPS masks and stored whole where 8 lanes stay
// inside the plane (masked in the last rows). It returns false, having
// stored an unspecified part, when a window holds NaN.
//
// VSHUFPS takes the even (v0, v2) and odd (v1, v3) elements of two rows of
// 16 floats within 128-bit lanes, so the windows sit in the order 0 1 4 5
// 2 3 6 7 until VPERMPD puts the results back in order.
TEXT ·maxPool2x2Vec256(SB), NOSPLIT, $0-49
	MOVQ plane+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ arg+16(FP), DX
	MOVQ w+24(FP), R8
	MOVQ oh+32(FP), R9
	MOVQ ow+40(FP), R10
	MOVL $0x80000000, AX
	MOVL AX, X15
	VPBROADCASTD X15, Y15         // sign bit
	VXORPS Y14, Y14, Y14          // 0
	MOVL R8, AX
	MOVL AX, X13
	VPBROADCASTD X13, Y13         // w
	INCL AX
	MOVL AX, X12
	VPBROADCASTD X12, Y12         // w+1
	MOVL $1, AX
	MOVL AX, X11
	VPBROADCASTD X11, Y11         // 1
	VMOVDQU winOff<>(SB), Y10
	LEAQ maskTab<>(SB), CX
	XORQ R11, R11                 // oy
	TESTQ R9, R9
	JEQ mp_ok
	TESTQ R10, R10
	JEQ mp_ok
mp_row:
	MOVQ R11, AX
	IMULQ R8, AX
	SHLQ $1, AX                   // 2·oy·w
	MOVQ AX, BX
	LEAQ (SI)(AX*4), R12
	LEAQ (R12)(R8*4), R13
	XORQ R14, R14                 // ox0
	CMPQ R10, $8
	JLT mp_masked
mp_block:
	MOVQ R10, AX
	SUBQ $8, AX
	CMPQ R14, AX
	JLE mp_load
	MOVQ AX, R14                  // the last block overlaps the one before
mp_load:
	VMOVUPS (R12)(R14*8), Y0
	VMOVUPS 32(R12)(R14*8), Y1
	VMOVUPS (R13)(R14*8), Y2
	VMOVUPS 32(R13)(R14*8), Y3
	MP_WINDOW
	JNE mp_nan
	MOVQ R11, AX
	IMULQ R10, AX
	ADDQ R14, AX                  // oy·ow + ox0
	VMOVUPS Y8, (DI)(AX*4)
	VMOVDQU Y1, (DX)(AX*4)
	ADDQ $8, R14
	CMPQ R14, R10
	JLT mp_block
	JMP mp_next

mp_masked:
	// One block of ow < 8 windows: 2·ow floats per row, under masks.
	MOVQ R10, AX
	SHLQ $1, AX                   // 2·ow, up to 14
	MOVQ $8, R15
	CMPQ AX, R15
	CMOVQLT AX, R15               // lo lanes min(2·ow, 8)
	NEGQ R15
	ADDQ $8, R15                  // 8 - lo
	VMOVDQU (CX)(R15*4), Y9
	VMASKMOVPS (R12), Y9, Y0
	VMASKMOVPS (R13), Y9, Y2
	MOVQ $16, R15
	SUBQ AX, R15
	CMPQ R15, $8
	JLE mp_hi
	MOVQ $8, R15                  // hi lanes max(2·ow-8, 0)
mp_hi:
	VMOVDQU (CX)(R15*4), Y9
	VMASKMOVPS 32(R12), Y9, Y1
	VMASKMOVPS 32(R13), Y9, Y3
	MP_WINDOW
	JNE mp_nan
	MOVQ R11, AX
	IMULQ R10, AX                 // oy·ow
	MOVQ R9, R15
	IMULQ R10, R15
	SUBQ $8, R15                  // oh·ow - 8
	CMPQ AX, R15
	JGT mp_lastrow
	// 8 lanes from here stay inside the plane: whole stores, whose lanes
	// past the row land on later rows' outputs, stored (correctly) after
	// them. Masked stores are slow on Zen.
	VMOVUPS Y8, (DI)(AX*4)
	VMOVDQU Y1, (DX)(AX*4)
	JMP mp_next
mp_lastrow:
	MOVQ $8, R15
	SUBQ R10, R15
	VMOVDQU (CX)(R15*4), Y9
	VMASKMOVPS Y8, Y9, (DI)(AX*4)
	VPMASKMOVD Y1, Y9, (DX)(AX*4)
mp_next:
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

