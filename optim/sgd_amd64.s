//go:build amd64 && !noasm

#include "textflag.h"

// func sgdMomAVX512(p, grad, b *float32, n int, nlr, mu, damp float32)
//
// For 16 parameters at a time (n a multiple of 16):
//	b ← float32(float64(damp)·float64(g) + float64(float32(b·mu)))
//	p ← float32(float64(nlr)·float64(b) + float64(p))
// which is fma32 (one float64 FMA, then rounding to float32) lane by lane,
// so the result is bit-identical to the scalar loop.
TEXT ·sgdMomAVX512(SB), NOSPLIT, $0-44
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS nlr+32(FP), Y0
	VCVTPS2PD Y0, Z20             // nlr as float64
	VBROADCASTSS mu+36(FP), Z21   // mu as float32
	VBROADCASTSS damp+40(FP), Y0
	VCVTPS2PD Y0, Z22             // damp as float64
	SHRQ $4, CX
	JEQ done
loop:
	VMULPS (DX), Z21, Z1          // float32(b·mu), 16 lanes
	VEXTRACTF32X8 $1, Z1, Y2
	VCVTPS2PD Y1, Z1
	VCVTPS2PD Y2, Z2
	VCVTPS2PD (SI), Z3
	VCVTPS2PD 32(SI), Z4
	VFMADD231PD Z22, Z3, Z1       // damp·g + b·mu
	VFMADD231PD Z22, Z4, Z2
	VCVTPD2PS Z1, Y1
	VCVTPD2PS Z2, Y2
	VMOVUPS Y1, (DX)
	VMOVUPS Y2, 32(DX)
	VCVTPS2PD Y1, Z1
	VCVTPS2PD Y2, Z2
	VCVTPS2PD (DI), Z5
	VCVTPS2PD 32(DI), Z6
	VFMADD231PD Z20, Z1, Z5       // nlr·b + p
	VFMADD231PD Z20, Z2, Z6
	VCVTPD2PS Z5, Y5
	VCVTPD2PS Z6, Y6
	VMOVUPS Y5, (DI)
	VMOVUPS Y6, 32(DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	DECQ CX
	JNE loop
done:
	VZEROUPPER
	RET

// func sgdPlainAVX512(p, grad *float32, n int, nlr float32)
//
// p ← float32(float64(nlr)·float64(g) + float64(p)), 16 at a time.
TEXT ·sgdPlainAVX512(SB), NOSPLIT, $0-28
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS nlr+24(FP), Y0
	VCVTPS2PD Y0, Z20
	SHRQ $4, CX
	JEQ pdone
ploop:
	VCVTPS2PD (SI), Z1
	VCVTPS2PD 32(SI), Z2
	VCVTPS2PD (DI), Z5
	VCVTPS2PD 32(DI), Z6
	VFMADD231PD Z20, Z1, Z5
	VFMADD231PD Z20, Z2, Z6
	VCVTPD2PS Z5, Y5
	VCVTPD2PS Z6, Y6
	VMOVUPS Y5, (DI)
	VMOVUPS Y6, 32(DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNE ploop
pdone:
	VZEROUPPER
	RET
