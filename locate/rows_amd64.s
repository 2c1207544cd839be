//go:build amd64

#include "textflag.h"

// The grid posterior's row loops 4 cells at a time on AVX2 (rows_amd64.go):
// each lane does the scalar code's operations (rows.go) in the same order,
// with no fused multiply-add, so the results are the same to the bit.
// Go's operand order: the destination last (VSUBPD a, b, c: c = b - a).

// rowArgs offsets
#define A_L 0
#define A_STRIDE 8
#define A_GI 16
#define A_GW 24
#define A_GWU 32
#define A_K 40
#define A_SIDE 48
#define A_PRI 56
#define A_LP 64
#define A_IDET 72
#define A_CELLS 80
#define A_BC 88
#define A_LMAX 96
#define A_ROWS 128
#define A_SKIP 136
#define A_BH 144
#define A_VB 152
#define A_NOB 160

// EXPTAB loads expTab[k&63] of the four lanes of Y5 (64-bit indices) into
// Y7 with four scalar loads (a VGATHERQPD was slower): the indices pass
// through the 32 bytes at 0(SP) (the kernel's frame); it uses X6, R9, R11,
// R12 and R13.
#define EXPTAB \
	VMOVDQU      Y5, 0(SP) \
	MOVQ         0(SP), R9 \
	MOVQ         8(SP), R11 \
	MOVQ         16(SP), R12 \
	MOVQ         24(SP), R13 \
	VMOVSD       (R8)(R9*8), X7 \
	VMOVHPD      (R8)(R11*8), X7, X7 \
	VMOVSD       (R8)(R12*8), X6 \
	VMOVHPD      (R8)(R13*8), X6, X6 \
	VINSERTF128  $1, X6, Y7, Y7

// burstConst offsets
#define B_MU 0
#define B_SWR 32
#define B_SWRR 64
#define B_C1 96
#define B_C2 104
#define B_C11 112
#define B_A00 120
#define B_IN 128

// rowConst offsets
#define C_NEGINF 0
#define C_ONE 32
#define C_HALF 64
#define C_HI32 96
#define C_SIDE3 128
#define C_CUT 160
#define C_INVLN2N 192
#define C_SHIFTER 224
#define C_LN2HI 256
#define C_LN2LO 288
#define C_P5 320
#define C_P4 352
#define C_P3 384
#define C_P2 416
#define C_TABMASK 448

// FORMULA: from the three sums (Y0 Σ w L, Y1 Σ w L², Y2 Σ w u L) of the
// cells at R13 to their log posterior and 1/det A, and lmax (uniformRow's
// per-cell loop, each operation as commented in uniform4's first use).
#define FORMULA \
	MOVQ      A_SIDE(SI), AX \
	VPMOVZXBQ (AX)(R13*1), Y7 \
	VPAND     ·rowConst+C_SIDE3(SB), Y7, Y7 \
	VPSLLQ    $1, Y7, Y6 \
	VPSLLQ    $33, Y7, Y7 \
	VPADDQ    Y6, Y7, Y7 \
	VPADDQ    ·rowConst+C_HI32(SB), Y7, Y7 \
	MOVQ      A_BC(SI), AX \
	VPERMPS   B_SWR(AX), Y7, Y3 \
	VPERMPS   B_MU(AX), Y7, Y4 \
	VPERMPS   B_SWRR(AX), Y7, Y5 \
	VMULPD Y0, Y8, Y6 \
	VADDPD Y6, Y3, Y3 \
	VMULPD Y0, Y4, Y4 \
	VSUBPD Y4, Y2, Y2 \
	VMULPD Y1, Y8, Y6 \
	VADDPD Y6, Y2, Y6 \
	VMULPD Y2, Y9, Y4 \
	VADDPD Y4, Y5, Y5 \
	VMULPD Y1, Y10, Y4 \
	VADDPD Y4, Y5, Y5 \
	VADDPD Y12, Y1, Y1 \
	VMULPD Y1, Y11, Y4 \
	VMULPD Y0, Y0, Y7 \
	VSUBPD Y7, Y4, Y4 \
	VDIVPD Y4, Y14, Y4 \
	VMULPD Y3, Y1, Y7 \
	CMPQ   A_NOB(SI), $0 \
	JNE    k4nob \
	VMULPD Y6, Y0, Y2 \
	VSUBPD Y2, Y7, Y2 \
	VMULPD Y4, Y2, Y2 \
	MOVQ   A_BH(SI), AX \
	VMOVUPD Y2, (AX)(R13*8) \
	VMULPD Y4, Y1, Y2 \
	MOVQ   A_VB(SI), AX \
	VMOVUPD Y2, (AX)(R13*8) \
k4nob: \
	VMULPD Y3, Y7, Y7 \
	VADDPD Y0, Y0, Y2 \
	VMULPD Y3, Y2, Y2 \
	VMULPD Y6, Y2, Y2 \
	VSUBPD Y2, Y7, Y7 \
	VMULPD Y6, Y11, Y3 \
	VMULPD Y6, Y3, Y3 \
	VADDPD Y3, Y7, Y7 \
	VMULPD Y4, Y7, Y7 \
	VSUBPD Y7, Y5, Y5 \
	VMULPD Y5, Y15, Y5 \
	VMOVUPD (BX)(R13*8), Y7 \
	VSUBPD  Y5, Y7, Y7 \
	VMOVUPD Y7, (DX)(R13*8) \
	MOVQ    A_IDET(SI), AX \
	VMOVUPD Y4, (AX)(R13*8) \
	VCMPPD  $0x1e, Y13, Y7, Y6 \
	VBLENDVPD Y6, Y7, Y13, Y13

