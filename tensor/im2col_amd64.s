//go:build amd64 && !noasm

#include "textflag.h"

// func gather2x8(d, src *float32, n int)
// d[j] = src[2j] for j < n (a multiple of 8): the even elements of
// src[0..2n-1], 8 at a time.
TEXT ·gather2x8(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ g2_done
g2_loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VPERMPD $0xD8, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	DECQ CX
	JNE g2_loop
g2_done:
	VZEROUPPER
	RET
