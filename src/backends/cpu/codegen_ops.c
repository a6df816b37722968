/* codegen_ops.c: the scalar LLVM code of every elementwise primitive and of dtype
 * conversions, matching the interpreter (src/backends/interp/impl_elementwise.c,
 * impl_convert.c) bit for bit: integer division by zero and INT_MIN/-1, out-of-range
 * shifts, saturating float -> int conversion, NaN-propagating max/min, round half away
 * from zero. Transcendental functions call the same libm functions the interpreter does,
 * through helper symbols (jx__cg_symbols) so LLVM never rewrites them as library calls;
 * f16/bf16 convert through the library's own jx_f32_to_f16 etc. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "codegen.h"
#include "../special.h"
#include "../vmath.h"

/* ------------------------------------------------------------------ helper symbols */

#define MATH_FNS(X) \
    X(exp) X(log) X(log1p) X(expm1) X(tanh) X(sin) X(cos) X(pow) X(atan2) X(erf) X(erfc) X(tan) \
    X(asin) X(acos) X(atan) X(sinh) X(cosh) X(asinh) X(acosh) X(atanh)
#define SYM2(fn) {"jx_cg_" #fn, (void *)fn}, {"jx_cg_" #fn "f", (void *)fn##f},
static const jx__cg_symbol jx__cg_symbols[] = {
    MATH_FNS(SYM2)
    {"jx_cg_lgamma", (void *)jx__lgamma},
    {"jx_cg_lgammaf", (void *)jx__lgammaf},
    {"jx_cg_digamma", (void *)jx__digamma},
    {"jx_cg_digammaf", (void *)jx__digammaf},
    {"jx_cg_f16_to_f32", (void *)jx_f16_to_f32},
    {"jx_cg_f32_to_f16", (void *)jx_f32_to_f16},
    {"jx_cg_bf16_to_f32", (void *)jx_bf16_to_f32},
    {"jx_cg_f32_to_bf16", (void *)jx_f32_to_bf16},
};
enum { NTABLE = (int)(sizeof jx__cg_symbols / sizeof jx__cg_symbols[0]) };

#define VM_NAME(f) "jx_cg_" #f "f_v8",
static const char *const vector_names[] = {JX__VMATH_FNS(VM_NAME)};
#define VM_NAME16(f) "jx_cg_" #f "f_v16",
static const char *const vector16_names[] = {JX__VMATH_FNS(VM_NAME16)};
#define VM_FN(f) #f,
static const char *const vmath_names[] = {JX__VMATH_FNS(VM_FN)};
enum { NVMATH = (int)(sizeof vmath_names / sizeof *vmath_names) };

int jx__cg_symbol_count(void) { return NTABLE + (jx__vmath_lanes() ? NVMATH : 0) + (jx__vmath_wide() ? NVMATH : 0); }

jx__cg_symbol jx__cg_symbol_at(int i) {
    if (i >= NTABLE + NVMATH) {
        int k = i - NTABLE - NVMATH;
        return (jx__cg_symbol){vector16_names[k], jx__vmath_find(vmath_names[k])->vector16};
    }
    if (i >= NTABLE) return (jx__cg_symbol){vector_names[i - NTABLE], jx__vmath_find(vmath_names[i - NTABLE])->vector};
    jx__cg_symbol s = jx__cg_symbols[i];
    for (int k = 0; k < NVMATH; k++) { /* the f32 functions as vmath.h chose them */
        char name[32];
        snprintf(name, sizeof name, "jx_cg_%sf", vmath_names[k]);
        if (strcmp(s.name, name) == 0) s.addr = (void *)jx__vmath_find(vmath_names[k])->scalar;
    }
    return s;
}

/* ------------------------------------------------------------------ small helpers */

static bool is_float(jx_dtype t) { return t == JX_F32 || t == JX_F64; }
static bool is_unsigned(jx_dtype t) { return t == JX_U8 || t == JX_U32 || t == JX_BOOL; }
static int bits_of(jx_dtype t) { return (int)jx_dtype_size(t) * 8; }