// K4READING adds reading j (its row's offset in off, its weights at
// byte j of gw and gwu) to the three sums, as the loop over readings does.
#define K4READING(off, j) \
	VMOVUPD      (DI)(off*1), Y3 \
	VBROADCASTSD j(R10), Y5 \
	VBROADCASTSD j(R11), Y6 \
	VMULPD       Y3, Y5, Y4 \
	VADDPD       Y4, Y0, Y0 \
	VMULPD       Y3, Y4, Y4 \
	VADDPD       Y4, Y1, Y1 \
	VMULPD       Y3, Y6, Y6 \
	VADDPD       Y6, Y2, Y2

// func uniform4(a *rowArgs)
TEXT ·uniform4(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), SI
	MOVQ A_L(SI), DI
	MOVQ A_STRIDE(SI), R8
	MOVQ A_GI(SI), R9
	MOVQ A_GW(SI), R10
	MOVQ A_GWU(SI), R11
	MOVQ A_K(SI), R12
	MOVQ A_PRI(SI), BX
	MOVQ A_LP(SI), DX
	MOVQ A_BC(SI), AX
	VBROADCASTSD B_C1(AX), Y8
	VBROADCASTSD B_C2(AX), Y9
	VBROADCASTSD B_C11(AX), Y10
	VBROADCASTSD B_A00(AX), Y11
	VBROADCASTSD B_IN(AX), Y12
	VMOVUPD ·rowConst+C_NEGINF(SB), Y13 // lmax
	VMOVUPD ·rowConst+C_ONE(SB), Y14
	VMOVUPD ·rowConst+C_HALF(SB), Y15
	XORQ R13, R13 // cell, from the first
	MOVQ A_CELLS(SI), R14 // the end of its row's cells
	CMPQ R12, $4
	JEQ  k4

cells:
	CMPQ R13, R14
	JGE  nextrow

	// Σ w L, Σ w L², Σ w u L from 0, reading by reading
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	XORQ   CX, CX

readings:
	MOVQ         (R9)(CX*8), AX
	IMULQ        R8, AX
	VMOVUPD      (DI)(AX*1), Y3   // L
	VBROADCASTSD (R10)(CX*8), Y5  // w
	VBROADCASTSD (R11)(CX*8), Y6  // w u
	VMULPD       Y3, Y5, Y4       // wl = w L
	VADDPD       Y4, Y0, Y0       // swl += wl
	VMULPD       Y3, Y4, Y4       // wl L
	VADDPD       Y4, Y1, Y1       // swll += wl L
	VMULPD       Y3, Y6, Y6       // w u L
	VADDPD       Y6, Y2, Y2       // sul += w u L
	INCQ         CX
	CMPQ         CX, R12
	JLT          readings

	// the side's constants: float32 indices 2 sd, 2 sd + 1 of each [4]float64
	MOVQ      A_SIDE(SI), AX
	VPMOVZXBQ (AX)(R13*1), Y7
	VPAND     ·rowConst+C_SIDE3(SB), Y7, Y7
	VPSLLQ    $1, Y7, Y6
	VPSLLQ    $33, Y7, Y7
	VPADDQ    Y6, Y7, Y7
	VPADDQ    ·rowConst+C_HI32(SB), Y7, Y7
	MOVQ      A_BC(SI), AX
	VPERMPS   B_SWR(AX), Y7, Y3  // swr[sd]
	VPERMPS   B_MU(AX), Y7, Y4   // mu[sd]
	VPERMPS   B_SWRR(AX), Y7, Y5 // swrr[sd]

	VMULPD Y0, Y8, Y6   // c1 swl
	VADDPD Y6, Y3, Y3   // swr = swr[sd] + c1 swl
	VMULPD Y0, Y4, Y4   // mu swl
	VSUBPD Y4, Y2, Y2   // ul = sul - mu swl
	VMULPD Y1, Y8, Y6   // c1 swll
	VADDPD Y6, Y2, Y6   // swlr = ul + c1 swll
	VMULPD Y2, Y9, Y4   // c2 ul
	VADDPD Y4, Y5, Y5   // swrr[sd] + c2 ul
	VMULPD Y1, Y10, Y4  // c11 swll
	VADDPD Y4, Y5, Y5   // swrr
	VADDPD Y12, Y1, Y1  // a11 = swll + in
	VMULPD Y1, Y11, Y4  // a00 a11
	VMULPD Y0, Y0, Y7   // swl swl
	VSUBPD Y7, Y4, Y4   // det A
	VDIVPD Y4, Y14, Y4  // id = 1/det A
	VMULPD Y3, Y1, Y7   // a11 swr
	CMPQ   A_NOB(SI), $0 // no silent sensor: no b̂ and V needed
	JNE    nob
	VMULPD Y6, Y0, Y2   // swl swlr
	VSUBPD Y2, Y7, Y2   // a11 swr - swl swlr
	VMULPD Y4, Y2, Y2   // b̂ = (...) id
	MOVQ   A_BH(SI), AX
	VMOVUPD Y2, (AX)(R13*8)
	VMULPD Y4, Y1, Y2   // V = a11 id
	MOVQ   A_VB(SI), AX
	VMOVUPD Y2, (AX)(R13*8)

