//go:build amd64 && !noasm

#include "textflag.h"

// func conv1Pool(e, o *float32, rs, rows, pw int, w, k *float32, pos *int32, out *float32, arg *int32, last *float32, lastArg *int32, tail int) bool
// A 3×3 convolution of one input plane into one output channel, with the
// bias, batch norm, ReLU and 2×2 max-pooling of winoPoolBN, for rows rows of
// pw pooling windows, 8 windows at a time. e and o hold the zero-padded
// input plane's even and odd columns (rs ≥ pw+9 floats a row, 2·rows+2
// rows, o after e; window (py, px) reads rows 2py..2py+3, columns px and
// px+1 of each). Each output is the sum over k = 3·dy+dx of w[k]·input, one
// FMA after another from 0, as the GEMM's kernel adds them. k holds bias,
// mean, scale, shift, then the int32s ow+1, ow, 1 and 0, each broadcast to 8
// lanes; pos (pw a row, 8 to spare at the end) the windows' top-left
// indices in the unpooled plane. The windows' maxima and their indices, as
// winoPoolBN computes them, go to out and arg, pw a row, except those of
// the last tail rows, which go to last and lastArg (pw a row, 8 to spare):
// a row's last vector writes up to 7 past the row, into the next ones,
// which overwrite that. It reports whether a value was NaN.
TEXT ·conv1Pool(SB), NOSPLIT, $0-105
	MOVQ e+0(FP), SI
	MOVQ o+8(FP), DX
	MOVQ rs+16(FP), AX
	MOVQ rows+24(FP), R12
	MOVQ w+40(FP), R14
	MOVQ k+48(FP), R13
	MOVQ pos+56(FP), R15
	MOVQ out+64(FP), DI
	MOVQ arg+72(FP), R11
	SHLQ $2, AX           // row stride in bytes
	SUBQ SI, DX           // odd columns' distance from the even ones
	XORQ R10, R10         // NaN lanes seen
	VBROADCASTSS 16(R14), Y4
	VBROADCASTSS 20(R14), Y5
	VBROADCASTSS 24(R14), Y6
	VBROADCASTSS 28(R14), Y7
	VBROADCASTSS 32(R14), Y8
	TESTQ R12, R12
	JEQ cp_done
cp_row:
	CMPQ R12, tail+96(FP)
	JNE cp_start
	MOVQ last+80(FP), DI  // the last rows into the scratch rows
	MOVQ lastArg+88(FP), R11
cp_start:
	MOVQ pw+32(FP), CX
	ADDQ $7, CX
	SHRQ $3, CX
	JEQ cp_next
	MOVQ SI, R8           // this window row's even columns
	MOVQ DI, R9           // and its first output