static LLVMValueRef fconst(jx__cg *cg, jx_dtype t, double v) { return LLVMConstReal(jx__cg_type(cg, t), v); }
static LLVMValueRef iconst(jx__cg *cg, jx_dtype t, int64_t v) {
    return LLVMConstInt(jx__cg_type(cg, t), (unsigned long long)v, 1);
}
static LLVMValueRef zext8(jx__cg *cg, LLVMValueRef c) { return LLVMBuildZExt(cg->b, c, cg->i8, ""); }

/* a as the CPU's subnormal mode sees it (src/backends/fpenv.h), for a library function
 * that may read its bits: |a| < the smallest normal gives (a * 2) * 0.5, which is +-0
 * under DAZ and a exactly otherwise (LLVM does not fold it without reassociation). The
 * interpreter's DAZ (impl_elementwise.c) is the same expression. */
static LLVMValueRef daz(jx__cg *cg, jx_dtype t, LLVMValueRef a) {
    LLVMBuilderRef b = cg->b;
    LLVMValueRef tiny = LLVMBuildFCmp(b, LLVMRealOLT, jx__cg_fintrinsic(cg, "llvm.fabs", a),
                                      fconst(cg, t, t == JX_F32 ? FLT_MIN : DBL_MIN), "");
    LLVMValueRef r = LLVMBuildFMul(b, LLVMBuildFMul(b, a, fconst(cg, t, 2), ""), fconst(cg, t, 0.5), "");
    return LLVMBuildSelect(b, tiny, r, a, "");
}

/* Declares the vector helper `name` of `lanes` f32 lanes (readnone) unless declared. */
static void declare_variant(jx__cg *cg, const char *name, unsigned lanes) {
    if (LLVMGetNamedFunction(cg->mod, name)) return;
    LLVMTypeRef vt = LLVMVectorType(cg->f32, lanes);
    LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(vt, &vt, 1, 0));
    static const char *const attrs[] = {"readnone", "nounwind", "willreturn"};
    for (int i = 0; i < 3; i++) {
        unsigned kind = LLVMGetEnumAttributeKindForName(attrs[i], strlen(attrs[i]));
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->ctx, kind, 0));
    }
}

/* Tells the loop vectoriser that call (to the f32 helper `full`) has an 8-lane variant,
 * `<full>_v8`, and on AVX-512F CPUs a 16-lane one, `<full>_v16` (vmath.h: both
 * bit-identical to the scalar helper lane by lane, so whichever width the vectoriser
 * picks gives the same bits): the vector function ABI's "vector-function-abi-variant"
 * attribute, and the variants declared. */
static void vector_variant(jx__cg *cg, LLVMValueRef call, const char *full) {
    char v8[48], v16[48], abi[256];
    snprintf(v8, sizeof v8, "%s_v8", full);
    snprintf(v16, sizeof v16, "%s_v16", full);
    declare_variant(cg, v8, 8);
    int len = snprintf(abi, sizeof abi, "_ZGV_LLVM_N8v_%s(%s)", full, v8);
    if (jx__vmath_wide()) {
        declare_variant(cg, v16, 16);
        len += snprintf(abi + len, sizeof abi - (size_t)len, ",_ZGV_LLVM_N16v_%s(%s)", full, v16);
    }
    static const char key[] = "vector-function-abi-variant";
    LLVMAddCallSiteAttribute(call, LLVMAttributeFunctionIndex,
                             LLVMCreateStringAttribute(cg->ctx, key, sizeof key - 1, abi, (unsigned)len));
}

/* libm function `name` (f32 gets the "f" variant) on 1 or 2 operands, flushed by daz;
 * except f32 log, whose subnormal inputs reach logf as they are: under DAZ glibc's logf
 * then gives what XLA's does (-103.97 = log 2^-150 for every one; tests/jaxref). */