nob:
	VMULPD Y3, Y7, Y7   // a11 swr swr
	VADDPD Y0, Y0, Y2   // 2 swl
	VMULPD Y3, Y2, Y2   // 2 swl swr
	VMULPD Y6, Y2, Y2   // 2 swl swr swlr
	VSUBPD Y2, Y7, Y7
	VMULPD Y6, Y11, Y3  // a00 swlr
	VMULPD Y6, Y3, Y3   // a00 swlr swlr
	VADDPD Y3, Y7, Y7
	VMULPD Y4, Y7, Y7   // (...) id
	VSUBPD Y7, Y5, Y5   // q
	VMULPD Y5, Y15, Y5  // 0.5 q
	VMOVUPD (BX)(R13*8), Y7
	VSUBPD  Y5, Y7, Y7  // l = prior - 0.5 q
	VMOVUPD Y7, (DX)(R13*8)
	MOVQ    A_IDET(SI), AX
	VMOVUPD Y4, (AX)(R13*8)
	VCMPPD  $0x1e, Y13, Y7, Y6 // l > lmax (false on NaN)
	VBLENDVPD Y6, Y7, Y13, Y13

	ADDQ $4, R13
	ADDQ $32, DI
	JMP  cells

	// the next row of the window: skip cells on
nextrow:
	DECQ A_ROWS(SI)
	JLE  done
	MOVQ A_SKIP(SI), AX
	ADDQ AX, R13
	LEAQ (DI)(AX*8), DI
	MOVQ R13, R14
	ADDQ A_CELLS(SI), R14
	JMP  cells

	// 4 readings (the usual burst): the readings' rows and weights are
	// read without the loop over them, the rows' offsets in registers.
k4:
	MOVQ  0(R9), CX
	IMULQ R8, CX
	MOVQ  8(R9), R12
	IMULQ R8, R12
	MOVQ  24(R9), AX
	IMULQ R8, AX
	MOVQ  16(R9), R9
	IMULQ R8, R9
	MOVQ  AX, R8

k4cells:
	CMPQ R13, R14
	JGE  k4nextrow
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	K4READING(CX, 0)
	K4READING(R12, 8)
	K4READING(R9, 16)
	K4READING(R8, 24)
	FORMULA
	ADDQ $4, R13
	ADDQ $32, DI
	JMP  k4cells

k4nextrow:
	DECQ A_ROWS(SI)
	JLE  done
	MOVQ A_SKIP(SI), AX
	ADDQ AX, R13
	LEAQ (DI)(AX*8), DI
	MOVQ R13, R14
	ADDQ A_CELLS(SI), R14
	JMP  k4cells

done:
	VMOVUPD Y13, A_LMAX(SI)
	VZEROUPPER
	RET

// func weights4(lp, idet *float64, n int, best0 float64)
TEXT ·weights4(SB), NOSPLIT, $32-32
	MOVQ lp+0(FP), AX
	MOVQ idet+8(FP), BX
	MOVQ n+16(FP), CX
	VBROADCASTSD best0+24(FP), Y15
	LEAQ ·expTab(SB), R8
	VMOVUPD ·rowConst+C_CUT(SB), Y14
	VMOVUPD ·rowConst+C_SHIFTER(SB), Y13
	VMOVUPD ·rowConst+C_ONE(SB), Y12
	VXORPD  Y11, Y11, Y11
	XORQ    DX, DX

wloop:
	CMPQ DX, CX
	JGE  wdone
	VMOVUPD   (AX)(DX*8), Y0
	VSUBPD    Y15, Y0, Y0        // x = l - best0
	VCMPPD    $0x11, Y14, Y0, Y1 // x < -cutoff (false on NaN)
	VBLENDVPD Y1, Y14, Y0, Y0    // those lanes are 0 below; -cutoff keeps them normal
	VMULPD    ·rowConst+C_INVLN2N(SB), Y0, Y2
	VADDPD    Y13, Y2, Y2        // t = x·64/ln 2 + shifter
	VPSUBQ    Y13, Y2, Y3        // k
	VSUBPD    Y13, Y2, Y2        // kf
	VMULPD    ·rowConst+C_LN2HI(SB), Y2, Y4
	VSUBPD    Y4, Y0, Y0
	VMULPD    ·rowConst+C_LN2LO(SB), Y2, Y4
	VSUBPD    Y4, Y0, Y0         // r
	VMULPD    ·rowConst+C_P5(SB), Y0, Y4
	VADDPD    ·rowConst+C_P4(SB), Y4, Y4
	VMULPD    Y0, Y4, Y4
	VADDPD    ·rowConst+C_P3(SB), Y4, Y4
	VMULPD    Y0, Y4, Y4
	VADDPD    ·rowConst+C_P2(SB), Y4, Y4
	VMULPD    Y0, Y4, Y4
	VADDPD    Y12, Y4, Y4
	VMULPD    Y0, Y4, Y4
	VADDPD    Y12, Y4, Y4        // the polynomial
	VPAND     ·rowConst+C_TABMASK(SB), Y3, Y5
	EXPTAB
	VPSRLQ    $6, Y3, Y3
	VPSLLQ    $52, Y3, Y3
	VPADDQ    Y3, Y7, Y7         // scale
	VMULPD    Y4, Y7, Y7
	VSQRTPD   (BX)(DX*8), Y5
	VMULPD    Y5, Y7, Y7
	VBLENDVPD Y1, Y11, Y7, Y7
	VMOVUPD   Y7, (AX)(DX*8)
	ADDQ      $4, DX
	JMP       wloop

