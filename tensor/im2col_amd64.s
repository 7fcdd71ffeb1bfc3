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

// func gather2Rows(dst, src *float32, rows, ow, xlo, n, k, srcStride int)
//
// For each of rows output rows (dst ow floats apart, src srcStride floats
// apart): dst[0:xlo] = 0, dst[xlo+j] = src[2j] for j < n, dst[xlo+n:ow] = 0.
// The first k (a multiple of 8, with src[2k-1] readable) go 8 at a time as
// in gather2x8, the rest one by one; the copies move bits, NaN included.
TEXT ·gather2Rows(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ ow+24(FP), R8
	MOVQ xlo+32(FP), R9
	MOVQ n+40(FP), R10
	MOVQ k+48(FP), R11
	MOVQ srcStride+56(FP), R12
	SHLQ $2, R12
	MOVQ R8, R13
	SHLQ $2, R13
	MOVQ R8, R15
	SUBQ R9, R15
	SUBQ R10, R15                 // ow - xlo - n: the right zeros
	XORL R14, R14
	TESTQ CX, CX
	JEQ gr_done
gr_row:
	MOVQ DI, AX
	MOVQ R9, BX
	TESTQ BX, BX
	JEQ gr_vec
gr_left:
	MOVL R14, (AX)
	ADDQ $4, AX
	DECQ BX
	JNE gr_left
gr_vec:
	MOVQ SI, DX
	MOVQ R11, BX
	SHRQ $3, BX
	JEQ gr_tail
gr_vloop:
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VPERMPD $0xD8, Y2, Y2
	VMOVUPS Y2, (AX)
	ADDQ $64, DX
	ADDQ $32, AX
	DECQ BX
	JNE gr_vloop
gr_tail:
	MOVQ R10, BX
	SUBQ R11, BX
	JEQ gr_right
gr_tloop:
	MOVL (DX), R14
	MOVL R14, (AX)
	ADDQ $8, DX
	ADDQ $4, AX
	DECQ BX
	JNE gr_tloop
	XORL R14, R14
gr_right:
	MOVQ R15, BX
	TESTQ BX, BX
	JEQ gr_next
gr_rloop:
	MOVL R14, (AX)
	ADDQ $4, AX
	DECQ BX
	JNE gr_rloop
gr_next:
	ADDQ R13, DI
	ADDQ R12, SI
	DECQ CX
	JNE gr_row
gr_done:
	VZEROUPPER
	RET

// func scatter2AddRows(dst, src *float32, rows, n, k, dstStride, srcStride int)
//
// For each of rows rows (dst dstStride floats apart, src srcStride apart):
// dst[2j] += src[j] for j < n, the adjoint of gather2Rows' copy. The
// first k (a multiple of 8, with dst[2k-1] in the caller's row) go 8 at
// a time: 16 floats of dst are read, the 8 sums blended into their even
// lanes, and the odd lanes written back as they were; the rest one by
// one. Each sum is the scalar d + s, rounded once.
TEXT ·scatter2AddRows(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ n+24(FP), R10
	MOVQ k+32(FP), R11
	MOVQ dstStride+40(FP), R12
	SHLQ $2, R12
	MOVQ srcStride+48(FP), R13
	SHLQ $2, R13
	TESTQ CX, CX
	JEQ sa_done
sa_row:
	MOVQ DI, AX
	MOVQ SI, DX
	MOVQ R11, BX
	SHRQ $3, BX
	JEQ sa_tail
sa_vloop:
	VMOVUPS (DX), Y0
	VUNPCKLPS Y0, Y0, Y1          // s0 s0 s1 s1 | s4 s4 s5 s5
	VUNPCKHPS Y0, Y0, Y2          // s2 s2 s3 s3 | s6 s6 s7 s7
	VPERM2F128 $0x20, Y2, Y1, Y3  // s0 s0 s1 s1 s2 s2 s3 s3
	VPERM2F128 $0x31, Y2, Y1, Y4  // s4 s4 s5 s5 s6 s6 s7 s7
	VMOVUPS (AX), Y5
	VMOVUPS 32(AX), Y6
	VADDPS Y3, Y5, Y7
	VADDPS Y4, Y6, Y8
	VBLENDPS $0x55, Y7, Y5, Y5    // the sums in the even lanes
	VBLENDPS $0x55, Y8, Y6, Y6
	VMOVUPS Y5, (AX)
	VMOVUPS Y6, 32(AX)
	ADDQ $32, DX
	ADDQ $64, AX
	DECQ BX
	JNE sa_vloop
sa_tail:
	MOVQ R10, BX
	SUBQ R11, BX
	JEQ sa_next
sa_tloop:
	MOVSS (AX), X0
	ADDSS (DX), X0
	MOVSS X0, (AX)
	ADDQ $4, DX
	ADDQ $8, AX
	DECQ BX
	JNE sa_tloop
sa_next:
	ADDQ R12, DI
	ADDQ R13, SI
	DECQ CX
	JNE sa_row
sa_done:
	VZEROUPPER
	RET
