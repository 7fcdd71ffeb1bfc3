//go:build amd64 && !noasm

#include "textflag.h"

// func sgdGeneralAVX2(p, grad, b *float32, n int, c *sgdVecConsts)
//
// SGD's update with any of its options, 4 parameters at a time (n a
// multiple of 4), as sgdMomentum's and sgdPlain's scalar loops (c.flags:
// 1 maximize, 2 weight decay, 4 momentum, 8 first step, 16 Nesterov):
//	d ← −g if maximize, else g
//	d ← fma32(wd, p, d)                                    if weight decay
//	b ← d at the first step, else fma32(damp, d, float32(b·mu))   if momentum
//	d ← fma32(mu, b, d) if Nesterov, else b                 if momentum
//	p ← fma32(nlr, d, p)
// fma32 is a float64 FMA of the widened float32s, rounded to float32; b is
// not touched without momentum.
TEXT ·sgdGeneralAVX2(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ c+32(FP), AX
	VBROADCASTSS 0(AX), X0
	VCVTPS2PD X0, Y10             // nlr
	VBROADCASTSS 4(AX), X12       // mu as float32
	VCVTPS2PD X12, Y11            // mu
	VBROADCASTSS 8(AX), X0
	VCVTPS2PD X0, Y13             // damp
	VBROADCASTSS 12(AX), X0
	VCVTPS2PD X0, Y14             // wd
	MOVL 16(AX), R9               // flags
	MOVL $0x80000000, BX
	MOVQ BX, X15
	VPBROADCASTD X15, X15         // the sign bit
	SHRQ $2, CX
	JEQ done
loop:
	VMOVUPS (SI), X0              // g
	TESTL $1, R9
	JEQ nomax
	VXORPS X15, X0, X0            // −g
nomax:
	VCVTPS2PD X0, Y0              // d
	VCVTPS2PD (DI), Y1            // p
	TESTL $2, R9
	JEQ nowd
	VFMADD231PD Y14, Y1, Y0       // wd·p + d
	VCVTPD2PSY Y0, X0
	VCVTPS2PD X0, Y0
nowd:
	TESTL $4, R9
	JEQ update
	TESTL $8, R9
	JEQ later
	VCVTPD2PSY Y0, X2             // b ← d (exact: d is a float32)
	VMOVUPS X2, (DX)
	VMOVAPD Y0, Y2
	JMP bdone
later:
	VMULPS (DX), X12, X2          // float32(b·mu)
	VCVTPS2PD X2, Y2
	VFMADD231PD Y13, Y0, Y2       // damp·d + b·mu
	VCVTPD2PSY Y2, X2
	VMOVUPS X2, (DX)
	VCVTPS2PD X2, Y2
bdone:
	TESTL $16, R9
	JEQ plainmom
	VFMADD231PD Y11, Y2, Y0       // mu·b + d
	VCVTPD2PSY Y0, X0
	VCVTPS2PD X0, Y0
	JMP update
plainmom:
	VMOVAPD Y2, Y0                // d ← b
update:
	VFMADD231PD Y10, Y0, Y1       // nlr·d + p
	VCVTPD2PSY Y1, X1
	VMOVUPS X1, (DI)
	ADDQ $16, DI
	ADDQ $16, SI
	ADDQ $16, DX
	DECQ CX
	JNE loop
done:
	VZEROUPPER
	RET