wdone:
	VZEROUPPER
	RET

#define C_PHILO 480
#define C_PHIHI 512
#define C_PHISCALE 544
#define C_PHITAB0 576
#define C_ZERO 608

// missArgs offsets
#define M_LP 0
#define M_SIDE 8
#define M_MISSS 16
#define M_N 24
#define M_M 32
#define M_L 40
#define M_STRIDE 48
#define M_MI 56
#define M_MP 64
#define M_MC 72
#define M_LMAX 80
#define M_ROWS 112
#define M_SKIP 120
#define M_BH 128
#define M_VB 136
#define M_S2 144

// func missRows4(a *missArgs)
TEXT ·missRows4(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), SI
	MOVQ M_LP(SI), AX
	MOVQ M_SIDE(SI), BX
	MOVQ M_L(SI), R8
	LEAQ ·logPhiPair(SB), R13
	VMOVUPD ·rowConst+C_PHILO(SB), Y13
	VMOVUPD ·rowConst+C_PHIHI(SB), Y12
	VMOVUPD ·rowConst+C_PHISCALE(SB), Y11
	VMOVUPD ·rowConst+C_PHITAB0(SB), Y10
	VMOVUPD ·rowConst+C_NEGINF(SB), Y15 // lmax
	XORQ    DX, DX
	MOVQ    M_N(SI), R14 // the end of the row's cells

	// Each row first turns the cells' V and b̂ into 1/s and (μ + b̂)/s,
	// s = √(σ² + V), in place (as the scalar loop does): the square root
	// and division, independent from cell to cell, then no longer start
	// every cell's chain of silent sensors.
mrow:
	MOVQ         DX, R9
	VBROADCASTSD M_S2(SI), Y8
	VMOVUPD      ·rowConst+C_ONE(SB), Y7

mpre:
	CMPQ      R9, R14
	JGE       mcells
	VPMOVZXBQ (BX)(R9*1), Y1
	VPAND     ·rowConst+C_SIDE3(SB), Y1, Y1
	VPSLLQ    $1, Y1, Y2
	VPSLLQ    $33, Y1, Y1
	VPADDQ    Y2, Y1, Y1
	VPADDQ    ·rowConst+C_HI32(SB), Y1, Y1
	MOVQ      M_MISSS(SI), DI
	VPERMPS   (DI), Y1, Y1       // missS[sd] = μ
	MOVQ      M_VB(SI), DI
	VADDPD    (DI)(R9*8), Y8, Y2 // σ² + V
	VSQRTPD   Y2, Y2
	VDIVPD    Y2, Y7, Y9         // inv = 1/s
	VMOVUPD   Y9, (DI)(R9*8)
	MOVQ      M_BH(SI), DI
	VADDPD    (DI)(R9*8), Y1, Y1 // μ + b̂
	VMULPD    Y9, Y1, Y1         // (μ + b̂) inv
	VMOVUPD   Y1, (DI)(R9*8)
	ADDQ      $4, R9
	JMP       mpre

mcells:
	CMPQ DX, R14
	JGE  mnextrow
	VMOVUPD   (AX)(DX*8), Y14    // lp
	MOVQ      M_VB(SI), DI
	VMOVUPD   (DI)(DX*8), Y9     // 1/s
	MOVQ      M_BH(SI), DI
	VMOVUPD   (DI)(DX*8), Y1     // (μ + b̂)/s
	XORQ      CX, CX

msensors:
	CMPQ      CX, M_M(SI)
	JGE       mstore
	MOVQ      M_MI(SI), DI
	MOVQ      (DI)(CX*8), DI
	IMULQ     M_STRIDE(SI), DI
	ADDQ      R8, DI
	VMOVUPD   (DI)(DX*8), Y0     // L
	MOVQ      M_MC(SI), R9
	VBROADCASTSD (R9)(CX*8), Y2
	VMULPD    Y0, Y2, Y0         // mc L
	MOVQ      M_MP(SI), R9
	VBROADCASTSD (R9)(CX*8), Y2
	VADDPD    Y0, Y2, Y0         // mp + mc L
	VMULPD    Y9, Y0, Y0         // (mp + mc L) inv
	VSUBPD    Y1, Y0, Y0         // z
	VCMPPD    $0x1d, Y12, Y0, Y2 // z >= hi
	VCMPPD    $0x1e, Y13, Y0, Y3 // z > lo
	VMINPD    Y12, Y0, Y0        // at most hi (z itself below)
	VBLENDVPD Y3, Y0, Y13, Y0    // elsewhere lo: an index in the table
	VSUBPD    Y13, Y0, Y0
	VMULPD    Y11, Y0, Y0        // u = (z - lo)·scale
	VCVTTPD2DQY Y0, X5           // i = int(u)
	VCVTDQ2PD X5, Y6
	VSUBPD    Y6, Y0, Y6         // f = u - i
	// (tab[i], tab[i+1] - tab[i]) of each lane from logPhiPair: a
	// 16-byte load per lane, then the two halves apart
	VPADDD    X5, X5, X5         // 2i: pairs are 16 bytes, the scale at most 8
	VMOVQ     X5, R9             // lanes 0 and 1
	VPEXTRQ   $1, X5, R11        // lanes 2 and 3
	MOVQ      R9, R10
	SHRQ      $32, R10
	MOVL      R9, R9
	MOVQ      R11, R12
	SHRQ      $32, R12
	MOVL      R11, R11
	VMOVUPD   (R13)(R9*8), X4
	VINSERTF128 $1, (R13)(R11*8), Y4, Y4 // lanes 0 and 2
	VMOVUPD   (R13)(R10*8), X7
	VINSERTF128 $1, (R13)(R12*8), Y7, Y7 // lanes 1 and 3
	VUNPCKHPD Y7, Y4, Y8         // tab[i+1] - tab[i]
	VUNPCKLPD Y7, Y4, Y4         // tab[i]
	VMULPD    Y8, Y6, Y8
	VADDPD    Y8, Y4, Y8         // tab[i] + f (tab[i+1] - tab[i])
	VBLENDVPD Y3, Y8, Y10, Y8    // tab[0] at or below lo (and for NaN)
	VBLENDVPD Y2, ·rowConst+C_ZERO(SB), Y8, Y8 // 0 at or above hi
	VADDPD    Y8, Y14, Y14       // lp += log Φ
	INCQ      CX
	JMP       msensors

