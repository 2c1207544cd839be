//go:build amd64

#include "textflag.h"

// Least squares' cost 4 readings at a time on AVX2 (lsq_amd64.go), and
// log10s' logarithms: each lane does the scalar code's operations (lsq.go,
// log10.go; archLog's for the logarithm) in the same order, with no fused
// multiply-add, so the results are the same to the bit.
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
#define L_D2MIN 608
#define L_ABS 640

// HORNER is one step of a polynomial in s4 (Y7): r = r s4 + c.
#define HORNER(c, r) \
	VMULPD Y7, r, r \
	VADDPD ·logConst+c(SB), r, r

// LOG10 sets Y10 to log10 of Y0's four positive normal finite numbers,
// archLog's operations in its order and then the multiplication by
// 1/ln 10; it uses Y1 to Y10 and reads Y15 (1s). In turn:
//   - k = float64(e - 1022), e the exponent's bits: 2⁵² + e less 2⁵² + 1022;
//   - f1 = frexp's fraction in [½, 1); if f1 ≤ √2/2 { f1 *= 2; k-- };
//     f = f1 - 1;
//   - s = f / (2 + f); s2 = s s; s4 = s2 s2;
//   - t1 = s2 (L1 + s4 (L3 + s4 (L5 + s4 L7))),
//     t2 = s4 (L2 + s4 (L4 + s4 L6)), R = t1 + t2, hfsq = ½ f f;
//   - (k Ln2Hi - ((hfsq - (s (hfsq + R) + k Ln2Lo)) - f)) / ln 10.
#define LOG10 \
	VPSRLQ    $52, Y0, Y1 \
	VPOR      ·logConst+L_MAGIC(SB), Y1, Y1 \
	VSUBPD    ·logConst+L_BIAS(SB), Y1, Y1 \
	VANDPD    ·logConst+L_MANT(SB), Y0, Y2 \
	VORPD     ·logConst+L_HALF(SB), Y2, Y2 \
	VCMPPD    $2, ·logConst+L_HSQRT2(SB), Y2, Y3 \
	VADDPD    Y2, Y2, Y4 \
	VBLENDVPD Y3, Y4, Y2, Y2 \
	VSUBPD    Y15, Y2, Y2 \
	VANDPD    Y15, Y3, Y3 \
	VSUBPD    Y3, Y1, Y1 \
	VADDPD    ·logConst+L_TWO(SB), Y2, Y4 \
	VDIVPD    Y4, Y2, Y5 \
	VMULPD    Y5, Y5, Y6 \
	VMULPD    Y6, Y6, Y7 \
	VMOVUPD   ·logConst+L_L7(SB), Y8 \
	HORNER(L_L5, Y8) \
	HORNER(L_L3, Y8) \
	HORNER(L_L1, Y8) \
	VMULPD    Y8, Y6, Y8 \
	VMOVUPD   ·logConst+L_L6(SB), Y9 \
	HORNER(L_L4, Y9) \
	HORNER(L_L2, Y9) \
	VMULPD    Y9, Y7, Y9 \
	VADDPD    Y9, Y8, Y8 \
	VMULPD    ·logConst+L_HALF(SB), Y2, Y9 \
	VMULPD    Y2, Y9, Y9 \
	VADDPD    Y9, Y8, Y8 \
	VMULPD    Y8, Y5, Y8 \
	VMULPD    ·logConst+L_LN2LO(SB), Y1, Y10 \
	VADDPD    Y10, Y8, Y8 \
	VSUBPD    Y8, Y9, Y9 \
	VSUBPD    Y2, Y9, Y9 \
	VMULPD    ·logConst+L_LN2HI(SB), Y1, Y10 \
	VSUBPD    Y9, Y10, Y10 \
	VMULPD    ·logConst+L_INVLN10(SB), Y10, Y10

// SPECIAL adds to AX's bits the lanes of Y0 that are not positive normal
// finite numbers: their bits, as signed integers, outside [least normal,
// greatest finite] (Y14: the least normal's bits); it uses Y1, Y2 and DX.
#define SPECIAL \
	VPCMPGTQ  ·logConst+L_MAXFIN(SB), Y0, Y1 \
	VPCMPGTQ  Y0, Y14, Y2 \
	VPOR      Y2, Y1, Y1 \
	VMOVMSKPD Y1, DX \
	ORQ       DX, AX

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

	SPECIAL

	LOG10
	VMOVUPD Y10, (DI)(BX*8)

	ADDQ $4, BX
	JMP  loop

done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET

// costArgs offsets
#define CA_IN 0
#define CA_N4 8
#define CA_T 16
#define CA_JX 24
#define CA_JY 32
#define CA_W 40
#define CA_R 48
#define CA_K 56
#define CA_X 64
#define CA_Y 72
#define CA_B 80
#define CA_HK 88
#define CA_HK2 96

