//go:build amd64 && !purego

#include "textflag.h"

// Offsets into the constants table (score's avx2Table, checked by
// TestAVX2TableLayout there).
#define T_CLAMP 0
#define T_INVLN2 32
#define T_SHIFT 64
#define T_LN2HI 96
#define T_LN2LO 128
#define T_ONE 160
#define T_BELOW 192
#define T_E2 224
#define T_E3 256
#define T_E4 288
#define T_TWO31 320
// T_G + 32·(n−2): 1/n!, n = 2…16 (gSeries).
#define T_G 352
#define T_MASK255 832
#define T_SIGN32 864
#define T_ACT 880
#define T_FLAGS 1904
#define T_EXP2 1968

// Offsets into score's consts.
#define K_XTARGET 0
#define K_PIN 24
#define K_MINAGE 32
#define K_MAXAGE 40

// VCMPPD predicates (ordered, quiet).
#define LT 0x11
#define GE 0x1d
#define GT 0x1e

// func Available() bool
TEXT ·Available(SB), NOSPLIT, $0-1
	XORL AX, AX
	XORL CX, CX
	CPUID
	CMPL AX, $7
	JLT  no
	MOVL $1, AX
	XORL CX, CX
	CPUID
	ANDL $0x18000000, CX // OSXSAVE and AVX
	CMPL CX, $0x18000000
	JNE  no
	XORL CX, CX
	XGETBV
	ANDL $6, AX          // the OS saves XMM and YMM state
	CMPL AX, $6
	JNE  no
	MOVL $7, AX
	XORL CX, CX
	CPUID
	ANDL $0x20, BX       // AVX2
	JZ   no
	MOVB $1, ret+0(FP)
	RET
no:
	MOVB $0, ret+0(FP)
	RET

// func Score(tab, k unsafe.Pointer, wr, rr, ma, tw, ps, es, cf *float64, rec *uint32, act *uint8, n int)
//
// Four keys per iteration, each lane computing what scoreScalar computes,
// operation for operation (no fused multiply-add):
// λ in Y0, ρ in Y1, T in Y2, x in Y4, 1/λ in Y5; Y11 = 0 and Y12–Y15 the
// per-batch parameters. The action bytes of keys with two writer groups
// carry the shared flag (0x80) for the caller's conflict pass.
TEXT ·Score(SB), NOSPLIT, $0-96
	MOVQ k+8(FP), R12
	VBROADCASTSD K_XTARGET(R12), Y12
	VBROADCASTSD K_MINAGE(R12), Y13
	VBROADCASTSD K_MAXAGE(R12), Y14
	VBROADCASTSD K_PIN(R12), Y15
	MOVQ wr+16(FP), AX
	MOVQ rr+24(FP), BX
	MOVQ ma+32(FP), CX
	MOVQ tw+40(FP), DX
	MOVQ ps+48(FP), SI
	MOVQ es+56(FP), DI
	MOVQ cf+64(FP), R8
	MOVQ rec+72(FP), R9
	MOVQ act+80(FP), R10
	XORQ R11, R11
	VXORPD Y11, Y11, Y11
	CMPQ R11, n+88(FP)
	JGE  done