mstore:
	VMOVUPD   Y14, (AX)(DX*8)
	VCMPPD    $0x1e, Y15, Y14, Y2 // l > lmax (false on NaN)
	VBLENDVPD Y2, Y14, Y15, Y15
	ADDQ      $4, DX
	JMP       mcells

mnextrow:
	DECQ M_ROWS(SI)
	JLE  mdone
	ADDQ M_SKIP(SI), DX
	MOVQ DX, R14
	ADDQ M_N(SI), R14
	JMP  mrow

mdone:
	VMOVUPD Y15, M_LMAX(SI)
	VZEROUPPER
	RET

#define C_SIDE0 608
#define C_SIDE1 640
#define C_SIDE2 672
#define C_FOUR 704
#define C_IOTA 736

// per side: the lanes' greatest weight so far and its cell (Y1: the
// sides, Y7: the weights, Y14: the cells)
#define BEST(sd, best, cell) \
	VPCMPEQQ  ·rowConst+sd(SB), Y1, Y2 \
	VCMPPD    $0x1e, best, Y7, Y3 \
	VPAND     Y2, Y3, Y3 \
	VBLENDVPD Y3, Y7, best, best \
	VBLENDVPD Y3, Y14, cell, cell

// func weightsBest4(lp, idet *float64, side *uint8, n, c0 int, best0 float64, a *bestArgs, rows, skip int)
TEXT ·weightsBest4(SB), NOSPLIT, $32-72
	MOVQ lp+0(FP), AX
	MOVQ idet+8(FP), BX
	MOVQ side+16(FP), SI
	MOVQ n+24(FP), CX
	VPBROADCASTQ c0+32(FP), Y14
	VPADDQ ·rowConst+C_IOTA(SB), Y14, Y14 // the lanes' cells
	VBROADCASTSD best0+40(FP), Y15
	LEAQ ·expTab(SB), R8
	VXORPD   Y8, Y8, Y8    // per side, the lanes' greatest weight
	VXORPD   Y9, Y9, Y9
	VXORPD   Y10, Y10, Y10
	VPCMPEQQ Y11, Y11, Y11 // and its cell (-1: none)
	VPCMPEQQ Y12, Y12, Y12
	VPCMPEQQ Y13, Y13, Y13
	XORQ     DX, DX
	MOVQ     rows+56(FP), R10

wbloop:
	CMPQ DX, CX
	JGE  wbnextrow
	VMOVUPD   (AX)(DX*8), Y0
	VSUBPD    Y15, Y0, Y0        // x = l - best0
	VCMPPD    $0x11, ·rowConst+C_CUT(SB), Y0, Y1 // x < -cutoff (false on NaN)
	VBLENDVPD Y1, ·rowConst+C_CUT(SB), Y0, Y0 // those lanes are 0 below; -cutoff keeps them normal
	VMULPD    ·rowConst+C_INVLN2N(SB), Y0, Y2
	VADDPD    ·rowConst+C_SHIFTER(SB), Y2, Y2 // t = x·64/ln 2 + shifter
	VPSUBQ    ·rowConst+C_SHIFTER(SB), Y2, Y3 // k
	VSUBPD    ·rowConst+C_SHIFTER(SB), Y2, Y2 // kf
	VMULPD    ·rowConst+C_LN2HI(SB), Y2, Y4
	VSUBPD    Y4, Y0, Y0
	VMULPD    ·rowConst+C_LN2LO(SB), Y2, Y4
	VSUBPD    Y4, Y0, Y0         // r
	VMULPD    ·rowConst+C_P5(SB), Y0, Y4
	VADDPD    ·rowConst+C_P4(SB), Y4, Y4
	VMULPD    Y0, Y4, Y4
	VADDPD    ·rowConst+C_P3(SB), Y4, Y4
	VMULPD    Y0, Y4, Y4
	VADDPD    ·rowConst+C_P2(SB), Y4, Y4
	VMULPD    Y0, Y4, Y4
	VADDPD    ·rowConst+C_ONE(SB), Y4, Y4
	VMULPD    Y0, Y4, Y4
	VADDPD    ·rowConst+C_ONE(SB), Y4, Y4 // the polynomial
	VPAND     ·rowConst+C_TABMASK(SB), Y3, Y5
	EXPTAB
	VPSRLQ    $6, Y3, Y3
	VPSLLQ    $52, Y3, Y3
	VPADDQ    Y3, Y7, Y7         // scale
	VMULPD    Y4, Y7, Y7
	VSQRTPD   (BX)(DX*8), Y5
	VMULPD    Y5, Y7, Y7
	VANDNPD   Y7, Y1, Y7         // below the cutoff: 0
	VMOVUPD   Y7, (AX)(DX*8)
	VPMOVZXBQ (SI)(DX*1), Y1
	VPAND     ·rowConst+C_SIDE3(SB), Y1, Y1
	BEST(C_SIDE0, Y8, Y11)
	BEST(C_SIDE1, Y9, Y12)
	BEST(C_SIDE2, Y10, Y13)
	VPADDQ    ·rowConst+C_FOUR(SB), Y14, Y14
	ADDQ      $4, DX
	JMP       wbloop

	// the next row: skip cells on, the lanes' cells too