static LLVMValueRef math(jx__cg *cg, const char *name, jx_dtype t, int n, LLVMValueRef a, LLVMValueRef b) {
    if (t != JX_F32 || strcmp(name, "log") != 0) a = daz(cg, t, a);
    if (n > 1) b = daz(cg, t, b);
    char full[32];
    snprintf(full, sizeof full, "jx_cg_%s%s", name, t == JX_F32 ? "f" : "");
    LLVMTypeRef ty = jx__cg_type(cg, t);
    LLVMTypeRef params[2] = {ty, ty};
    LLVMValueRef args[2] = {a, b};
    LLVMValueRef call = jx__cg_call(cg, full, ty, n, params, args);
    const jx__vmath_fn *vf = t == JX_F32 && n == 1 ? jx__vmath_find(name) : NULL;
    if (vf && vf->vector && jx__vmath_lanes() == 8 && !jx__cg_for_gpu(cg))
        vector_variant(cg, call, full); /* the host's SLEEF: not for the CUDA backend's modules */
    return call;
}

static LLVMValueRef is_nan(jx__cg *cg, LLVMValueRef a) { return LLVMBuildFCmp(cg->b, LLVMRealUNO, a, a, ""); }

/* ------------------------------------------------------------------ unary */

static LLVMValueRef float_unary(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef a) {
    LLVMBuilderRef b = cg->b;
    LLVMValueRef one = fconst(cg, t, 1), zero = fconst(cg, t, 0);
    switch (prim) {
    case JX_PRIM_NEG: return LLVMBuildFNeg(b, a, "");
    case JX_PRIM_EXP: return math(cg, "exp", t, 1, a, NULL);
    case JX_PRIM_LOG: return math(cg, "log", t, 1, a, NULL);
    case JX_PRIM_LOG1P: return math(cg, "log1p", t, 1, a, NULL);
    case JX_PRIM_EXPM1: return math(cg, "expm1", t, 1, a, NULL);
    case JX_PRIM_TANH: return math(cg, "tanh", t, 1, a, NULL);
    case JX_PRIM_SIN: return math(cg, "sin", t, 1, a, NULL);
    case JX_PRIM_COS: return math(cg, "cos", t, 1, a, NULL);
    case JX_PRIM_ERF: return math(cg, "erf", t, 1, a, NULL);
    case JX_PRIM_ERFC: return math(cg, "erfc", t, 1, a, NULL);
    case JX_PRIM_LGAMMA: return math(cg, "lgamma", t, 1, a, NULL);
    case JX_PRIM_DIGAMMA: return math(cg, "digamma", t, 1, a, NULL);
    case JX_PRIM_TAN: return math(cg, "tan", t, 1, a, NULL);
    case JX_PRIM_ASIN: return math(cg, "asin", t, 1, a, NULL);
    case JX_PRIM_ACOS: return math(cg, "acos", t, 1, a, NULL);
    case JX_PRIM_ATAN: return math(cg, "atan", t, 1, a, NULL);
    case JX_PRIM_SINH: return math(cg, "sinh", t, 1, a, NULL);
    case JX_PRIM_COSH: return math(cg, "cosh", t, 1, a, NULL);
    case JX_PRIM_ASINH: return math(cg, "asinh", t, 1, a, NULL);
    case JX_PRIM_ACOSH: return math(cg, "acosh", t, 1, a, NULL);
    case JX_PRIM_ATANH: return math(cg, "atanh", t, 1, a, NULL);
    case JX_PRIM_IS_FINITE: /* ordered and not equal: false for NaN and +-inf */
        return zext8(cg, LLVMBuildFCmp(b, LLVMRealONE, jx__cg_fintrinsic(cg, "llvm.fabs", a),
                                       fconst(cg, t, INFINITY), ""));
    case JX_PRIM_LOGISTIC: { /* exp of -|a| only: 1 / (1 + exp(-a)) for a >= 0, exp(a) / (1 + exp(a))
                              * below; one division of the chosen numerator (a vector body made both) */
        LLVMValueRef e = math(cg, "exp", t, 1, LLVMBuildFNeg(b, jx__cg_fintrinsic(cg, "llvm.fabs", a), ""), NULL);
        LLVMValueRef num = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGE, a, zero, ""), one, e, "");
        return LLVMBuildFDiv(b, num, LLVMBuildFAdd(b, one, e, ""), "");
    }
    case JX_PRIM_SQRT: return jx__cg_fintrinsic(cg, "llvm.sqrt", a);
    case JX_PRIM_RSQRT: return LLVMBuildFDiv(b, one, jx__cg_fintrinsic(cg, "llvm.sqrt", a), "");
    case JX_PRIM_ABS: return jx__cg_fintrinsic(cg, "llvm.fabs", a);
    case JX_PRIM_SIGN: { /* keeps 0, -0 and NaN */
        LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, a, zero, ""), fconst(cg, t, -1), a, "");
        return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, a, zero, ""), one, r, "");
    }
    case JX_PRIM_FLOOR: return jx__cg_fintrinsic(cg, "llvm.floor", a);
    case JX_PRIM_CEIL: return jx__cg_fintrinsic(cg, "llvm.ceil", a);
    case JX_PRIM_ROUND: return jx__cg_fintrinsic(cg, "llvm.round", a); /* half away from zero */
    default: return NULL;
    }
}