cp_loop:
	VBROADCASTSS 0(R14), Y0
	VBROADCASTSS 4(R14), Y1
	VBROADCASTSS 8(R14), Y2
	VBROADCASTSS 12(R14), Y3
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	MOVQ R8, BX
	// padded row 0
	VMOVUPS (BX), Y13
	VMOVUPS (BX)(DX*1), Y14
	VMOVUPS 4(BX), Y15
	VFMADD231PS Y13, Y0, Y9
	VFMADD231PS Y14, Y0, Y10
	VFMADD231PS Y14, Y1, Y9
	VFMADD231PS Y15, Y1, Y10
	VFMADD231PS Y15, Y2, Y9
	VFMADD231PS 4(BX)(DX*1), Y2, Y10
	ADDQ AX, BX
	// padded row 1
	VMOVUPS (BX), Y13
	VMOVUPS (BX)(DX*1), Y14
	VMOVUPS 4(BX), Y15
	VFMADD231PS Y13, Y3, Y9
	VFMADD231PS Y14, Y3, Y10
	VFMADD231PS Y14, Y4, Y9
	VFMADD231PS Y15, Y4, Y10
	VFMADD231PS Y15, Y5, Y9
	VFMADD231PS 4(BX)(DX*1), Y5, Y10
	VFMADD231PS Y13, Y0, Y11
	VFMADD231PS Y14, Y0, Y12
	VFMADD231PS Y14, Y1, Y11
	VFMADD231PS Y15, Y1, Y12
	VFMADD231PS Y15, Y2, Y11
	VFMADD231PS 4(BX)(DX*1), Y2, Y12
	ADDQ AX, BX
	// padded row 2
	VMOVUPS (BX), Y13
	VMOVUPS (BX)(DX*1), Y14
	VMOVUPS 4(BX), Y15
	VFMADD231PS Y13, Y6, Y9
	VFMADD231PS Y14, Y6, Y10
	VFMADD231PS Y14, Y7, Y9
	VFMADD231PS Y15, Y7, Y10
	VFMADD231PS Y15, Y8, Y9
	VFMADD231PS 4(BX)(DX*1), Y8, Y10
	VFMADD231PS Y13, Y3, Y11
	VFMADD231PS Y14, Y3, Y12
	VFMADD231PS Y14, Y4, Y11
	VFMADD231PS Y15, Y4, Y12
	VFMADD231PS Y15, Y5, Y11
	VFMADD231PS 4(BX)(DX*1), Y5, Y12
	ADDQ AX, BX
	// padded row 3
	VMOVUPS (BX), Y13
	VMOVUPS (BX)(DX*1), Y14
	VMOVUPS 4(BX), Y15
	VFMADD231PS Y13, Y6, Y11
	VFMADD231PS Y14, Y6, Y12
	VFMADD231PS Y14, Y7, Y11
	VFMADD231PS Y15, Y7, Y12
	VFMADD231PS Y15, Y8, Y11
	VFMADD231PS 4(BX)(DX*1), Y8, Y12
	// bias, batch norm, ReLU (max with 0, then + 0), as winoPoolBN
	VXORPS Y13, Y13, Y13
	VADDPS (R13), Y9, Y9
	VADDPS (R13), Y10, Y10
	VADDPS (R13), Y11, Y11
	VADDPS (R13), Y12, Y12
	VSUBPS 32(R13), Y9, Y9
	VSUBPS 32(R13), Y10, Y10
	VSUBPS 32(R13), Y11, Y11
	VSUBPS 32(R13), Y12, Y12
	VMULPS 64(R13), Y9, Y9
	VMULPS 64(R13), Y10, Y10
	VMULPS 64(R13), Y11, Y11
	VMULPS 64(R13), Y12, Y12
	VADDPS 96(R13), Y9, Y9
	VADDPS 96(R13), Y10, Y10
	VADDPS 96(R13), Y11, Y11
	VADDPS 96(R13), Y12, Y12
	VMAXPS Y9, Y13, Y9
	VMAXPS Y10, Y13, Y10
	VMAXPS Y11, Y13, Y11
	VMAXPS Y12, Y13, Y12
	VADDPS Y13, Y9, Y9
	VADDPS Y13, Y10, Y10
	VADDPS Y13, Y11, Y11
	VADDPS Y13, Y12, Y12
	// NaN anywhere
	VCMPPS $3, Y10, Y9, Y0
	VCMPPS $3, Y12, Y11, Y1
	VORPS Y1, Y0, Y0
	VMOVMSKPS Y0, BX
	ORQ BX, R10
	// the window's maximum and where it is first
	VMAXPS Y10, Y9, Y0
	VMAXPS Y12, Y11, Y1
	VMAXPS Y1, Y0, Y0
	VMOVUPS 128(R13), Y2
	VCMPPS $0, Y0, Y11, Y3
	VBLENDVPS Y3, 160(R13), Y2, Y2
	VCMPPS $0, Y0, Y10, Y3
	VBLENDVPS Y3, 192(R13), Y2, Y2
	VCMPPS $0, Y0, Y9, Y3
	VBLENDVPS Y3, 224(R13), Y2, Y2
	VPADDD (R15), Y2, Y2
	VMOVUPS Y0, (R9)
	VMOVDQU Y2, (R11)
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R11
	ADDQ $32, R15
	DECQ CX
	JNE cp_loop
	// back to the start of the next row of windows
	MOVQ pw+32(FP), BX
	SHLQ $2, BX
	MOVQ R9, CX
	SUBQ DI, CX
	SUBQ CX, R11
	SUBQ CX, R15
	ADDQ BX, DI
	ADDQ BX, R11
	ADDQ BX, R15
cp_next:
	// two padded rows down
	LEAQ (SI)(AX*2), SI
	DECQ R12
	JNE cp_row
cp_done:
	TESTQ R10, R10
	SETNE ret+104(FP)
	VZEROUPPER
	RET