wbnextrow:
	DECQ         R10
	JLE          wbdone
	MOVQ         skip+64(FP), R11
	ADDQ         R11, DX
	VPBROADCASTQ skip+64(FP), Y0
	VPADDQ       Y0, Y14, Y14
	MOVQ         DX, CX
	ADDQ         n+24(FP), CX
	JMP          wbloop

wbdone:
	MOVQ    a+48(FP), DI
	VMOVUPD Y8, 0(DI)
	VMOVUPD Y9, 32(DI)
	VMOVUPD Y10, 64(DI)
	VMOVDQU Y11, 96(DI)
	VMOVDQU Y12, 128(DI)
	VMOVDQU Y13, 160(DI)
	VZEROUPPER
	RET


// momArgs offsets
#define MO_LP 0
#define MO_SIDE 8
#define MO_XS 16
#define MO_NX 24
#define MO_STRIDE 32
#define MO_ROWS 40
#define MO_ROW0 48
#define MO_Y0 56
#define MO_CELL 64
#define MO_RY 72
#define MO_THR 80
#define MO_INV 88
#define MO_RS 96
#define MO_S 104
#define MO_MOM 152

// func moments4(a *momArgs)
//
// sumMoments' loop over the rows of the cells considered. The run's own
// six sums live in two vectors, Y0 = (sw, sx, sy, sxx) and X1 = (sxy, syy),
// each lane adding its cells' terms in cell order as the scalar loop's six
// sums do. Four cells of the run's side (DX; R13: the side in each byte)
// take their products as vectors (a cell passed over gives 0, which adds
// nothing) and add them to the partial sums Y2..Y7 (one per sum, a lane
// per place in the four); at the run's end (MOFOLD) each partial is added
// to the run's sums as s + ((p0 + p1) + (p2 + p3)). Any other cell (a
// row's last 0-3, a group with a cell of another side) takes the scalar
// steps into the run's own sums.

// MOFOLD adds the partial sums Y2..Y7 to the run's sums Y0, X1 and zeroes
// them (Y13-Y15 scratch).
#define MOFOLD \
	VHADDPD      Y3, Y2, Y13 \
	VHADDPD      Y5, Y4, Y14 \
	VPERM2F128   $0x20, Y14, Y13, Y15 \
	VPERM2F128   $0x31, Y14, Y13, Y13 \
	VADDPD       Y13, Y15, Y15 \
	VADDPD       Y15, Y0, Y0 \
	VHADDPD      Y7, Y6, Y13 \
	VEXTRACTF128 $1, Y13, X14 \
	VADDPD       X14, X13, X13 \
	VADDPD       X13, X1, X1 \
	VXORPD       Y2, Y2, Y2 \
	VXORPD       Y3, Y3, Y3 \
	VXORPD       Y4, Y4, Y4 \
	VXORPD       Y5, Y5, Y5 \
	VXORPD       Y6, Y6, Y6 \
	VXORPD       Y7, Y7, Y7

TEXT ·moments4(SB), NOSPLIT, $0-8
	MOVQ         a+0(FP), DI
	MOVQ         MO_LP(DI), SI
	MOVQ         MO_SIDE(DI), BX
	MOVQ         MO_XS(DI), R8
	MOVQ         MO_NX(DI), CX
	MOVQ         MO_ROWS(DI), R11
	MOVQ         MO_ROW0(DI), R12
	MOVQ         MO_MOM(DI), R14
	MOVQ         MO_RS(DI), DX
	MOVL         $0x01010101, R13
	IMULL        DX, R13
	VBROADCASTSD MO_THR(DI), Y8
	VBROADCASTSD MO_INV(DI), Y9
	VXORPD       Y11, Y11, Y11
	VMOVUPD      MO_S(DI), Y0
	VMOVUPD      MO_S+32(DI), X1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5
	VXORPD       Y6, Y6, Y6
	VXORPD       Y7, Y7, Y7

morow:
	TESTQ        R11, R11
	JEQ          modone
	// y = Y0 + row·cell - ry, as the Go loop computes it
	VXORPD       X10, X10, X10
	VCVTSI2SDQ   R12, X10, X10
	VMULSD       MO_CELL(DI), X10, X10
	VADDSD       MO_Y0(DI), X10, X10
	VSUBSD       MO_RY(DI), X10, X10
	VBROADCASTSD X10, Y10
	XORQ         R9, R9