static LLVMValueRef int_unary(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef a) {
    LLVMBuilderRef b = cg->b;
    LLVMValueRef zero = iconst(cg, t, 0);
    bool sgn = !is_unsigned(t);
    switch (prim) {
    case JX_PRIM_NEG: return sgn ? LLVMBuildSub(b, zero, a, "") : NULL;
    case JX_PRIM_ABS:
        return sgn ? LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, a, zero, ""), LLVMBuildSub(b, zero, a, ""), a, "")
                   : NULL;
    case JX_PRIM_SIGN: {
        if (!sgn) return NULL;
        LLVMValueRef gt = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSGT, a, zero, ""), jx__cg_type(cg, t), "");
        LLVMValueRef lt = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSLT, a, zero, ""), jx__cg_type(cg, t), "");
        return LLVMBuildSub(b, gt, lt, "");
    }
    case JX_PRIM_NOT:
        if (t == JX_BOOL) return zext8(cg, LLVMBuildICmp(b, LLVMIntEQ, a, zero, ""));
        return LLVMBuildNot(b, a, "");
    default: return NULL;
    }
}

/* x**p by repeated squaring, the interpreter's exact sequence of multiplications. */
static LLVMValueRef integer_pow(jx__cg *cg, jx_dtype t, LLVMValueRef x, int64_t p) {
    bool fl = is_float(t);
    uint64_t m = p < 0 ? (uint64_t)0 - (uint64_t)p : (uint64_t)p;
    LLVMValueRef acc = fl ? fconst(cg, t, 1) : iconst(cg, t, 1), base = x;
    bool first = true;
    for (uint64_t k = m; k; k >>= 1) {
        if (k & 1) {
            acc = first ? base : fl ? LLVMBuildFMul(cg->b, acc, base, "") : LLVMBuildMul(cg->b, acc, base, "");
            first = false;
        }
        if (k > 1) base = fl ? LLVMBuildFMul(cg->b, base, base, "") : LLVMBuildMul(cg->b, base, base, "");
    }
    if (fl && p < 0) acc = LLVMBuildFDiv(cg->b, fconst(cg, t, 1), acc, "");
    return acc;
}

/* ------------------------------------------------------------------ binary */

static LLVMValueRef float_binary(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef a, LLVMValueRef c) {
    LLVMBuilderRef b = cg->b;
    switch (prim) {
    case JX_PRIM_ADD: return LLVMBuildFAdd(b, a, c, "");
    case JX_PRIM_SUB: return LLVMBuildFSub(b, a, c, "");
    case JX_PRIM_MUL: return LLVMBuildFMul(b, a, c, "");
    case JX_PRIM_DIV: return LLVMBuildFDiv(b, a, c, "");
    case JX_PRIM_REM: return LLVMBuildFRem(b, daz(cg, t, a), daz(cg, t, c), ""); /* fmod */
    case JX_PRIM_POW: return math(cg, "pow", t, 2, a, c);
    case JX_PRIM_ATAN2: return math(cg, "atan2", t, 2, a, c);
    case JX_PRIM_MAX:
    case JX_PRIM_MIN: { /* a > b || a != a ? a : b (NaN in a wins, else b's NaN comes through) */
        LLVMValueRef cmp = LLVMBuildFCmp(b, prim == JX_PRIM_MAX ? LLVMRealOGT : LLVMRealOLT, a, c, "");
        return LLVMBuildSelect(b, LLVMBuildOr(b, cmp, is_nan(cg, a), ""), a, c, "");
    }
    default: return NULL;
    }
}