// func costx4(a *costArgs) (c float64, special int)
//
// cost's terms 4 readings at a time (Solver.costLoop, as commented
// there), then their sum in order: the readings' rows at CA_IN, n4 apart:
// sx, sy, dz², P, 5 c, -10/ln10 c, y, σ, σ² (c the exponent in force).
TEXT ·costx4(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), SI
	MOVQ CA_IN(SI), DI        // rows 0-2
	MOVQ CA_N4(SI), CX
	MOVQ CX, R8
	SHLQ $3, R8               // a row's bytes
	LEAQ (DI)(R8*2), R9
	ADDQ R8, R9               // rows 3-5
	LEAQ (R9)(R8*2), R10
	ADDQ R8, R10              // rows 6-8
	XORQ AX, AX               // lanes not positive normal finite
	XORQ BX, BX
	VBROADCASTSD CA_X(SI), Y12
	VBROADCASTSD CA_Y(SI), Y11
	VMOVUPD ·logConst+L_ONE(SB), Y15
	VMOVUPD ·logConst+L_MINNORM(SB), Y14
	VMOVUPD ·logConst+L_D2MIN(SB), Y13

cloop:
	CMPQ BX, CX
	JGE  csum
	// d2 = dx dx + dy dy + dz dz, dx = x - sx, dy = y - sy; as
	// max(d2, 0.01), NaN kept (MAXPD takes its second operand unless
	// the first is greater)
	VSUBPD  (DI), Y12, Y0
	VSUBPD  (DI)(R8*1), Y11, Y1
	VMULPD  Y0, Y0, Y0
	VMULPD  Y1, Y1, Y1
	VADDPD  Y1, Y0, Y0
	VADDPD  (DI)(R8*2), Y0, Y0
	VMAXPD  Y0, Y13, Y0
	SPECIAL
	LOG10                     // Y10 = log10 d2
	// f = P - 5c log10 d2 + b; r = y - f; u = r / σ; au = |u|
	VMULPD       (R9)(R8*1), Y10, Y10
	VMOVUPD      (R9), Y1
	VSUBPD       Y10, Y1, Y1
	VBROADCASTSD CA_B(SI), Y2
	VADDPD       Y2, Y1, Y1
	VMOVUPD      (R10), Y2
	VSUBPD       Y1, Y2, Y2
	MOVQ         CA_R(SI), DX
	VMOVUPD      Y2, (DX)(BX*8)
	VDIVPD       (R10)(R8*1), Y2, Y3
	VANDPD       ·logConst+L_ABS(SB), Y3, Y4
	VBROADCASTSD CA_HK(SI), Y8
	VCMPPD       $2, Y8, Y4, Y5 // in = au <= k (false on NaN)
	// Huber's term: ½u u within k, k au - ½k k beyond
	VMULPD       ·logConst+L_HALF(SB), Y3, Y6
	VMULPD       Y3, Y6, Y6
	VMULPD       Y8, Y4, Y7
	VBROADCASTSD CA_HK2(SI), Y9
	VSUBPD       Y9, Y7, Y7
	VBLENDVPD    Y5, Y6, Y7, Y7
	MOVQ         CA_T(SI), DX
	VMOVUPD      Y7, (DX)(BX*8)
	// w = (1 within k, k/au beyond) / σ²
	VDIVPD    Y4, Y8, Y6
	VBLENDVPD Y5, Y15, Y6, Y6
	VDIVPD    (R10)(R8*2), Y6, Y6
	MOVQ      CA_W(SI), DX
	VMOVUPD   Y6, (DX)(BX*8)
	// kd = -10/ln10 c / d2; jx = kd dx; jy = kd dy
	VMOVUPD (R9)(R8*2), Y6
	VDIVPD  Y0, Y6, Y6
	VSUBPD  (DI), Y12, Y7
	VMULPD  Y7, Y6, Y7
	MOVQ    CA_JX(SI), DX
	VMOVUPD Y7, (DX)(BX*8)
	VSUBPD  (DI)(R8*1), Y11, Y7
	VMULPD  Y7, Y6, Y7
	MOVQ    CA_JY(SI), DX
	VMOVUPD Y7, (DX)(BX*8)

	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $4, BX
	JMP  cloop

	// c = Σ terms, from +0 in the readings' order
csum:
	VZEROUPPER
	MOVQ   CA_T(SI), DX
	MOVQ   CA_K(SI), CX
	XORPS  X0, X0
	XORQ   BX, BX

cadd:
	CMPQ  BX, CX
	JGE   cret
	ADDSD (DX)(BX*8), X0
	INCQ  BX
	JMP   cadd

cret:
	MOVSD X0, c+8(FP)
	MOVQ  AX, special+16(FP)
	RET