mocell:
	MOVQ CX, AX
	SUBQ R9, AX
	CMPQ AX, $4
	JLT  moone
	MOVL (BX)(R9*1), AX
	CMPL AX, R13
	JNE  moone
	VMOVUPD    (SI)(R9*8), Y12
	VCMPPD     $5, Y8, Y12, Y13  // !(e < thr), true on NaN
	VCMPPD     $4, Y11, Y12, Y14 // e != 0, true on NaN
	VANDPD     Y14, Y13, Y13
	VMULPD     Y9, Y12, Y12      // e·inv
	VANDPD     Y13, Y12, Y12     // e, 0 where passed over
	VMOVUPD    (R8)(R9*8), Y14   // x
	VADDPD     Y12, Y2, Y2       // the partial sums of the four places
	VMULPD     Y14, Y12, Y13     // ex = e·x
	VMULPD     Y10, Y12, Y15     // ey = e·y
	VADDPD     Y13, Y3, Y3
	VADDPD     Y15, Y4, Y4
	VMULPD     Y14, Y13, Y14     // ex·x
	VMULPD     Y10, Y13, Y13     // ex·y
	VMULPD     Y10, Y15, Y15     // ey·y
	VADDPD     Y14, Y5, Y5
	VADDPD     Y13, Y6, Y6
	VADDPD     Y15, Y7, Y7
	ADDQ       $4, R9
	JMP        mocell

moone:
	CMPQ     R9, CX
	JGE      monext
	VMOVSD   (SI)(R9*8), X12
	VUCOMISD X12, X8          // thr > e: passed over
	JA       moskip
	VUCOMISD X11, X12         // e == 0: passed over
	JNE      moin
	JPC      moskip

moin:
	MOVBQZX (BX)(R9*1), AX
	CMPQ    AX, DX
	JEQ     moadd
	// another side: the run goes to its side's moments
	MOFOLD
	LEAQ    (DX)(DX*2), R15
	SHLQ    $4, R15
	ADDQ    R14, R15
	VADDPD  0(R15), Y0, Y0
	VMOVUPD Y0, 0(R15)
	VADDPD  32(R15), X1, X1
	VMOVUPD X1, 32(R15)
	VXORPD  Y0, Y0, Y0
	VXORPD  Y1, Y1, Y1
	MOVQ    AX, DX
	MOVL    $0x01010101, R13
	IMULL   DX, R13

moadd:
	VMULSD    X9, X12, X12    // e·inv
	VMOVSD    (R8)(R9*8), X14 // x
	VMULSD    X14, X12, X13   // ex
	VMULSD    X10, X12, X15   // ey
	VMULSD    X14, X13, X14   // ex·x
	VUNPCKLPD X13, X12, X12   // e ex
	VUNPCKLPD X14, X15, X14   // ey exx
	VINSERTF128 $1, X14, Y12, Y12
	VADDPD    Y12, Y0, Y0
	VMULSD    X10, X13, X13   // ex·y
	VMULSD    X10, X15, X15   // ey·y
	VUNPCKLPD X15, X13, X13   // exy eyy
	VADDPD    X13, X1, X1

moskip:
	INCQ R9
	JMP  mocell

monext:
	MOVQ MO_STRIDE(DI), AX
	LEAQ (SI)(AX*8), SI
	ADDQ AX, BX
	INCQ R12
	DECQ R11
	JMP  morow

modone:
	MOFOLD
	MOVQ    DX, MO_RS(DI)
	VMOVUPD Y0, MO_S(DI)
	VMOVUPD X1, MO_S+32(DI)
	VZEROUPPER
	RET

// wlArgs (rows_amd64.go).
#define W_LC 0
#define W_LP 8
#define W_SIDE 16
#define W_SCALE 24
#define W_N 32
#define W_SW 40
#define W_ACC 48

// func weightedLT(a *wlArgs)
//
// weightedL's sums over the cells in order, one lane per sensor of the
// cell-major table (8 per cell): for each cell with lp ≠ 0 (NaN included),
// w = lp·scale[side&3], sw += w, acc[i] += w·lc[c][i]. Each lane is the
// scalar loop's sum of its sensor, the same operations in the same order.
TEXT ·weightedLT(SB), NOSPLIT, $0-8
	MOVQ    a+0(FP), DI
	MOVQ    W_LC(DI), SI
	MOVQ    W_LP(DI), R8
	MOVQ    W_SIDE(DI), R9
	MOVQ    W_SCALE(DI), R10
	MOVQ    W_N(DI), CX
	VMOVUPD W_ACC(DI), Y2
	VMOVUPD W_ACC+32(DI), Y4
	VMOVSD  W_SW(DI), X5
	VXORPD  X6, X6, X6
	XORQ    AX, AX

wlcell:
	CMPQ     AX, CX
	JGE      wldone
	VMOVSD   (R8)(AX*8), X0
	VUCOMISD X6, X0
	JNE      wltake
	JPS      wltake
	INCQ     AX
	JMP      wlcell

wltake:
	MOVBLZX      (R9)(AX*1), DX
	ANDL         $3, DX
	VMULSD       (R10)(DX*8), X0, X0
	VADDSD       X0, X5, X5
	VBROADCASTSD X0, Y0
	MOVQ         AX, R11
	SHLQ         $6, R11
	VMULPD       (SI)(R11*1), Y0, Y1
	VADDPD       Y1, Y2, Y2
	VMULPD       32(SI)(R11*1), Y0, Y3
	VADDPD       Y3, Y4, Y4
	INCQ         AX
	JMP          wlcell