/* Integer division and remainder without UB: the divisor is made safe first. */
static LLVMValueRef int_divrem(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef a, LLVMValueRef c) {
    LLVMBuilderRef b = cg->b;
    LLVMValueRef zero = iconst(cg, t, 0), one = iconst(cg, t, 1), m1 = iconst(cg, t, -1);
    LLVMValueRef is0 = LLVMBuildICmp(b, LLVMIntEQ, c, zero, "");
    bool div = prim == JX_PRIM_DIV;
    if (is_unsigned(t)) {
        LLVMValueRef safe = LLVMBuildSelect(b, is0, one, c, "");
        LLVMValueRef r = div ? LLVMBuildUDiv(b, a, safe, "") : LLVMBuildURem(b, a, safe, "");
        return LLVMBuildSelect(b, is0, div ? m1 : a, r, "");
    }
    LLVMValueRef ism1 = LLVMBuildICmp(b, LLVMIntEQ, c, m1, "");
    LLVMValueRef safe = LLVMBuildSelect(b, LLVMBuildOr(b, is0, ism1, ""), one, c, "");
    LLVMValueRef r = div ? LLVMBuildSDiv(b, a, safe, "") : LLVMBuildSRem(b, a, safe, "");
    r = LLVMBuildSelect(b, ism1, div ? LLVMBuildSub(b, zero, a, "") : zero, r, "");
    return LLVMBuildSelect(b, is0, div ? m1 : a, r, "");
}

static LLVMValueRef int_binary(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef a, LLVMValueRef c) {
    LLVMBuilderRef b = cg->b;
    bool u = is_unsigned(t);
    LLVMValueRef zero = iconst(cg, t, 0), big = NULL;
    if (t == JX_BOOL && prim != JX_PRIM_AND && prim != JX_PRIM_OR && prim != JX_PRIM_XOR) return NULL;
    if (prim == JX_PRIM_SHIFT_LEFT || prim == JX_PRIM_SHIFT_RIGHT_LOGICAL || prim == JX_PRIM_SHIFT_RIGHT_ARITHMETIC)
        big = LLVMBuildICmp(b, LLVMIntUGE, c, iconst(cg, t, bits_of(t)), ""); /* shift count out of range */
    switch (prim) {
    case JX_PRIM_ADD: return LLVMBuildAdd(b, a, c, "");
    case JX_PRIM_SUB: return LLVMBuildSub(b, a, c, "");
    case JX_PRIM_MUL: return LLVMBuildMul(b, a, c, "");
    case JX_PRIM_DIV:
    case JX_PRIM_REM: return int_divrem(cg, prim, t, a, c);
    case JX_PRIM_MAX:
        return LLVMBuildSelect(b, LLVMBuildICmp(b, u ? LLVMIntUGT : LLVMIntSGT, a, c, ""), a, c, "");
    case JX_PRIM_MIN:
        return LLVMBuildSelect(b, LLVMBuildICmp(b, u ? LLVMIntULT : LLVMIntSLT, a, c, ""), a, c, "");
    case JX_PRIM_AND: return LLVMBuildAnd(b, a, c, "");
    case JX_PRIM_OR: return LLVMBuildOr(b, a, c, "");
    case JX_PRIM_XOR: return LLVMBuildXor(b, a, c, "");
    case JX_PRIM_SHIFT_LEFT: return LLVMBuildSelect(b, big, zero, LLVMBuildShl(b, a, c, ""), "");
    case JX_PRIM_SHIFT_RIGHT_LOGICAL: return LLVMBuildSelect(b, big, zero, LLVMBuildLShr(b, a, c, ""), "");
    case JX_PRIM_SHIFT_RIGHT_ARITHMETIC: /* sign fill, on unsigned dtypes too */
        return LLVMBuildAShr(b, a, LLVMBuildSelect(b, big, iconst(cg, t, bits_of(t) - 1), c, ""), "");
    default: return NULL;
    }
}

