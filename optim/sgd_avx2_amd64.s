//go:build amd64 && !noasm

#include "textflag.h"

// The AVX2 forms of sgd_amd64.s's loops, for CPUs without AVX-512: the same
// float64 FMAs (float32 inputs widened exactly, one rounding to float64,
// then one to float32), four lanes to a register, eight parameters a turn.

// func sgdMomAVX2(p, grad, b *float32, n int, nlr, mu, damp float32)
//
// For 8 parameters at a time (n a multiple of 8):
//	b ← float32(float64(damp)·float64(g) + float64(float32(b·mu)))
//	p ← float32(float64(nlr)·float64(b) + float64(p))
TEXT ·sgdMomAVX2(SB), NOSPLIT, $0-44
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS nlr+32(FP), X0
	VCVTPS2PD X0, Y10             // nlr as float64
	VBROADCASTSS mu+36(FP), Y11   // mu as float32
	VBROADCASTSS damp+40(FP), X0
	VCVTPS2PD X0, Y12             // damp as float64
	SHRQ $3, CX
	JEQ done
loop:
	VMULPS (DX), Y11, Y1          // float32(b·mu), 8 lanes
	VEXTRACTF128 $1, Y1, X2
	VCVTPS2PD X1, Y1
	VCVTPS2PD X2, Y2
	VCVTPS2PD (SI), Y3
	VCVTPS2PD 16(SI), Y4
	VFMADD231PD Y12, Y3, Y1       // damp·g + b·mu
	VFMADD231PD Y12, Y4, Y2
	VCVTPD2PSY Y1, X1
	VCVTPD2PSY Y2, X2
	VMOVUPS X1, (DX)
	VMOVUPS X2, 16(DX)
	VCVTPS2PD X1, Y1
	VCVTPS2PD X2, Y2
	VCVTPS2PD (DI), Y5
	VCVTPS2PD 16(DI), Y6
	VFMADD231PD Y10, Y1, Y5       // nlr·b + p
	VFMADD231PD Y10, Y2, Y6
	VCVTPD2PSY Y5, X5
	VCVTPD2PSY Y6, X6
	VMOVUPS X5, (DI)
	VMOVUPS X6, 16(DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNE loop
done:
	VZEROUPPER
	RET

// func sgdPlainAVX2(p, grad *float32, n int, nlr float32)
//
// p ← float32(float64(nlr)·float64(g) + float64(p)), 8 at a time.
TEXT ·sgdPlainAVX2(SB), NOSPLIT, $0-28
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS nlr+24(FP), X0
	VCVTPS2PD X0, Y10
	SHRQ $3, CX
	JEQ pdone
ploop:
	VCVTPS2PD (SI), Y1
	VCVTPS2PD 16(SI), Y2
	VCVTPS2PD (DI), Y5
	VCVTPS2PD 16(DI), Y6
	VFMADD231PD Y10, Y1, Y5
	VFMADD231PD Y10, Y2, Y6
	VCVTPD2PSY Y5, X5
	VCVTPD2PSY Y6, X6
	VMOVUPS X5, (DI)
	VMOVUPS X6, 16(DI)
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JNE ploop
pdone:
	VZEROUPPER
	RET