wldone:
	VMOVUPD Y2, W_ACC(DI)
	VMOVUPD Y4, W_ACC+32(DI)
	VMOVSD  X5, W_SW(DI)
	VZEROUPPER
	RET

// farArgs (rows_amd64.go).
#define F_L 0
#define F_STRIDE 8
#define F_GI 16
#define F_GW 24
#define F_GU 32
#define F_GC 40
#define F_K 48
#define F_MU 56
#define F_A00 64
#define F_IN 72
#define F_PRI 80
#define F_LP 88
#define F_ID 96
#define F_GROUPS 104
#define F_BH 112
#define F_VB 120

// func farRows4(a *farArgs)
//
// The far points' log posteriors before the silent sensors' terms, and
// 1/det A, four points per lane group: each lane the scalar loop's
// operations (posterior.fix) in the same order.
TEXT ·farRows4(SB), NOSPLIT, $0-8
	MOVQ         a+0(FP), DI
	MOVQ         F_L(DI), SI
	MOVQ         F_STRIDE(DI), R8
	MOVQ         F_GI(DI), R9
	MOVQ         F_GW(DI), R10
	MOVQ         F_GU(DI), R11
	MOVQ         F_GC(DI), R12
	MOVQ         F_K(DI), R13
	MOVQ         F_PRI(DI), R14
	MOVQ         F_LP(DI), R15
	MOVQ         F_ID(DI), DX
	MOVQ         F_GROUPS(DI), BX
	VMOVSD       F_MU(DI), X9
	VBROADCASTSD F_A00(DI), Y13
	VBROADCASTSD F_IN(DI), Y14

fgroup:
	TESTQ  BX, BX
	JE     fdone
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	XORQ   CX, CX

freading:
	CMPQ         CX, R13
	JGE          fsums
	MOVQ         (R9)(CX*8), AX
	IMULQ        R8, AX
	VMOVUPD      (SI)(AX*8), Y5        // l
	VBROADCASTSD (R10)(CX*8), Y6       // w
	VMOVSD       (R11)(CX*8), X7
	VSUBSD       X9, X7, X7            // u - μ
	VBROADCASTSD X7, Y7
	VBROADCASTSD (R12)(CX*8), Y8       // c
	VMULPD       Y5, Y8, Y8            // c·l
	VADDPD       Y8, Y7, Y8            // r = (u - μ) + c·l
	VMULPD       Y5, Y6, Y10           // wl = w·l
	VADDPD       Y10, Y0, Y0           // swl += wl
	VMULPD       Y5, Y10, Y11          // wl·l
	VADDPD       Y11, Y1, Y1           // swll
	VMULPD       Y8, Y6, Y12           // wr = w·r
	VADDPD       Y12, Y2, Y2           // swr
	VMULPD       Y8, Y10, Y11          // wl·r
	VADDPD       Y11, Y3, Y3           // swlr
	VMULPD       Y8, Y12, Y11          // wr·r
	VADDPD       Y11, Y4, Y4           // swrr
	INCQ         CX
	JMP          freading

fsums:
	VADDPD  Y14, Y1, Y1                // a11 = swll + in
	VMULPD  Y1, Y13, Y5                // a00·a11
	VMULPD  Y0, Y0, Y6                 // swl·swl
	VSUBPD  Y6, Y5, Y5
	VMOVUPD ·rowConst+C_ONE(SB), Y6
	VDIVPD  Y5, Y6, Y6                 // id
	VMULPD  Y2, Y1, Y7                 // a11·swr
	VMULPD  Y3, Y0, Y8                 // swl·swlr
	VSUBPD  Y8, Y7, Y8
	VMULPD  Y6, Y8, Y8                 // b̂ = (a11·swr - swl·swlr)·id
	MOVQ    F_BH(DI), AX
	VMOVUPD Y8, (AX)
	ADDQ    $32, AX
	MOVQ    AX, F_BH(DI)
	VMULPD  Y6, Y1, Y8                 // V = a11·id
	MOVQ    F_VB(DI), AX
	VMOVUPD Y8, (AX)
	ADDQ    $32, AX
	MOVQ    AX, F_VB(DI)
	VMULPD  Y2, Y7, Y7                 // ·swr
	VADDPD  Y0, Y0, Y8                 // 2·swl
	VMULPD  Y2, Y8, Y8                 // ·swr
	VMULPD  Y3, Y8, Y8                 // ·swlr
	VSUBPD  Y8, Y7, Y7
	VMULPD  Y3, Y13, Y8                // a00·swlr
	VMULPD  Y3, Y8, Y8                 // ·swlr
	VADDPD  Y8, Y7, Y7
	VMULPD  Y6, Y7, Y7                 // ·id
	VSUBPD  Y7, Y4, Y7                 // q = swrr - ...
	VMOVUPD ·rowConst+C_HALF(SB), Y8
	VMULPD  Y7, Y8, Y7                 // 0.5·q
	VMOVUPD (R14), Y8
	VSUBPD  Y7, Y8, Y8                 // prior - 0.5·q
	VMOVUPD Y8, (R15)
	VMOVUPD Y6, (DX)
	ADDQ    $32, SI
	ADDQ    $32, R14
	ADDQ    $32, R15
	ADDQ    $32, DX
	DECQ    BX
	JMP     fgroup

fdone:
	VZEROUPPER
	RET