static LLVMValueRef compare(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef a, LLVMValueRef c) {
    int k = prim - JX_PRIM_EQ; /* eq ne lt le gt ge */
    if (is_float(t)) {
        static const LLVMRealPredicate fp[6] = {LLVMRealOEQ, LLVMRealUNE, LLVMRealOLT,
                                                LLVMRealOLE, LLVMRealOGT, LLVMRealOGE};
        return zext8(cg, LLVMBuildFCmp(cg->b, fp[k], a, c, ""));
    }
    static const LLVMIntPredicate sp[6] = {LLVMIntEQ, LLVMIntNE, LLVMIntSLT, LLVMIntSLE, LLVMIntSGT, LLVMIntSGE};
    static const LLVMIntPredicate up[6] = {LLVMIntEQ, LLVMIntNE, LLVMIntULT, LLVMIntULE, LLVMIntUGT, LLVMIntUGE};
    return zext8(cg, LLVMBuildICmp(cg->b, is_unsigned(t) ? up[k] : sp[k], a, c, ""));
}

/* ------------------------------------------------------------------ conversions */

/* f16/bf16 bits <-> f32 through the library's converters (the interpreter's). */
static LLVMValueRef half_to_f32(jx__cg *cg, LLVMValueRef a, jx_dtype from) {
    LLVMTypeRef p = cg->i16;
    return jx__cg_call(cg, from == JX_F16 ? "jx_cg_f16_to_f32" : "jx_cg_bf16_to_f32", cg->f32, 1, &p, &a);
}
static LLVMValueRef f32_to_half(jx__cg *cg, LLVMValueRef a, jx_dtype to) {
    LLVMTypeRef p = cg->f32;
    return jx__cg_call(cg, to == JX_F16 ? "jx_cg_f32_to_f16" : "jx_cg_f32_to_bf16", cg->i16, 1, &p, &a);
}

LLVMValueRef jx__cg_convert(jx__cg *cg, LLVMValueRef a, jx_dtype from, jx_dtype to) {
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef ty = jx__cg_type(cg, to);
    if (from == to) return a;
    if (from == JX_F16 || from == JX_BF16) {
        a = half_to_f32(cg, a, from);
        from = JX_F32;
        if (to == JX_F32) return a;
    }
    if (to == JX_F16 || to == JX_BF16) return f32_to_half(cg, jx__cg_convert(cg, a, from, JX_F32), to);
    if (is_float(from)) {
        if (to == JX_BOOL) return zext8(cg, LLVMBuildFCmp(b, LLVMRealUNE, a, fconst(cg, from, 0), "")); /* NaN: true */
        if (is_float(to)) return to == JX_F64 ? LLVMBuildFPExt(b, a, ty, "") : LLVMBuildFPTrunc(b, a, ty, "");
        /* truncate toward zero, saturate, NaN -> 0: exactly llvm.fpto[su]i.sat */
        char name[48];
        snprintf(name, sizeof name, "llvm.fpto%si.sat.i%d.f%d", is_unsigned(to) ? "u" : "s", bits_of(to),
                 bits_of(from));
        LLVMTypeRef ft = LLVMFunctionType(ty, (LLVMTypeRef[]){jx__cg_type(cg, from)}, 1, 0);
        LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, name);
        if (!fn) fn = LLVMAddFunction(cg->mod, name, ft);
        return LLVMBuildCall2(b, ft, fn, &a, 1, "");
    }
    /* from an integer or bool */
    bool u = is_unsigned(from);
    if (to == JX_BOOL) return zext8(cg, LLVMBuildICmp(b, LLVMIntNE, a, iconst(cg, from, 0), ""));
    if (is_float(to)) return u ? LLVMBuildUIToFP(b, a, ty, "") : LLVMBuildSIToFP(b, a, ty, "");
    int fb = bits_of(from), tb = bits_of(to);
    if (tb == fb) return a;
    if (tb < fb) return LLVMBuildTrunc(b, a, ty, ""); /* wraps */
    return u ? LLVMBuildZExt(b, a, ty, "") : LLVMBuildSExt(b, a, ty, "");
}

