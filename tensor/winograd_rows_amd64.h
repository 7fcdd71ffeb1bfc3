// The rows e0..e3 of a patch B·X (Bᵀ of F(2×2, 3×3)'s input transform,
// transposed) for 8 tiles, into Y0..Y3, from dV's 16 planes: X_q at SI,
// X_4+q at R8, X_8+q at R9, X_12+q at R10, the planes q = 0..3 AX bytes
// apart (R11 = 3·AX); Y15 holds the sign bits. winoDX8 and winoPatch8
// share them.

// row 0: e_q = X_q
#define WROW0 \
	VMOVUPS (SI), Y0 \
	VMOVUPS (SI)(AX*1), Y1 \
	VMOVUPS (SI)(AX*2), Y2 \
	VMOVUPS (SI)(R11*1), Y3

// row 1: e_q = X_4+q - X_8+q + X_12+q
#define WROW1 \
	VMOVUPS (R8), Y0 \
	VSUBPS (R9), Y0, Y0 \
	VADDPS (R10), Y0, Y0 \
	VMOVUPS (R8)(AX*1), Y1 \
	VSUBPS (R9)(AX*1), Y1, Y1 \
	VADDPS (R10)(AX*1), Y1, Y1 \
	VMOVUPS (R8)(AX*2), Y2 \
	VSUBPS (R9)(AX*2), Y2, Y2 \
	VADDPS (R10)(AX*2), Y2, Y2 \
	VMOVUPS (R8)(R11*1), Y3 \
	VSUBPS (R9)(R11*1), Y3, Y3 \
	VADDPS (R10)(R11*1), Y3, Y3

// row 2: e_q = X_4+q + X_8+q - X_q
#define WROW2 \
	VMOVUPS (R8), Y0 \
	VADDPS (R9), Y0, Y0 \
	VSUBPS (SI), Y0, Y0 \
	VMOVUPS (R8)(AX*1), Y1 \
	VADDPS (R9)(AX*1), Y1, Y1 \
	VSUBPS (SI)(AX*1), Y1, Y1 \
	VMOVUPS (R8)(AX*2), Y2 \
	VADDPS (R9)(AX*2), Y2, Y2 \
	VSUBPS (SI)(AX*2), Y2, Y2 \
	VMOVUPS (R8)(R11*1), Y3 \
	VADDPS (R9)(R11*1), Y3, Y3 \
	VSUBPS (SI)(R11*1), Y3, Y3

// row 3: e_q = -X_12+q
#define WROW3 \
	VXORPS (R10), Y15, Y0 \
	VXORPS (R10)(AX*1), Y15, Y1 \
	VXORPS (R10)(AX*2), Y15, Y2 \
	VXORPS (R10)(R11*1), Y15, Y3
