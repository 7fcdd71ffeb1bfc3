//go:build amd64 && !noasm

#include "textflag.h"

// AVX2 forms of the float32 transcendental loops of transc.go: exp, erf
// (GELU's Φ), sigmoid and tanh, 8 floats per step, and the row loops of
// softmax, log-softmax, GELU, the LSTM cell and the attention backward
// pass built on them. Each loop takes a multiple of 8 elements (the Go
// wrappers do the tails) and rounds every operation as its Go twin in
// transc.go does: a multiply and an add, never a fused multiply-add, in
// the same order, and sums in 8 lanes combined as sum8 combines them. So
// the results are the same bit for bit with and without the assembly, and
// for any split of the work between threads.

// Each constant is 8 copies of one float32 (or int32), so that an
// instruction can read all 8 lanes from memory.
DATA tc<>+0(SB)/8, $0xc2aeac4fc2aeac4f
DATA tc<>+8(SB)/8, $0xc2aeac4fc2aeac4f
DATA tc<>+16(SB)/8, $0xc2aeac4fc2aeac4f
DATA tc<>+24(SB)/8, $0xc2aeac4fc2aeac4f
DATA tc<>+32(SB)/8, $0x42b1721742b17217
DATA tc<>+40(SB)/8, $0x42b1721742b17217
DATA tc<>+48(SB)/8, $0x42b1721742b17217
DATA tc<>+56(SB)/8, $0x42b1721742b17217
DATA tc<>+64(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA tc<>+72(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA tc<>+80(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA tc<>+88(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA tc<>+96(SB)/8, $0x4b4000004b400000
DATA tc<>+104(SB)/8, $0x4b4000004b400000
DATA tc<>+112(SB)/8, $0x4b4000004b400000
DATA tc<>+120(SB)/8, $0x4b4000004b400000
DATA tc<>+128(SB)/8, $0x3f3180003f318000
DATA tc<>+136(SB)/8, $0x3f3180003f318000
DATA tc<>+144(SB)/8, $0x3f3180003f318000
DATA tc<>+152(SB)/8, $0x3f3180003f318000
DATA tc<>+160(SB)/8, $0xb95e8083b95e8083
DATA tc<>+168(SB)/8, $0xb95e8083b95e8083
DATA tc<>+176(SB)/8, $0xb95e8083b95e8083
DATA tc<>+184(SB)/8, $0xb95e8083b95e8083
DATA tc<>+192(SB)/8, $0x3950696739506967
DATA tc<>+200(SB)/8, $0x3950696739506967
DATA tc<>+208(SB)/8, $0x3950696739506967
DATA tc<>+216(SB)/8, $0x3950696739506967
DATA tc<>+224(SB)/8, $0x3ab743ce3ab743ce
DATA tc<>+232(SB)/8, $0x3ab743ce3ab743ce
DATA tc<>+240(SB)/8, $0x3ab743ce3ab743ce
DATA tc<>+248(SB)/8, $0x3ab743ce3ab743ce
DATA tc<>+256(SB)/8, $0x3c0889083c088908
DATA tc<>+264(SB)/8, $0x3c0889083c088908
DATA tc<>+272(SB)/8, $0x3c0889083c088908
DATA tc<>+280(SB)/8, $0x3c0889083c088908
DATA tc<>+288(SB)/8, $0x3d2aa9c13d2aa9c1
DATA tc<>+296(SB)/8, $0x3d2aa9c13d2aa9c1
DATA tc<>+304(SB)/8, $0x3d2aa9c13d2aa9c1
DATA tc<>+312(SB)/8, $0x3d2aa9c13d2aa9c1
DATA tc<>+320(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA tc<>+328(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA tc<>+336(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA tc<>+344(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA tc<>+352(SB)/8, $0x3f0000003f000000
DATA tc<>+360(SB)/8, $0x3f0000003f000000
DATA tc<>+368(SB)/8, $0x3f0000003f000000
DATA tc<>+376(SB)/8, $0x3f0000003f000000
DATA tc<>+384(SB)/8, $0x3f8000003f800000
DATA tc<>+392(SB)/8, $0x3f8000003f800000
DATA tc<>+400(SB)/8, $0x3f8000003f800000
DATA tc<>+408(SB)/8, $0x3f8000003f800000
DATA tc<>+416(SB)/8, $0x7f8000007f800000
DATA tc<>+424(SB)/8, $0x7f8000007f800000
DATA tc<>+432(SB)/8, $0x7f8000007f800000
DATA tc<>+440(SB)/8, $0x7f8000007f800000
DATA tc<>+448(SB)/8, $0x4b4000004b400000
DATA tc<>+456(SB)/8, $0x4b4000004b400000
DATA tc<>+464(SB)/8, $0x4b4000004b400000
DATA tc<>+472(SB)/8, $0x4b4000004b400000
DATA tc<>+480(SB)/8, $0x0000007f0000007f
DATA tc<>+488(SB)/8, $0x0000007f0000007f
DATA tc<>+496(SB)/8, $0x0000007f0000007f
DATA tc<>+504(SB)/8, $0x0000007f0000007f
DATA tc<>+512(SB)/8, $0x4080000040800000
DATA tc<>+520(SB)/8, $0x4080000040800000
DATA tc<>+528(SB)/8, $0x4080000040800000
DATA tc<>+536(SB)/8, $0x4080000040800000
DATA tc<>+544(SB)/8, $0xc0800000c0800000
DATA tc<>+552(SB)/8, $0xc0800000c0800000
DATA tc<>+560(SB)/8, $0xc0800000c0800000
DATA tc<>+568(SB)/8, $0xc0800000c0800000
DATA tc<>+576(SB)/8, $0xaf95df0baf95df0b
DATA tc<>+584(SB)/8, $0xaf95df0baf95df0b
DATA tc<>+592(SB)/8, $0xaf95df0baf95df0b
DATA tc<>+600(SB)/8, $0xaf95df0baf95df0b
DATA tc<>+608(SB)/8, $0x32edffee32edffee
DATA tc<>+616(SB)/8, $0x32edffee32edffee
DATA tc<>+624(SB)/8, $0x32edffee32edffee
DATA tc<>+632(SB)/8, $0x32edffee32edffee
DATA tc<>+640(SB)/8, $0xb60cff51b60cff51
DATA tc<>+648(SB)/8, $0xb60cff51b60cff51
DATA tc<>+656(SB)/8, $0xb60cff51b60cff51
DATA tc<>+664(SB)/8, $0xb60cff51b60cff51
DATA tc<>+672(SB)/8, $0xb86ec2d2b86ec2d2
DATA tc<>+680(SB)/8, $0xb86ec2d2b86ec2d2
DATA tc<>+688(SB)/8, $0xb86ec2d2b86ec2d2
DATA tc<>+696(SB)/8, $0xb86ec2d2b86ec2d2
DATA tc<>+704(SB)/8, $0xba40ac63ba40ac63
DATA tc<>+712(SB)/8, $0xba40ac63ba40ac63
DATA tc<>+720(SB)/8, $0xba40ac63ba40ac63
DATA tc<>+728(SB)/8, $0xba40ac63ba40ac63
DATA tc<>+736(SB)/8, $0xbb41a1f6bb41a1f6
DATA tc<>+744(SB)/8, $0xbb41a1f6bb41a1f6
DATA tc<>+752(SB)/8, $0xbb41a1f6bb41a1f6
DATA tc<>+760(SB)/8, $0xbb41a1f6bb41a1f6
DATA tc<>+768(SB)/8, $0xbc83dbd4bc83dbd4
DATA tc<>+776(SB)/8, $0xbc83dbd4bc83dbd4
DATA tc<>+784(SB)/8, $0xbc83dbd4bc83dbd4
DATA tc<>+792(SB)/8, $0xbc83dbd4bc83dbd4
DATA tc<>+800(SB)/8, $0xb77460cdb77460cd
DATA tc<>+808(SB)/8, $0xb77460cdb77460cd
DATA tc<>+816(SB)/8, $0xb77460cdb77460cd
DATA tc<>+824(SB)/8, $0xb77460cdb77460cd
DATA tc<>+832(SB)/8, $0xb95fbd29b95fbd29
DATA tc<>+840(SB)/8, $0xb95fbd29b95fbd29
DATA tc<>+848(SB)/8, $0xb95fbd29b95fbd29
DATA tc<>+856(SB)/8, $0xb95fbd29b95fbd29
DATA tc<>+864(SB)/8, $0xbadc924ebadc924e
DATA tc<>+872(SB)/8, $0xbadc924ebadc924e
DATA tc<>+880(SB)/8, $0xbadc924ebadc924e
DATA tc<>+888(SB)/8, $0xbadc924ebadc924e
DATA tc<>+896(SB)/8, $0xbbf19bf8bbf19bf8
DATA tc<>+904(SB)/8, $0xbbf19bf8bbf19bf8
DATA tc<>+912(SB)/8, $0xbbf19bf8bbf19bf8
DATA tc<>+920(SB)/8, $0xbbf19bf8bbf19bf8
DATA tc<>+928(SB)/8, $0xbc69b6a7bc69b6a7
DATA tc<>+936(SB)/8, $0xbc69b6a7bc69b6a7
DATA tc<>+944(SB)/8, $0xbc69b6a7bc69b6a7
DATA tc<>+952(SB)/8, $0xbc69b6a7bc69b6a7
DATA tc<>+960(SB)/8, $0x3fb504f33fb504f3
DATA tc<>+968(SB)/8, $0x3fb504f33fb504f3
DATA tc<>+976(SB)/8, $0x3fb504f33fb504f3
DATA tc<>+984(SB)/8, $0x3fb504f33fb504f3
DATA tc<>+992(SB)/8, $0x3f0000003f000000
DATA tc<>+1000(SB)/8, $0x3f0000003f000000
DATA tc<>+1008(SB)/8, $0x3f0000003f000000
DATA tc<>+1016(SB)/8, $0x3f0000003f000000
DATA tc<>+1024(SB)/8, $0xbf000000bf000000
DATA tc<>+1032(SB)/8, $0xbf000000bf000000
DATA tc<>+1040(SB)/8, $0xbf000000bf000000
DATA tc<>+1048(SB)/8, $0xbf000000bf000000
DATA tc<>+1056(SB)/8, $0x3ecc422a3ecc422a
DATA tc<>+1064(SB)/8, $0x3ecc422a3ecc422a
DATA tc<>+1072(SB)/8, $0x3ecc422a3ecc422a
DATA tc<>+1080(SB)/8, $0x3ecc422a3ecc422a
DATA tc<>+1088(SB)/8, $0xbbbaf0eabbbaf0ea
DATA tc<>+1096(SB)/8, $0xbbbaf0eabbbaf0ea
DATA tc<>+1104(SB)/8, $0xbbbaf0eabbbaf0ea
DATA tc<>+1112(SB)/8, $0xbbbaf0eabbbaf0ea
DATA tc<>+1120(SB)/8, $0x3ca9134e3ca9134e
DATA tc<>+1128(SB)/8, $0x3ca9134e3ca9134e
DATA tc<>+1136(SB)/8, $0x3ca9134e3ca9134e
DATA tc<>+1144(SB)/8, $0x3ca9134e3ca9134e
DATA tc<>+1152(SB)/8, $0xbd5c1e2dbd5c1e2d
DATA tc<>+1160(SB)/8, $0xbd5c1e2dbd5c1e2d
DATA tc<>+1168(SB)/8, $0xbd5c1e2dbd5c1e2d
DATA tc<>+1176(SB)/8, $0xbd5c1e2dbd5c1e2d
DATA tc<>+1184(SB)/8, $0x3e0883933e088393
DATA tc<>+1192(SB)/8, $0x3e0883933e088393
DATA tc<>+1200(SB)/8, $0x3e0883933e088393
DATA tc<>+1208(SB)/8, $0x3e0883933e088393
DATA tc<>+1216(SB)/8, $0xbeaaaa99beaaaa99
DATA tc<>+1224(SB)/8, $0xbeaaaa99beaaaa99
DATA tc<>+1232(SB)/8, $0xbeaaaa99beaaaa99
DATA tc<>+1240(SB)/8, $0xbeaaaa99beaaaa99
DATA tc<>+1248(SB)/8, $0x3f2000003f200000
DATA tc<>+1256(SB)/8, $0x3f2000003f200000
DATA tc<>+1264(SB)/8, $0x3f2000003f200000
DATA tc<>+1272(SB)/8, $0x3f2000003f200000
DATA tc<>+1280(SB)/8, $0x4000000040000000
DATA tc<>+1288(SB)/8, $0x4000000040000000
DATA tc<>+1296(SB)/8, $0x4000000040000000
DATA tc<>+1304(SB)/8, $0x4000000040000000
DATA tc<>+1312(SB)/8, $0x8000000080000000
DATA tc<>+1320(SB)/8, $0x8000000080000000
DATA tc<>+1328(SB)/8, $0x8000000080000000
DATA tc<>+1336(SB)/8, $0x8000000080000000
DATA tc<>+1344(SB)/8, $0x7fffffff7fffffff
DATA tc<>+1352(SB)/8, $0x7fffffff7fffffff
DATA tc<>+1360(SB)/8, $0x7fffffff7fffffff
DATA tc<>+1368(SB)/8, $0x7fffffff7fffffff
GLOBL tc<>(SB), RODATA|NOPTR, $1376

#define expLo tc<>+0(SB)
#define expHi tc<>+32(SB)
#define expLog2e tc<>+64(SB)
#define expMagic tc<>+96(SB)
#define expLn2Hi tc<>+128(SB)
#define expLn2Lo tc<>+160(SB)
#define expP0 tc<>+192(SB)
#define expP1 tc<>+224(SB)
#define expP2 tc<>+256(SB)
#define expP3 tc<>+288(SB)
#define expP4 tc<>+320(SB)
#define expP5 tc<>+352(SB)
#define one tc<>+384(SB)
#define inf tc<>+416(SB)
#define magicBits tc<>+448(SB)
#define bias127 tc<>+480(SB)
#define four tc<>+512(SB)
#define mfour tc<>+544(SB)
#define erfA0 tc<>+576(SB)
#define erfA1 tc<>+608(SB)
#define erfA2 tc<>+640(SB)
#define erfA3 tc<>+672(SB)
#define erfA4 tc<>+704(SB)
#define erfA5 tc<>+736(SB)
#define erfA6 tc<>+768(SB)
#define erfB0 tc<>+800(SB)
#define erfB1 tc<>+832(SB)
#define erfB2 tc<>+864(SB)
#define erfB3 tc<>+896(SB)
#define erfB4 tc<>+928(SB)
#define sqrt2 tc<>+960(SB)
#define half tc<>+992(SB)
#define mhalf tc<>+1024(SB)
#define pdfK tc<>+1056(SB)
#define tanhT0 tc<>+1088(SB)
#define tanhT1 tc<>+1120(SB)
#define tanhT2 tc<>+1152(SB)
#define tanhT3 tc<>+1184(SB)
#define tanhT4 tc<>+1216(SB)
#define tanhThr tc<>+1248(SB)
#define two tc<>+1280(SB)
#define signMask tc<>+1312(SB)
#define absMask tc<>+1344(SB)

// EXP replaces X by Exp32(X) in every lane (T1-T4 scratch): exp32Core on
// x clamped to [expLo, expHi], then 0 where !(x >= expLo), +Inf where
// x > expHi, and x itself where it is NaN.
#define EXP(X, T1, T2, T3, T4) \
	VMOVAPS X, T4; \
	VMAXPS expLo, X, X; \
	VMINPS expHi, X, X; \
	VMULPS expLog2e, X, T1; \
	VADDPS expMagic, T1, T1; \
	VPSUBD magicBits, T1, T2; \
	VSUBPS expMagic, T1, T1; \
	VMULPS expLn2Hi, T1, T3; \
	VSUBPS T3, X, X; \
	VMULPS expLn2Lo, T1, T3; \
	VSUBPS T3, X, X; \
	VMULPS expP0, X, T1; \
	VADDPS expP1, T1, T1; \
	VMULPS X, T1, T1; \
	VADDPS expP2, T1, T1; \
	VMULPS X, T1, T1; \
	VADDPS expP3, T1, T1; \
	VMULPS X, T1, T1; \
	VADDPS expP4, T1, T1; \
	VMULPS X, T1, T1; \
	VADDPS expP5, T1, T1; \
	VMULPS X, X, T3; \
	VMULPS T3, T1, T1; \
	VADDPS X, T1, T1; \
	VADDPS one, T1, T1; \
	VPSRAD $1, T2, T3; \
	VPSUBD T3, T2, T2; \
	VPADDD bias127, T3, T3; \
	VPSLLD $23, T3, T3; \
	VPADDD bias127, T2, T2; \
	VPSLLD $23, T2, T2; \
	VMULPS T3, T1, T1; \
	VMULPS T2, T1, X; \
	VCMPPS $0x1d, expLo, T4, T1; \
	VANDPS T1, X, X; \
	VCMPPS $0x1e, expHi, T4, T1; \
	VBLENDVPS T1, inf, X, X; \
	VCMPPS $3, T4, T4, T1; \
	VBLENDVPS T1, T4, X, X

// SIGMOID replaces X by sigmoid32(X) (M, E, T1-T4 scratch): e = Exp32(-|x|),
// then 1/(1+e) where x >= 0 and e/(1+e) elsewhere.
#define SIGMOID(X, M, E, T1, T2, T3, T4) \
	VXORPS M, M, M; \
	VCMPPS $0x1d, M, X, M; \
	VORPS signMask, X, E; \
	EXP(E, T1, T2, T3, T4); \
	VADDPS one, E, T1; \
	VBLENDVPS M, one, E, E; \
	VDIVPS T1, E, X

// TANH replaces X by tanh32(X) (A, E, T1-T4 scratch): for a = |x| below
// 0.625 a + (P(a²)·a²)·a, else 1 - 2/(Exp32(2a)+1); then x's sign.
#define TANH(X, A, E, T1, T2, T3, T4) \
	VANDPS absMask, X, A; \
	VADDPS A, A, E; \
	EXP(E, T1, T2, T3, T4); \
	VADDPS one, E, E; \
	VMOVUPS two, T1; \
	VDIVPS E, T1, E; \
	VMOVUPS one, T1; \
	VSUBPS E, T1, E; \
	VMULPS A, A, T1; \
	VMULPS tanhT0, T1, T2; \
	VADDPS tanhT1, T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS tanhT2, T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS tanhT3, T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS tanhT4, T2, T2; \
	VMULPS T1, T2, T2; \
	VMULPS A, T2, T2; \
	VADDPS A, T2, T2; \
	VCMPPS $0x11, tanhThr, A, T3; \
	VBLENDVPS T3, T2, E, E; \
	VANDPS signMask, X, T1; \
	VORPS T1, E, X

// SUM8 leaves in the low lane of X the sum of Y's 8 lanes as sum8 adds
// them: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). T is scratch.
#define SUM8(Y, X, T) \
	VEXTRACTF128 $1, Y, T; \
	VADDPS T, X, X; \
	VMOVHLPS X, X, T; \
	VADDPS T, X, X; \
	VPSHUFD $1, X, T; \
	VADDSS T, X, X

// func maxRow8(x *float32, n int) float32
// The largest element, NaN if any is NaN.
TEXT ·maxRow8(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	VXORPS Y2, Y2, Y2
max_loop:
	VMOVUPS (SI), Y1
	VMAXPS Y1, Y0, Y0
	VCMPPS $3, Y1, Y1, Y3
	VORPS Y3, Y2, Y2
	ADDQ $32, SI
	SUBQ $8, CX
	JNE max_loop
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VMAXPS X1, X0, X0
	VPSHUFD $1, X0, X1
	VMAXSS X1, X0, X0
	VMOVMSKPS Y2, AX
	TESTL AX, AX
	JEQ max_done
	MOVL $0x7fc00000, AX
	MOVL AX, X0
max_done:
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func expSubSum8(dst, src *float32, n int, m float32) float32
// dst[i] = Exp32(src[i] - m); returns their sum in 8 lanes.
TEXT ·expSubSum8(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS m+24(FP), Y6
	VXORPS Y7, Y7, Y7
es_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	EXP(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y7, Y7
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNE es_loop
	SUM8(Y7, X7, X1)
	MOVSS X7, ret+32(FP)
	VZEROUPPER
	RET

// func expScale8(dst, src *float32, n int, c float32)
// dst[i] = Exp32(src[i])·c.
TEXT ·expScale8(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS c+24(FP), Y6
xs_loop:
	VMOVUPS (SI), Y0
	EXP(Y0, Y1, Y2, Y3, Y4)
	VMULPS Y6, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNE xs_loop
	VZEROUPPER
	RET

// func scale8(x *float32, n int, s float32)
// x[i] *= s.
TEXT ·scale8(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y6
sc_loop:
	VMULPS (DI), Y6, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JNE sc_loop
	VZEROUPPER
	RET

// func sub8(dst, src *float32, n int, s float32)
// dst[i] = src[i] - s.
TEXT ·sub8(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS s+24(FP), Y6
sub_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNE sub_loop
	VZEROUPPER
	RET

// func dot8(a, b *float32, n int) float32
// The sum of a[i]·b[i] in 8 lanes, each product rounded before the add.
TEXT ·dot8(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ n+16(FP), CX
	VXORPS Y7, Y7, Y7
dot_loop:
	VMOVUPS (SI), Y0
	VMULPS (DX), Y0, Y0
	VADDPS Y0, Y7, Y7
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNE dot_loop
	SUM8(Y7, X7, X1)
	MOVSS X7, ret+24(FP)
	VZEROUPPER
	RET

// func softmaxGrad8(p, d *float32, n int, dot, scale float32)
// d[i] = (p[i]·(d[i] - dot))·scale.
TEXT ·softmaxGrad8(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ d+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS dot+24(FP), Y6
	VBROADCASTSS scale+28(FP), Y7
sg_loop:
	VMOVUPS (DI), Y0
	VSUBPS Y6, Y0, Y0
	VMULPS (SI), Y0, Y0
	VMULPS Y7, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNE sg_loop
	VZEROUPPER
	RET

// ERF replaces X by Erf32(X) (F, MF hold 4 and -4; T1-T3 scratch):
// x·p(x²)/q(x²) on x clamped to [-4, 4], NaN kept.
#define ERF(X, F, MF, T1, T2, T3) \
	VMINPS X, F, X; \
	VMAXPS X, MF, X; \
	VMULPS X, X, T1; \
	VMULPS erfA0, T1, T2; \
	VADDPS erfA1, T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS erfA2, T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS erfA3, T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS erfA4, T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS erfA5, T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS erfA6, T2, T2; \
	VMULPS erfB0, T1, T3; \
	VADDPS erfB1, T3, T3; \
	VMULPS T1, T3, T3; \
	VADDPS erfB2, T3, T3; \
	VMULPS T1, T3, T3; \
	VADDPS erfB3, T3, T3; \
	VMULPS T1, T3, T3; \
	VADDPS erfB4, T3, T3; \
	VMULPS T2, X, X; \
	VDIVPS T3, X, X

// func geluCDF8(y, cdf, x *float32, n int)
// cdf[i] = ½(1 + Erf32(x[i]·√2/2)), y[i] = x[i]·cdf[i].
TEXT ·geluCDF8(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ cdf+8(FP), R8
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	VMOVUPS four, Y14
	VMOVUPS mfour, Y15
gc_loop:
	VMOVUPS (SI), Y5
	VMULPS sqrt2, Y5, Y0
	VMULPS half, Y0, Y0
	ERF(Y0, Y14, Y15, Y1, Y2, Y3)
	VADDPS one, Y0, Y0
	VMULPS half, Y0, Y0
	VMOVUPS Y0, (R8)
	VMULPS Y0, Y5, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	SUBQ $8, CX
	JNE gc_loop
	VZEROUPPER
	RET

// func geluGrad8(dx, grad, x, cdf *float32, n int)
// dx[i] = grad[i]·(cdf[i] + (x·Exp32((-½x)·x))·(1/√(2π))).
TEXT ·geluGrad8(SB), NOSPLIT, $0-40
	MOVQ dx+0(FP), DI
	MOVQ grad+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ cdf+24(FP), R8
	MOVQ n+32(FP), CX
gg_loop:
	VMOVUPS (SI), Y5
	VMULPS mhalf, Y5, Y0
	VMULPS Y5, Y0, Y0
	EXP(Y0, Y1, Y2, Y3, Y4)
	VMULPS Y0, Y5, Y0
	VMULPS pdfK, Y0, Y0
	VADDPS (R8), Y0, Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	SUBQ $8, CX
	JNE gg_loop
	VZEROUPPER
	RET

// func lstmGates8(p, hw, c, gates, cNew, hNew, tanhC *float32, h, n int)
// The first n (a multiple of 8) hidden units of one row of lstmGatesRow:
// the gates' pre-activations p + hw in four segments of h (i, f, g, o).
TEXT ·lstmGates8(SB), NOSPLIT, $0-72
	MOVQ p+0(FP), SI
	MOVQ hw+8(FP), DX
	MOVQ c+16(FP), R8
	MOVQ gates+24(FP), DI
	MOVQ cNew+32(FP), R9
	MOVQ hNew+40(FP), R10
	MOVQ tanhC+48(FP), R11
	MOVQ h+56(FP), R12
	MOVQ n+64(FP), CX
	SHLQ $2, R12
	LEAQ (R12)(R12*2), R13
lg_loop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	SIGMOID(Y0, Y8, Y9, Y10, Y11, Y12, Y13)
	VMOVUPS Y0, (DI)
	VMOVUPS (SI)(R12*1), Y1
	VADDPS (DX)(R12*1), Y1, Y1
	SIGMOID(Y1, Y8, Y9, Y10, Y11, Y12, Y13)
	VMOVUPS Y1, (DI)(R12*1)
	VMOVUPS (SI)(R12*2), Y2
	VADDPS (DX)(R12*2), Y2, Y2
	TANH(Y2, Y8, Y9, Y10, Y11, Y12, Y13)
	VMOVUPS Y2, (DI)(R12*2)
	VMOVUPS (SI)(R13*1), Y3
	VADDPS (DX)(R13*1), Y3, Y3
	SIGMOID(Y3, Y8, Y9, Y10, Y11, Y12, Y13)
	VMOVUPS Y3, (DI)(R13*1)
	VMULPS (R8), Y1, Y4
	VMULPS Y2, Y0, Y5
	VADDPS Y5, Y4, Y4
	VMOVUPS Y4, (R9)
	TANH(Y4, Y8, Y9, Y10, Y11, Y12, Y13)
	VMOVUPS Y4, (R11)
	VMULPS Y4, Y3, Y5
	VMOVUPS Y5, (R10)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $8, CX
	JNE lg_loop
	VZEROUPPER
	RET

// func lstmBack8(gr, ar, gy, dh, tc, cp, dc *float32, h, n int)
// The first n (a multiple of 8) hidden units of one row of lstmBackRow.
TEXT ·lstmBack8(SB), NOSPLIT, $0-72
	MOVQ gr+0(FP), SI
	MOVQ ar+8(FP), DI
	MOVQ gy+16(FP), DX
	MOVQ dh+24(FP), R8
	MOVQ tc+32(FP), R9
	MOVQ cp+40(FP), R10
	MOVQ dc+48(FP), R11
	MOVQ h+56(FP), R12
	MOVQ n+64(FP), CX
	SHLQ $2, R12
	LEAQ (R12)(R12*2), R13
	VMOVUPS one, Y15
lb_loop:
	VMOVUPS (SI), Y0           // i
	VMOVUPS (SI)(R12*1), Y1    // f
	VMOVUPS (SI)(R12*2), Y2    // g
	VMOVUPS (SI)(R13*1), Y3    // o
	VMOVUPS (R8), Y4
	VADDPS (DX), Y4, Y4        // dhv = dh + gy
	VMOVUPS (R9), Y5           // tv
	VMULPS Y5, Y5, Y6
	VSUBPS Y6, Y15, Y6         // 1 - tv·tv
	VMULPS Y3, Y4, Y7          // dhv·o
	VMULPS Y6, Y7, Y7
	VADDPS (R11), Y7, Y7       // dcv = dc + dhv·o·(1-tv²)
	VMULPS Y2, Y7, Y8          // dcv·g
	VMULPS Y0, Y8, Y8          // ·i
	VSUBPS Y0, Y15, Y9         // 1 - i
	VMULPS Y9, Y8, Y8
	VMOVUPS Y8, (DI)
	VMULPS (R10), Y7, Y8       // dcv·cp
	VMULPS Y1, Y8, Y8          // ·f
	VSUBPS Y1, Y15, Y9         // 1 - f
	VMULPS Y9, Y8, Y8
	VMOVUPS Y8, (DI)(R12*1)
	VMULPS Y0, Y7, Y8          // dcv·i
	VMULPS Y2, Y2, Y9
	VSUBPS Y9, Y15, Y9         // 1 - g·g
	VMULPS Y9, Y8, Y8
	VMOVUPS Y8, (DI)(R12*2)
	VMULPS Y5, Y4, Y8          // dhv·tv
	VMULPS Y3, Y8, Y8          // ·o
	VSUBPS Y3, Y15, Y9         // 1 - o
	VMULPS Y9, Y8, Y8
	VMOVUPS Y8, (DI)(R13*1)
	VMULPS Y1, Y7, Y7          // dc = dcv·f
	VMOVUPS Y7, (R11)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $8, CX
	JNE lb_loop
	VZEROUPPER
	RET