loop:
	MOVQ tab+0(FP), R12
	VMOVUPD (AX)(R11*8), Y0
	VMOVUPD (CX)(R11*8), Y2
	VMULPD  Y2, Y0, Y4                   // x = λ·T
	VMOVUPD T_ONE(R12), Y5
	VDIVPD  Y0, Y5, Y5                   // 1/λ

	// p = 1 − e^(−x), as in expNeg.
	VMINPD  T_CLAMP(R12), Y4, Y6         // xe = min(x, expClamp)
	VMULPD  T_INVLN2(R12), Y6, Y7
	VADDPD  T_SHIFT(R12), Y7, Y7         // kd
	VSUBPD  T_SHIFT(R12), Y7, Y8         // nf
	VMULPD  T_LN2HI(R12), Y8, Y9
	VSUBPD  Y9, Y6, Y6
	VMULPD  T_LN2LO(R12), Y8, Y8
	VSUBPD  Y8, Y6, Y6                   // r
	VMULPD  Y6, Y6, Y8                   // r²
	VMULPD  T_E3(R12), Y6, Y9
	VMOVUPD T_E2(R12), Y10
	VSUBPD  Y9, Y10, Y9                  // e2 − r·e3
	VMULPD  T_E4(R12), Y8, Y10
	VADDPD  Y10, Y9, Y9                  // + r²·e4
	VMULPD  Y9, Y8, Y9                   // r²·(…)
	VMOVUPD T_ONE(R12), Y10
	VSUBPD  Y6, Y10, Y6                  // 1 − r
	VADDPD  Y9, Y6, Y6                   // q
	VPAND   T_MASK255(R12), Y7, Y9       // j
	VPCMPEQQ Y10, Y10, Y10
	MOVQ    T_EXP2(R12), R13
	VPGATHERQQ Y10, (R13)(Y9*8), Y1      // 2^(−j/256) bits
	VPSRLQ  $8, Y7, Y7
	VPSLLQ  $52, Y7, Y7
	VPSUBQ  Y7, Y1, Y1                   // 2^(−j/256)·2^(−k)
	VMULPD  Y1, Y6, Y6
	VMOVUPD T_ONE(R12), Y10
	VSUBPD  Y6, Y10, Y6                  // p

	// ExpectedStale = ρ·(T − p/λ), 0 unless ρ > 0.
	VMOVUPD (BX)(R11*8), Y1
	VMULPD  Y5, Y6, Y7
	VSUBPD  Y7, Y2, Y7
	VMULPD  Y7, Y1, Y7
	VCMPPD  $GT, Y11, Y1, Y8             // ρ > 0
	VANDPD  Y8, Y7, Y7

	// Lanes with x < 1/2 take the series (seriesKey): g by Horner's rule
	// as gSeries evaluates it, alternating the sign of the partial sum so
	// that every constant can be a memory operand (negation is exact).
	VCMPPD  $LT, T_BELOW(R12), Y4, Y9
	VMOVMSKPD Y9, R13
	TESTQ   R13, R13
	JZ      store
	VMULPD  T_G+448(R12), Y4, Y3
	VSUBPD  T_G+416(R12), Y3, Y3            // −(1/15! − …)
	VMULPD  Y4, Y3, Y3
	VADDPD  T_G+384(R12), Y3, Y3            // 1/14! − …
	VMULPD  Y4, Y3, Y3
	VSUBPD  T_G+352(R12), Y3, Y3            // −(1/13! − …)
	VMULPD  Y4, Y3, Y3
	VADDPD  T_G+320(R12), Y3, Y3            // 1/12! − …
	VMULPD  Y4, Y3, Y3
	VSUBPD  T_G+288(R12), Y3, Y3            // −(1/11! − …)
	VMULPD  Y4, Y3, Y3
	VADDPD  T_G+256(R12), Y3, Y3            // 1/10! − …
	VMULPD  Y4, Y3, Y3
	VSUBPD  T_G+224(R12), Y3, Y3            // −(1/9! − …)
	VMULPD  Y4, Y3, Y3
	VADDPD  T_G+192(R12), Y3, Y3            // 1/8! − …
	VMULPD  Y4, Y3, Y3
	VSUBPD  T_G+160(R12), Y3, Y3            // −(1/7! − …)
	VMULPD  Y4, Y3, Y3
	VADDPD  T_G+128(R12), Y3, Y3            // 1/6! − …
	VMULPD  Y4, Y3, Y3
	VSUBPD  T_G+96(R12), Y3, Y3            // −(1/5! − …)
	VMULPD  Y4, Y3, Y3
	VADDPD  T_G+64(R12), Y3, Y3            // 1/4! − …
	VMULPD  Y4, Y3, Y3
	VSUBPD  T_G+32(R12), Y3, Y3            // −(1/3! − …)
	VMULPD  Y4, Y3, Y3
	VADDPD  T_G+0(R12), Y3, Y3            // 1/2! − …
	VMULPD  Y4, Y3, Y3                   // g
	VMOVUPD T_ONE(R12), Y10
	VSUBPD  Y3, Y10, Y10
	VMULPD  Y10, Y4, Y10                 // x·(1 − g)
	VBLENDVPD Y9, Y10, Y6, Y6
	VMULPD  Y2, Y1, Y10
	VMULPD  Y3, Y10, Y10                 // ρ·T·g
	VCMPPD  $GT, Y11, Y0, Y3             // λ > 0
	VANDPD  Y8, Y3, Y3
	VANDPD  Y3, Y10, Y10
	VBLENDVPD Y9, Y10, Y7, Y7

store:
	VMOVUPD Y6, (SI)(R11*8)
	VMOVUPD Y7, (DI)(R11*8)
	VMOVUPD Y11, (R8)(R11*8)             // conflict: finishMarked

	// MaxAge* = ⌊clamp(xTarget/λ, minAge, maxAge)⌋ as uint32.
	VMULPD  Y5, Y12, Y7
	VMAXPD  Y13, Y7, Y7
	VMINPD  Y14, Y7, Y7
	VROUNDPD $3, Y7, Y7                  // toward zero
	VSUBPD  T_TWO31(R12), Y7, Y7
	VCVTTPD2DQY Y7, X7
	VPXOR   T_SIGN32(R12), X7, X7
	VMOVDQU X7, (R9)(R11*4)

	// Action: invalidate-early if x ≥ xTarget and ρ > 0, else pin if
	// λ·pinHorizon < xTarget, else none; batch is finishMarked's.
	VCMPPD  $GE, Y12, Y4, Y9
	VANDPD  Y8, Y9, Y9
	VMOVMSKPD Y9, R13
	VMULPD  Y15, Y0, Y9
	VCMPPD  $LT, Y12, Y9, Y9
	VMOVMSKPD Y9, R12
	SHLQ    $4, R12
	ORQ     R12, R13
	MOVQ    tab+0(FP), R12
	MOVL    T_ACT(R12)(R13*4), R13
	MOVL    R13, (R10)(R11*1)

	// Mark keys with two writer groups (λtop > 0 and λ − λtop > 0).
	VMOVUPD (DX)(R11*8), Y3
	VCMPPD  $GT, Y11, Y3, Y9
	VSUBPD  Y3, Y0, Y10
	VCMPPD  $GT, Y11, Y10, Y10
	VANDPD  Y10, Y9, Y9
	VMOVMSKPD Y9, R13
	TESTQ   R13, R13
	JZ      next
	MOVL    T_FLAGS(R12)(R13*4), R13
	ORL     R13, (R10)(R11*1)

next:
	ADDQ $4, R11
	CMPQ R11, n+88(FP)
	JLT  loop

done:
	VZEROUPPER
	RET