/* ------------------------------------------------------------------ threefry */

static LLVMValueRef rotl32(jx__cg *cg, LLVMValueRef v, int r) {
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef t = LLVMTypeOf(v);
    return LLVMBuildOr(b, LLVMBuildShl(b, v, LLVMConstInt(t, (unsigned)r, 0), ""),
                       LLVMBuildLShr(b, v, LLVMConstInt(t, (unsigned)(32 - r), 0), ""), "");
}

LLVMValueRef jx__cg_threefry(jx__cg *cg, const LLVMValueRef *w, bool second) {
    static const int rot[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef t = LLVMTypeOf(w[2]);
    LLVMValueRef ks[3] = {w[0], w[1], LLVMBuildXor(b, LLVMBuildXor(b, w[0], w[1], ""), LLVMConstInt(t, 0x1BD11BDAu, 0), "")};
    LLVMValueRef x = LLVMBuildAdd(b, w[2], ks[0], ""), y = LLVMBuildAdd(b, w[3], ks[1], "");
    for (int blk = 0; blk < 5; blk++) {
        for (int r = 0; r < 4; r++) {
            x = LLVMBuildAdd(b, x, y, "");
            y = LLVMBuildXor(b, rotl32(cg, y, rot[blk & 1][r]), x, "");
        }
        x = LLVMBuildAdd(b, x, ks[(blk + 1) % 3], "");
        y = LLVMBuildAdd(b, y, LLVMBuildAdd(b, ks[(blk + 2) % 3], LLVMConstInt(t, (unsigned)(blk + 1), 0), ""), "");
    }
    return second ? y : x;
}

/* ------------------------------------------------------------------ dispatch */

LLVMValueRef jx__cg_elementwise(jx__cg *cg, const jx__eqn *e, const jx_dtype *dt, LLVMValueRef *in) {
    int p = e->prim;
    jx_dtype t = dt[0], ot = cg->f->vars[e->out[0]].dtype;
    LLVMValueRef r = NULL;
    if (p == JX_PRIM_STOP_GRADIENT) return in[0];
    if (p == JX_PRIM_CONVERT) return jx__cg_convert(cg, in[0], t, ot);
    if (p == JX_PRIM_SELECT) {
        LLVMValueRef pred = LLVMBuildICmp(cg->b, LLVMIntNE, in[0], LLVMConstInt(cg->i8, 0, 0), "");
        return LLVMBuildSelect(cg->b, pred, in[1], in[2], "");
    }
    if (t == JX_F16 || t == JX_BF16) return jx__cg_unsupported(cg, e, ot, "f16/bf16 arithmetic (convert first)");
    if (p == JX_PRIM_INTEGER_POW) {
        if (t == JX_F32 || t == JX_F64 || t == JX_I32 || t == JX_I64)
            return integer_pow(cg, t, in[0], jx__attr_int(e->nattr, e->attrs, JX_A_Y, 1));
        return jx__cg_unsupported(cg, e, ot, "this dtype");
    }
    switch (jx__prims[p].cls) {
    case JX__UNARY: r = is_float(t) ? float_unary(cg, p, t, in[0]) : int_unary(cg, p, t, in[0]); break;
    case JX__BINARY: r = is_float(t) ? float_binary(cg, p, t, in[0], in[1]) : int_binary(cg, p, t, in[0], in[1]); break;
    case JX__COMPARE: r = compare(cg, p, t, in[0], in[1]); break;
    default: break;
    }
    return r ? r : jx__cg_unsupported(cg, e, ot, "this primitive and dtype");
}
