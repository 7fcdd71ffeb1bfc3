//go:build amd64 && !noasm

#include "textflag.h"

// func adamAVX2(p, grad, m, v *float32, n int, c *adamVecConsts)
//
// Adam's common update (not maximising, no AMSGrad, no L2 weight decay),
// 8 parameters at a time (n a multiple of 8), as adamUpdate's scalar loop:
//	p ← float32(p·decay)                                 if c.decoupled
//	m ← fma32(omb1, g, float32(m·b1))
//	v ← fma32(float32(omb2·g), g, float32(v·b2))
//	p ← p + float32(float32(nstep·m) / (float32(√v / bcs) + eps))
// fma32 is a float64 FMA of the widened float32s, rounded to float32; the
// rest are float32 operations, each rounded once (VSQRTPS and VDIVPS are
// correctly rounded, as sqrt32 and Go's division).
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y8        // b1
	VBROADCASTSS 4(AX), X0
	VCVTPS2PD X0, Y9              // omb1 as float64
	VBROADCASTSS 8(AX), Y10       // b2
	VBROADCASTSS 12(AX), Y11      // omb2
	VBROADCASTSS 16(AX), Y12      // eps
	VBROADCASTSS 20(AX), Y13      // decay
	VBROADCASTSS 24(AX), Y14      // nstep
	VBROADCASTSS 28(AX), Y15      // bcs
	MOVL 32(AX), BX               // decoupled
	SHRQ $3, CX
	JEQ done
loop:
	VMOVUPS (SI), Y0              // g
	VEXTRACTF128 $1, Y0, X1
	VCVTPS2PD X0, Y2              // g, float64, low 4
	VCVTPS2PD X1, Y3              // high 4
	// m
	VMULPS (DX), Y8, Y4           // float32(m·b1)
	VEXTRACTF128 $1, Y4, X5
	VCVTPS2PD X4, Y4
	VCVTPS2PD X5, Y5
	VFMADD231PD Y9, Y2, Y4        // omb1·g + m·b1
	VFMADD231PD Y9, Y3, Y5
	VCVTPD2PSY Y4, X4
	VCVTPD2PSY Y5, X5
	VINSERTF128 $1, X5, Y4, Y4    // new m
	VMOVUPS Y4, (DX)
	// v
	VMULPS Y11, Y0, Y6            // float32(omb2·g)
	VEXTRACTF128 $1, Y6, X7
	VCVTPS2PD X6, Y6
	VCVTPS2PD X7, Y7
	VMULPS (R8), Y10, Y1          // float32(v·b2)
	VEXTRACTF128 $1, Y1, X5
	VCVTPS2PD X1, Y1
	VCVTPS2PD X5, Y5
	VFMADD231PD Y6, Y2, Y1        // (omb2·g)·g + v·b2
	VFMADD231PD Y7, Y3, Y5
	VCVTPD2PSY Y1, X1
	VCVTPD2PSY Y5, X5
	VINSERTF128 $1, X5, Y1, Y1    // new v
	VMOVUPS Y1, (R8)
	// p
	VSQRTPS Y1, Y1
	VDIVPS Y15, Y1, Y1            // float32(√v / bcs)
	VADDPS Y12, Y1, Y1            // + eps
	VMULPS Y14, Y4, Y4            // float32(nstep·m)
	VDIVPS Y1, Y4, Y4
	VMOVUPS (DI), Y0
	TESTL BX, BX
	JEQ nodecay
	VMULPS Y13, Y0, Y0            // float32(p·decay)
nodecay:
	VADDPS Y0, Y4, Y0             // the step first: a NaN in both gives the step's, as the scalar ADDSS does
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNE loop
done:
	VZEROUPPER
	RET
