//go:build amd64 && !noasm

#include "textflag.h"

// func packAT6asm(dst, src *float32, lda, panels, kc int)
//
// packA for stored Aᵀ into 6-row panels (the AVX2 tile's): for k step p
// and panel r, dst[r·6·kc + p·6 + i] = src[p·lda + r·6 + i], i < 6. Each
// stored row is walked once, left to right, its 6-float pieces dealt out
// to the panels: sequential reads that the prefetcher follows, where a
// panel at a time would touch a new cache line (and page) on every step.
TEXT ·packAT6asm(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8                   // lda in bytes
	MOVQ panels+24(FP), R9
	MOVQ kc+32(FP), CX
	MOVQ CX, R10
	IMULQ $24, R10                // panel stride in bytes: 6·kc floats
	TESTQ CX, CX
	JEQ pat6_done
	TESTQ R9, R9
	JEQ pat6_done
pat6_row:
	MOVQ SI, R11
	MOVQ DI, R13
	MOVQ R9, DX
	CMPQ DX, $2
	JLT pat6_one
pat6_two:
	// Two panels: 48 contiguous bytes of the row.
	VMOVUPS (R11), X0
	VMOVQ 16(R11), X1
	VMOVUPS 24(R11), X2
	VMOVQ 40(R11), X3
	VMOVUPS X0, (R13)
	VMOVQ X1, 16(R13)
	VMOVUPS X2, (R13)(R10*1)
	VMOVQ X3, 16(R13)(R10*1)
	ADDQ $48, R11
	LEAQ (R13)(R10*2), R13
	SUBQ $2, DX
	CMPQ DX, $2
	JGE pat6_two
	TESTQ DX, DX
	JEQ pat6_next
pat6_one:
	VMOVUPS (R11), X0
	VMOVQ 16(R11), X1
	VMOVUPS X0, (R13)
	VMOVQ X1, 16(R13)
pat6_next:
	ADDQ R8, SI
	ADDQ $24, DI
	DECQ CX
	JNE pat6_row
pat6_done:
	RET
