//go:build amd64

#include "textflag.h"

// log10s' logarithms 4 at a time on AVX2 (log10_amd64.go): each lane does
// archLog's operations in its order, then the multiplication by 1/ln 10,
// with no fused multiply-add, so the results are the same to the bit.
// Go's operand order: the destination last (VSUBPD a, b, c: c = b - a).

// logConst offsets
#define L_MANT 0
#define L_HALF 32
#define L_MAGIC 64
#define L_BIAS 96
#define L_HSQRT2 128
#define L_ONE 160
#define L_TWO 192
#define L_L7 224
#define L_L5 256
#define L_L3 288
#define L_L1 320
#define L_L6 352
#define L_L4 384
#define L_L2 416
#define L_LN2LO 448
#define L_LN2HI 480
#define L_INVLN10 512
#define L_MINNORM 544
#define L_MAXFIN 576

// func log10x4(y, x *float64, n int) int
TEXT ·log10x4(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX // lanes not positive normal finite, as bits
	XORQ BX, BX
	VMOVUPD ·logConst+L_ONE(SB), Y15
	VMOVUPD ·logConst+L_MINNORM(SB), Y14

loop:
	CMPQ BX, CX
	JGE  done
	VMOVUPD (SI)(BX*8), Y0 // x

	// x's bits, as signed integers, outside [least normal, greatest finite]
	VPCMPGTQ ·logConst+L_MAXFIN(SB), Y0, Y1 // x > greatest
	VPCMPGTQ Y0, Y14, Y2                     // least > x (negatives too)
	VPOR     Y2, Y1, Y1
	VMOVMSKPD Y1, DX
	ORQ      DX, AX

	// k = float64(e - 1022), e the exponent's bits: 2⁵² + e less 2⁵² + 1022
	VPSRLQ $52, Y0, Y1
	VPOR   ·logConst+L_MAGIC(SB), Y1, Y1
	VSUBPD ·logConst+L_BIAS(SB), Y1, Y1

	// f1 = frexp's fraction in [½, 1); if f1 ≤ √2/2 { f1 *= 2; k-- }
	VANDPD    ·logConst+L_MANT(SB), Y0, Y2
	VORPD     ·logConst+L_HALF(SB), Y2, Y2
	VCMPPD    $2, ·logConst+L_HSQRT2(SB), Y2, Y3 // f1 <= √2/2
	VADDPD    Y2, Y2, Y4
	VBLENDVPD Y3, Y4, Y2, Y2
	VSUBPD    Y15, Y2, Y2 // f = f1 - 1
	VANDPD    Y15, Y3, Y3
	VSUBPD    Y3, Y1, Y1  // k

	// s = f / (2 + f); s2 = s s; s4 = s2 s2
	VADDPD ·logConst+L_TWO(SB), Y2, Y4
	VDIVPD Y4, Y2, Y5
	VMULPD Y5, Y5, Y6
	VMULPD Y6, Y6, Y7

	// t1 = s2 (L1 + s4 (L3 + s4 (L5 + s4 L7)))
	VMULPD ·logConst+L_L7(SB), Y7, Y8
	VADDPD ·logConst+L_L5(SB), Y8, Y8
	VMULPD Y7, Y8, Y8
	VADDPD ·logConst+L_L3(SB), Y8, Y8
	VMULPD Y7, Y8, Y8
	VADDPD ·logConst+L_L1(SB), Y8, Y8
	VMULPD Y8, Y6, Y8

	// t2 = s4 (L2 + s4 (L4 + s4 L6))
	VMULPD ·logConst+L_L6(SB), Y7, Y9
	VADDPD ·logConst+L_L4(SB), Y9, Y9
	VMULPD Y7, Y9, Y9
	VADDPD ·logConst+L_L2(SB), Y9, Y9
	VMULPD Y9, Y7, Y9

	VADDPD Y9, Y8, Y8 // R = t1 + t2

	// hfsq = ½ f f
	VMULPD ·logConst+L_HALF(SB), Y2, Y9
	VMULPD Y2, Y9, Y9

	// (k Ln2Hi - ((hfsq - (s (hfsq + R) + k Ln2Lo)) - f)) / ln 10
	VADDPD Y9, Y8, Y8
	VMULPD Y8, Y5, Y8
	VMULPD ·logConst+L_LN2LO(SB), Y1, Y10
	VADDPD Y10, Y8, Y8
	VSUBPD Y8, Y9, Y9
	VSUBPD Y2, Y9, Y9
	VMULPD ·logConst+L_LN2HI(SB), Y1, Y10
	VSUBPD Y9, Y10, Y10
	VMULPD ·logConst+L_INVLN10(SB), Y10, Y10
	VMOVUPD Y10, (DI)(BX*8)

	ADDQ $4, BX
	JMP  loop

done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
