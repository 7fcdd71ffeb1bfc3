//go:build amd64 && !noasm

#include "textflag.h"

// func rmspropAVX2(p, grad, sq, buf *float32, n int, c *rmsVecConsts)
//
// RMSprop's common update (not centered, not maximising, no weight decay),
// 8 parameters at a time (n a multiple of 8), as rmspropUpdate's loop:
//	sq ← fma32(float32(oma·g), g, float32(sq·alpha))
//	s ← float32(√sq) + eps
//	buf ← float32(buf·mu) + float32(g / s),  p ← fma32(nlr, buf, p)   if c.momentum
//	p ← p + float32(float32(nlr·g) / s)                                otherwise
// fma32 is a float64 FMA of the widened float32s, rounded to float32.
TEXT ·rmspropAVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ sq+16(FP), DX
	MOVQ buf+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y8        // alpha
	VBROADCASTSS 4(AX), Y9        // oma
	VBROADCASTSS 8(AX), Y10       // eps
	VBROADCASTSS 12(AX), Y11      // mu
	VBROADCASTSS 16(AX), Y12      // nlr
	VBROADCASTSS 16(AX), X0
	VCVTPS2PD X0, Y13             // nlr as float64
	MOVL 20(AX), BX               // momentum
	SHRQ $3, CX
	JEQ done
loop:
	VMOVUPS (SI), Y0              // g
	VEXTRACTF128 $1, Y0, X1
	VCVTPS2PD X0, Y2              // g, float64, low 4
	VCVTPS2PD X1, Y3              // high 4
	VMULPS Y9, Y0, Y4             // float32(oma·g)
	VEXTRACTF128 $1, Y4, X5
	VCVTPS2PD X4, Y4
	VCVTPS2PD X5, Y5
	VMULPS (DX), Y8, Y6           // float32(sq·alpha)
	VEXTRACTF128 $1, Y6, X7
	VCVTPS2PD X6, Y6
	VCVTPS2PD X7, Y7
	VFMADD231PD Y4, Y2, Y6        // (oma·g)·g + sq·alpha
	VFMADD231PD Y5, Y3, Y7
	VCVTPD2PSY Y6, X6
	VCVTPD2PSY Y7, X7
	VINSERTF128 $1, X7, Y6, Y6    // new sq
	VMOVUPS Y6, (DX)
	VSQRTPS Y6, Y6
	VADDPS Y10, Y6, Y6            // s = √sq + eps
	TESTL BX, BX
	JEQ plain
	VDIVPS Y6, Y0, Y1             // float32(g / s)
	VMULPS (R8), Y11, Y4          // float32(buf·mu)
	VADDPS Y4, Y1, Y4             // new buf (g/s first: a NaN in both gives its, as the scalar ADDSS does)
	VMOVUPS Y4, (R8)
	VEXTRACTF128 $1, Y4, X5
	VCVTPS2PD X4, Y4
	VCVTPS2PD X5, Y5
	VCVTPS2PD (DI), Y6
	VCVTPS2PD 16(DI), Y7
	VFMADD231PD Y13, Y4, Y6       // nlr·buf + p
	VFMADD231PD Y13, Y5, Y7
	VCVTPD2PSY Y6, X6
	VCVTPD2PSY Y7, X7
	VMOVUPS X6, (DI)
	VMOVUPS X7, 16(DI)
	JMP next
plain:
	VMULPS Y12, Y0, Y1            // float32(nlr·g)
	VDIVPS Y6, Y1, Y1
	VMOVUPS (DI), Y0
	VADDPS Y0, Y1, Y0
	VMOVUPS Y0, (DI)
next:
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNE loop
done:
	VZEROUPPER
	RET
