/* ptx.c: CUDA kernels from LOOP groups, with the CPU backend's code generator (one
 * generator, two targets). Each group is emitted by jx__cg_emit_kernel exactly as for
 * the CPU, as `void k(void **bufs, int64_t begin, int64_t end)`, and wrapped in a
 * kernel `k_g(p0, ..., pn, int64_t size)` that walks the iteration space grid-stride,
 * one element per thread per step (adjacent threads write adjacent elements, so stores
 * coalesce), calling k on [i, i + 1); LLVM inlines k. A reduction is folded sequentially
 * by the thread computing its output element, in the interpreter's order: results are
 * deterministic and reductions bit-identical to the CPU's, with no atomics (slow for a
 * full reduction, which runs on one thread; shuffle and shared-memory reductions are the
 * next step, docs/cuda.md).
 *
 * The module targets sm_80 with PTX 7.5, the newest LLVM 14 knows; the driver JITs it
 * for the device (sm_90 on an H200). Math helpers the emitter calls by name (jx_cg_expf
 * ...) are renamed to libdevice's (__nv_expf ...), and libdevice.10.bc is linked when
 * any is used; bf16 conversions get small IR bodies here. The emitter's column-reduction
 * tiles (a 16-32 KiB stack array) are switched off: on a GPU that would be local memory
 * reserved for every resident thread. With a cache directory (jx_jit_opts.cache_dir, as
 * for the CPU) a module's PTX is kept on disk, keyed by its unoptimised IR, the target
 * and libdevice (objcache.c); the driver caches what it compiles from PTX for the
 * device's architecture in its own cache (~/.nv/ComputeCache). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <llvm/Config/llvm-config.h>

#include "../cpu/codegen.h"
#include "../objcache.h"
#include "cuda.h"

typedef struct cuda_kernel {
    jx__kernel base;   /* the CPU emitter's record: name, size, identity_in, esize */
    char gname[48];    /* the wrapper kernel's name */
    CUfunction fn;
} cuda_kernel;

struct jx__cuda_module {
    int opt_level;
    char *cache_dir; /* the on-disk PTX cache, NULL for none */
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    cuda_kernel **kernels;
    int n, cap;
    char *ptx;
    CUmodule cumod;
    bool loaded;
};

static pthread_mutex_t tm_mu = PTHREAD_MUTEX_INITIALIZER;
static LLVMTargetMachineRef tm;
static char *tm_layout;
static atomic_llong cache_hits, cache_stores;
static const char *const TRIPLE = "nvptx64-nvidia-cuda";

const char *jx__cuda_libdevice_path(void) {
    const char *e = getenv("JX_LIBDEVICE");
    return e && *e ? e : JX_CUDA_LIBDEVICE;
}

/* The NVPTX target machine (sm_80, PTX 7.5), made once. Under tm_mu. */
static bool target(void) {
    if (tm) return true;
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    LLVMTargetRef t = NULL;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(TRIPLE, &t, &err)) {
        jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "cuda", "LLVM has no NVPTX target: %s", err ? err : "?");
        LLVMDisposeMessage(err);
        return false;
    }
    tm = LLVMCreateTargetMachine(t, TRIPLE, "sm_80", "+ptx75", LLVMCodeGenLevelDefault, LLVMRelocDefault,
                                 LLVMCodeModelDefault);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    tm_layout = LLVMCopyStringRepOfTargetData(td);
    LLVMDisposeTargetData(td);
    return true;
}

jx__cuda_module *jx__cuda_module_new(int opt_level) {
    pthread_mutex_lock(&tm_mu);
    bool ok = target();
    pthread_mutex_unlock(&tm_mu);
    if (!ok) return NULL;
    jx__cuda_module *m = calloc(1, sizeof *m);
    if (!m) return jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory"), NULL;
    m->opt_level = opt_level < 1 ? 1 : opt_level;
    m->ctx = LLVMContextCreate();
    m->mod = LLVMModuleCreateWithNameInContext("jx_cuda", m->ctx);
    LLVMSetTarget(m->mod, TRIPLE);
    LLVMSetDataLayout(m->mod, tm_layout);
    return m;
}

static LLVMValueRef sreg(LLVMModuleRef mod, LLVMBuilderRef b, LLVMContextRef ctx, const char *name) {
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx), ft = LLVMFunctionType(i32, NULL, 0, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(mod, name);
    if (!fn) fn = LLVMAddFunction(mod, name, ft);
    return LLVMBuildZExt(b, LLVMBuildCall2(b, ft, fn, NULL, 0, ""), LLVMInt64TypeInContext(ctx), "");
}

/* k_g(p0 .. pn-1, size): for (i = global id; i < size; i += grid) k(bufs, i, i + 1). */
static void add_wrapper(jx__cuda_module *m, cuda_kernel *k, int nbufs) {
    LLVMContextRef ctx = m->ctx;
    LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(ctx), 0), i64 = LLVMInt64TypeInContext(ctx);
    LLVMValueRef inner = LLVMGetNamedFunction(m->mod, k->base.name);
    LLVMSetLinkage(inner, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(inner, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("alwaysinline", 12), 0));
    LLVMTypeRef *pt = malloc(sizeof *pt * (size_t)(nbufs + 1));
    for (int i = 0; i < nbufs; i++) pt[i] = i8p;
    pt[nbufs] = i64;
    LLVMValueRef fn = LLVMAddFunction(m->mod, k->gname, LLVMFunctionType(LLVMVoidTypeInContext(ctx), pt, (unsigned)nbufs + 1, 0));
    free(pt);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry"),
                      loop = LLVMAppendBasicBlockInContext(ctx, fn, "loop"),
                      done = LLVMAppendBasicBlockInContext(ctx, fn, "done");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMTypeRef at = LLVMArrayType(i8p, (unsigned)(nbufs ? nbufs : 1));
    LLVMValueRef arr = LLVMBuildAlloca(b, at, "bufs");
    LLVMValueRef zero = LLVMConstInt(i64, 0, 0);
    for (int i = 0; i < nbufs; i++) {
        LLVMValueRef idx[2] = {zero, LLVMConstInt(i64, (unsigned long long)i, 0)};
        LLVMBuildStore(b, LLVMGetParam(fn, (unsigned)i), LLVMBuildInBoundsGEP2(b, at, arr, idx, 2, ""));
    }
    LLVMValueRef bufs = LLVMBuildBitCast(b, arr, LLVMPointerType(i8p, 0), "");
    LLVMValueRef tid = sreg(m->mod, b, ctx, "llvm.nvvm.read.ptx.sreg.tid.x");
    LLVMValueRef ntid = sreg(m->mod, b, ctx, "llvm.nvvm.read.ptx.sreg.ntid.x");
    LLVMValueRef cta = sreg(m->mod, b, ctx, "llvm.nvvm.read.ptx.sreg.ctaid.x");
    LLVMValueRef ncta = sreg(m->mod, b, ctx, "llvm.nvvm.read.ptx.sreg.nctaid.x");
    LLVMValueRef first = LLVMBuildAdd(b, LLVMBuildMul(b, cta, ntid, ""), tid, "");
    LLVMValueRef stride = LLVMBuildMul(b, ncta, ntid, ""), size = LLVMGetParam(fn, (unsigned)nbufs);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, first, size, ""), loop, done);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
    LLVMValueRef next = LLVMBuildAdd(b, i, LLVMConstInt(i64, 1, 0), "");
    LLVMValueRef args[3] = {bufs, i, next};
    LLVMBuildCall2(b, LLVMGlobalGetValueType(inner), inner, args, 3, "");
    LLVMValueRef i2 = LLVMBuildAdd(b, i, stride, "");
    LLVMValueRef phi_v[2] = {first, i2};
    LLVMBasicBlockRef phi_b[2] = {entry, loop};
    LLVMAddIncoming(i, phi_v, phi_b, 2);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, i2, size, ""), loop, done);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    LLVMValueRef md[3] = {fn, LLVMMDStringInContext(ctx, "kernel", 6), LLVMConstInt(LLVMInt32TypeInContext(ctx), 1, 0)};
    LLVMAddNamedMetadataOperand(m->mod, "nvvm.annotations", LLVMMDNodeInContext(ctx, md, 3));
}

static jx_status libdevice_check(jx__cuda_module *m, const char *kname);

jx__kernel *jx__cuda_kernel_add(jx__cuda_module *m, const jx_fn *f, const jx__group *g) {
    if (m->ptx) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "kernel added to a compiled module"), NULL;
    cuda_kernel *k = calloc(1, sizeof *k);
    cuda_kernel **ks = m->n < m->cap ? m->kernels : realloc(m->kernels, sizeof *ks * (size_t)(m->cap = 2 * m->cap + 8));
    if (ks) m->kernels = ks;
    if (k) k->base.identity_in = calloc((size_t)g->nin + 1, sizeof(bool));
    if (k) k->base.esize = calloc((size_t)(g->nin + g->nout) + 1, 1);
    if (!k || !ks || !k->base.identity_in || !k->base.esize) {
        if (k) free(k->base.identity_in), free(k->base.esize);
        free(k);
        return jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory"), NULL;
    }
    /* names need only be unique in the module (a CUmodule of its own), and the same for
     * the same kernels, so that the PTX cache's key is the content */
    snprintf(k->base.name, sizeof k->base.name, "jx_c%d", m->n);
    snprintf(k->gname, sizeof k->gname, "jx_c%d_g", m->n);
    k->base.nin = g->nin;
    k->base.nout = g->nout;
    k->base.no_col_tiles = true;
    if (jx__cg_emit_kernel(m->ctx, m->mod, f, g, &k->base) != JX_OK) {
        free(k->base.identity_in);
        free(k->base.esize);
        free(k);
        return NULL;
    }
    if (libdevice_check(m, k->base.name) != JX_OK) {
        free(k->base.identity_in);
        free(k->base.esize);
        free(k);
        return NULL;
    }
    add_wrapper(m, k, g->nin + g->nout);
    m->kernels[m->n++] = k;
    return &k->base;
}

/* ------------------------------------------------------------------ math: libdevice */

/* bf16 <-> f32 as IR bodies (libdevice has none), the same bits as jx_f32_to_bf16. */
static void define_bf16(jx__cuda_module *m, LLVMValueRef fn, bool to_f32) {
    LLVMContextRef ctx = m->ctx;
    LLVMTypeRef i16 = LLVMInt16TypeInContext(ctx), i32 = LLVMInt32TypeInContext(ctx), f32 = LLVMFloatTypeInContext(ctx);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMValueRef x = LLVMGetParam(fn, 0);
    if (to_f32) {
        LLVMValueRef w = LLVMBuildShl(b, LLVMBuildZExt(b, x, i32, ""), LLVMConstInt(i32, 16, 0), "");
        LLVMBuildRet(b, LLVMBuildBitCast(b, w, f32, ""));
    } else {
        LLVMValueRef u = LLVMBuildBitCast(b, x, i32, "");
        LLVMValueRef nan = LLVMBuildICmp(b, LLVMIntUGT, LLVMBuildAnd(b, u, LLVMConstInt(i32, 0x7fffffff, 0), ""),
                                         LLVMConstInt(i32, 0x7f800000, 0), "");
        LLVMValueRef hi = LLVMBuildLShr(b, u, LLVMConstInt(i32, 16, 0), "");
        LLVMValueRef qnan = LLVMBuildOr(b, hi, LLVMConstInt(i32, 0x40, 0), "");
        LLVMValueRef lsb = LLVMBuildAnd(b, hi, LLVMConstInt(i32, 1, 0), "");
        LLVMValueRef r = LLVMBuildAdd(b, u, LLVMBuildAdd(b, LLVMConstInt(i32, 0x7fff, 0), lsb, ""), "");
        r = LLVMBuildLShr(b, r, LLVMConstInt(i32, 16, 0), "");
        LLVMBuildRet(b, LLVMBuildTrunc(b, LLVMBuildSelect(b, nan, qnan, r, ""), i16, ""));
    }
    LLVMDisposeBuilder(b);
}

/* libdevice's name for the emitter's helper jx_cg_<base> (__nv_expf for expf), or NULL
 * for the bf16 conversions, which get IR bodies here. */
static const char *nv_name(const char *base, char *nv, size_t n) {
    if (!strcmp(base, "bf16_to_f32") || !strcmp(base, "f32_to_bf16")) return NULL;
    if (!strcmp(base, "f16_to_f32")) snprintf(nv, n, "__nv_half2float");
    else if (!strcmp(base, "f32_to_f16")) snprintf(nv, n, "__nv_float2half_rn");
    else snprintf(nv, n, "__nv_%s", base);
    return nv;
}

/* Renames the helper declarations to libdevice's; whether any needs libdevice. */
static bool map_helpers(jx__cuda_module *m) {
    bool need = false;
    for (LLVMValueRef fn = LLVMGetFirstFunction(m->mod), nx; fn; fn = nx) {
        nx = LLVMGetNextFunction(fn);
        size_t len = 0;
        const char *name = LLVMGetValueName2(fn, &len);
        if (!LLVMIsDeclaration(fn) || strncmp(name, "jx_cg_", 6) != 0) continue;
        const char *base = name + 6;
        char nv[48];
        if (!nv_name(base, nv, sizeof nv)) {
            define_bf16(m, fn, base[0] == 'b');
            continue;
        }
        LLVMSetValueName2(fn, nv, strlen(nv));
        need = true;
    }
    return need;
}

/* libdevice is parsed once per process. The functions a module needs that no earlier
 * module needed are cut out of it together, once (those functions and what they call:
 * everything else made internal and dropped by globaldce), and kept as a piece of
 * bitcode; a module links the few pieces defining its functions instead of the whole
 * library (which cost ~0.3 s per module to link and optimise). Under ld_mu. */
static pthread_mutex_t ld_mu = PTHREAD_MUTEX_INITIALIZER;
static LLVMContextRef ld_ctx;
static LLVMModuleRef ld_mod;
enum { LD_MAX = 256 };
static struct {
    char name[48];
    int piece;
} ld_names[LD_MAX];
static LLVMMemoryBufferRef ld_pieces[LD_MAX];
static int ld_nnames, ld_npieces;

static jx_status ld_load(void) {
    if (ld_mod) return JX_OK;
    const char *path = jx__cuda_libdevice_path();
    LLVMMemoryBufferRef buf = NULL;
    char *err = NULL;
    if (LLVMCreateMemoryBufferWithContentsOfFile(path, &buf, &err)) {
        jx_status st = jx__fail(JX_ERR_IO, jx__noloc, "cuda", "cannot read libdevice %s: %s (set JX_LIBDEVICE)", path,
                                err ? err : "?");
        LLVMDisposeMessage(err);
        return st;
    }
    if (!ld_ctx) ld_ctx = LLVMContextCreate();
    bool bad = LLVMParseBitcodeInContext2(ld_ctx, buf, &ld_mod);
    LLVMDisposeMemoryBuffer(buf);
    if (bad) return ld_mod = NULL, jx__fail(JX_ERR_IO, jx__noloc, "cuda", "libdevice %s is not LLVM bitcode", path);
    LLVMSetTarget(ld_mod, TRIPLE);
    LLVMSetDataLayout(ld_mod, tm_layout);
    return JX_OK;
}

static int ld_find(const char *name) {
    for (int i = 0; i < ld_nnames; i++)
        if (!strcmp(ld_names[i].name, name)) return ld_names[i].piece;
    return -1;
}

/* Whether libdevice defines nv. Under ld_mu. */
static jx_status ld_has(const char *nv, bool *has) {
    if (ld_load() != JX_OK) return jx_errcode();
    LLVMValueRef f = LLVMGetNamedFunction(ld_mod, nv);
    *has = f && !LLVMIsDeclaration(f);
    return JX_OK;
}

/* The general rule for math on the device: a group whose helpers (jx_cg_*, declared by
 * the emitter) include one that libdevice does not define (digamma, say) is declined,
 * and the plan runs it on the host. Its function and the declarations only it used are
 * taken out of the module again, so the module stays valid for the groups after it. */
static jx_status libdevice_check(jx__cuda_module *m, const char *kname) {
    char missing[48] = "";
    jx_status st = JX_OK;
    pthread_mutex_lock(&ld_mu);
    for (LLVMValueRef fn = LLVMGetFirstFunction(m->mod); fn && st == JX_OK && !missing[0]; fn = LLVMGetNextFunction(fn)) {
        size_t len = 0;
        const char *name = LLVMGetValueName2(fn, &len);
        char nv[48];
        bool has = true;
        if (!LLVMIsDeclaration(fn) || strncmp(name, "jx_cg_", 6) != 0 || !nv_name(name + 6, nv, sizeof nv)) continue;
        if ((st = ld_has(nv, &has)) == JX_OK && !has) snprintf(missing, sizeof missing, "%s", nv);
    }
    pthread_mutex_unlock(&ld_mu);
    if (st != JX_OK || !missing[0]) return st;
    LLVMValueRef k = LLVMGetNamedFunction(m->mod, kname);
    if (k) LLVMDeleteFunction(k);
    for (LLVMValueRef fn = LLVMGetFirstFunction(m->mod), nx; fn; fn = nx) {
        nx = LLVMGetNextFunction(fn);
        if (LLVMIsDeclaration(fn) && !LLVMGetFirstUse(fn)) LLVMDeleteFunction(fn);
    }
    return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "cuda", "libdevice has no %s: the group runs on the host", missing);
}

/* One new piece defining names[0..n) (none of them in an earlier piece). Under ld_mu. */
static jx_status ld_cut(char (*names)[48], int n) {
    if (ld_load() != JX_OK) return jx_errcode();
    if (ld_nnames + n > LD_MAX) return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "cuda", "too many libdevice functions");
    for (int i = 0; i < n; i++) {
        LLVMValueRef f = LLVMGetNamedFunction(ld_mod, names[i]);
        if (!f || LLVMIsDeclaration(f)) return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "cuda", "libdevice has no %s", names[i]);
    }
    LLVMModuleRef c = LLVMCloneModule(ld_mod);
    for (LLVMValueRef fn = LLVMGetFirstFunction(c); fn; fn = LLVMGetNextFunction(fn)) {
        size_t len = 0;
        const char *name = LLVMGetValueName2(fn, &len);
        bool wanted = false;
        for (int i = 0; i < n && !wanted; i++) wanted = !strcmp(name, names[i]);
        if (!LLVMIsDeclaration(fn) && !wanted) LLVMSetLinkage(fn, LLVMInternalLinkage);
    }
    for (LLVMValueRef gv = LLVMGetFirstGlobal(c); gv; gv = LLVMGetNextGlobal(gv))
        if (!LLVMIsDeclaration(gv)) LLVMSetLinkage(gv, LLVMInternalLinkage);
    pthread_mutex_lock(&tm_mu);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef err = LLVMRunPasses(c, "globaldce", tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    pthread_mutex_unlock(&tm_mu);
    if (err) LLVMConsumeError(err);
    ld_pieces[ld_npieces] = LLVMWriteBitcodeToMemoryBuffer(c);
    LLVMDisposeModule(c);
    for (int i = 0; i < n; i++) {
        snprintf(ld_names[ld_nnames].name, sizeof ld_names[0].name, "%.47s", names[i]);
        ld_names[ld_nnames++].piece = ld_npieces;
    }
    ld_npieces++;
    return JX_OK;
}

/* Links the libdevice functions the module declares (__nv_*); only the kernels stay
 * visible, so what they do not use is dropped. */
static jx_status link_libdevice(jx__cuda_module *m) {
    char names[64][48], fresh[64][48];
    int n = 0, nfresh = 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(m->mod); fn && n < 64; fn = LLVMGetNextFunction(fn)) {
        size_t len = 0;
        const char *name = LLVMGetValueName2(fn, &len);
        if (LLVMIsDeclaration(fn) && !strncmp(name, "__nv_", 5)) snprintf(names[n++], sizeof names[0], "%.47s", name);
    }
    pthread_mutex_lock(&ld_mu);
    for (int i = 0; i < n; i++)
        if (ld_find(names[i]) < 0) memcpy(fresh[nfresh++], names[i], sizeof names[0]);
    jx_status st = nfresh ? ld_cut(fresh, nfresh) : JX_OK;
    bool linked[LD_MAX] = {false};
    for (int i = 0; i < n && st == JX_OK; i++) {
        int p = ld_find(names[i]);
        if (linked[p]) continue;
        linked[p] = true;
        /* the cached piece stays ours: parse a view of it */
        LLVMMemoryBufferRef view = LLVMCreateMemoryBufferWithMemoryRange(
            LLVMGetBufferStart(ld_pieces[p]), LLVMGetBufferSize(ld_pieces[p]), "libdevice", 0);
        LLVMModuleRef piece = NULL;
        if (LLVMParseBitcodeInContext2(m->ctx, view, &piece) || LLVMLinkModules2(m->mod, piece))
            st = jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "linking libdevice's %s failed", names[i]);
        LLVMDisposeMemoryBuffer(view);
    }
    pthread_mutex_unlock(&ld_mu);
    for (LLVMValueRef fn = LLVMGetFirstFunction(m->mod); fn; fn = LLVMGetNextFunction(fn))
        if (!LLVMIsDeclaration(fn) && LLVMGetLinkage(fn) == LLVMExternalLinkage) {
            size_t len = 0;
            const char *name = LLVMGetValueName2(fn, &len);
            if (len < 2 || strcmp(name + len - 2, "_g") != 0) LLVMSetLinkage(fn, LLVMInternalLinkage);
        }
    for (LLVMValueRef gv = LLVMGetFirstGlobal(m->mod); gv; gv = LLVMGetNextGlobal(gv))
        if (!LLVMIsDeclaration(gv)) LLVMSetLinkage(gv, LLVMInternalLinkage);
    return st;
}

/* At exit: libdevice, its pieces and the target machine are disposed of, so leak checkers
 * see nothing of them (the CPU backend does the same for its JITs). */
__attribute__((destructor)) static void cuda_at_exit(void) {
    pthread_mutex_lock(&ld_mu);
    for (int i = 0; i < ld_npieces; i++) LLVMDisposeMemoryBuffer(ld_pieces[i]);
    ld_npieces = ld_nnames = 0;
    if (ld_mod) LLVMDisposeModule(ld_mod);
    if (ld_ctx) LLVMContextDispose(ld_ctx);
    ld_mod = NULL, ld_ctx = NULL;
    pthread_mutex_unlock(&ld_mu);
    pthread_mutex_lock(&tm_mu);
    if (tm) LLVMDisposeTargetMachine(tm);
    LLVMDisposeMessage(tm_layout);
    tm = NULL, tm_layout = NULL;
    pthread_mutex_unlock(&tm_mu);
}

/* The default pipeline (levels 1-2): the wrapper's call inlined, the index arithmetic
 * simplified and hoisted, libdevice's functions left as calls (inlining them costs more
 * compile time than it saves at run time on memory-bound kernels). default<O2> took
 * ~0.2 s more per module with libdevice linked. */
#define LIGHT                                                                                        \
    "globaldce,always-inline,function(sroa,early-cse,simplifycfg,instcombine,loop-mssa(licm),gvn," \
    "instcombine,simplifycfg),globaldce"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

jx_status jx__cuda_module_set_cache_dir(jx__cuda_module *m, const char *dir) {
    free(m->cache_dir);
    m->cache_dir = dir && *dir ? strdup(dir) : NULL;
    return dir && *dir && !m->cache_dir ? jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory") : JX_OK;
}

void jx__cuda_ptxcache_stats(int64_t *hits, int64_t *stores) {
    *hits = (int64_t)atomic_load(&cache_hits);
    *stores = (int64_t)atomic_load(&cache_stores);
}

/* The cache key of m's PTX: its unoptimised IR's bitcode (before libdevice is linked)
 * with what else decides the PTX, written into header (what a cache file must repeat):
 * jx's and LLVM's versions, the target, the optimisation level and libdevice (path,
 * size, time). */
static jx_status cache_key(jx__cuda_module *m, uint64_t key[2], char *header, size_t len) {
    const char *ld = jx__cuda_libdevice_path();
    struct stat st;
    bool have = stat(ld, &st) == 0;
    snprintf(header, len, "jx %d.%d ptxcache 2\nllvm %s\ntarget %s sm_80 +ptx75\nopt %d\nlibdevice %s %lld %lld\n",
             JX_VERSION_MAJOR, JX_VERSION_MINOR, LLVM_VERSION_STRING, TRIPLE, m->opt_level, ld,
             have ? (long long)st.st_size : -1LL, have ? (long long)st.st_mtime : -1LL);
    if (jx__cg_module_key(m->mod, header, key, NULL) != JX_OK) return jx_errcode();
    jx__objcache_key_line(header, len, key);
    return JX_OK;
}

/* m's PTX from the disk cache (NUL-terminated, in m->ptx); false when there is none. */
static bool cache_load(jx__cuda_module *m, const uint64_t key[2], const char *header) {
    void *bytes = NULL;
    size_t size = 0;
    if (!jx__objcache_load(m->cache_dir, key, header, &bytes, &size)) return false;
    char *ptx = size && ((char *)bytes)[size - 1] == 0 ? bytes : NULL; /* stored with its NUL */
    if (!ptx) {
        free(bytes);
        return false;
    }
    m->ptx = ptx;
    atomic_fetch_add(&cache_hits, 1);
    return true;
}

/* Stores m's PTX; a failure costs a warning (once), never the compile. */
static void cache_store(jx__cuda_module *m, const uint64_t key[2], const char *header) {
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    if (jx__objcache_store(m->cache_dir, key, header, m->ptx, strlen(m->ptx) + 1) == 0)
        atomic_fetch_add(&cache_stores, 1);
    else if (!atomic_flag_test_and_set(&warned))
        fprintf(stderr, "jx: warning: cannot write the jit cache in %s (%s); compiling without it\n", m->cache_dir,
                strerror(errno));
}

static const char *generate_ptx(jx__cuda_module *m);

const char *jx__cuda_module_ptx(jx__cuda_module *m, double *ms) {
    if (m->ptx) return m->ptx;
    double t0 = now_ms();
    uint64_t key[2];
    char header[1024];
    bool cached = m->cache_dir && !(jx__dump_flags() & JX__DUMP_ASM);
    if (cached && cache_key(m, key, header, sizeof header) != JX_OK) return NULL;
    if (!(cached && cache_load(m, key, header))) {
        if (!generate_ptx(m)) return NULL;
        if (cached) cache_store(m, key, header);
    }
    if (ms) *ms = now_ms() - t0;
    return m->ptx;
}

/* Optimises m, links libdevice where it is used and emits the PTX into m->ptx. */
static const char *generate_ptx(jx__cuda_module *m) {
    LLVMAddModuleFlag(m->mod, LLVMModuleFlagBehaviorOverride, "nvvm-reflect-ftz", 15,
                      LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(m->ctx), 0, 0)));
    if (map_helpers(m) && link_libdevice(m) != JX_OK) return NULL;
    char *msg = NULL;
    if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
        jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "generated code is invalid: %s", msg);
        LLVMDisposeMessage(msg);
        return NULL;
    }
    LLVMDisposeMessage(msg);
    pthread_mutex_lock(&tm_mu);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 0);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, 0);
    LLVMErrorRef err = LLVMRunPasses(m->mod, m->opt_level >= 3 ? "globaldce,default<O3>" : LIGHT, tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    LLVMMemoryBufferRef out = NULL;
    char *cgerr = NULL;
    bool failed = err != NULL || LLVMTargetMachineEmitToMemoryBuffer(tm, m->mod, LLVMAssemblyFile, &cgerr, &out);
    pthread_mutex_unlock(&tm_mu);
    if (err) {
        char *s = LLVMGetErrorMessage(err);
        jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "optimising kernels: %s", s);
        LLVMDisposeErrorMessage(s);
        return NULL;
    }
    if (failed) {
        jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "generating PTX: %s", cgerr ? cgerr : "?");
        LLVMDisposeMessage(cgerr);
        return NULL;
    }
    size_t n = LLVMGetBufferSize(out);
    m->ptx = malloc(n + 1);
    if (m->ptx) memcpy(m->ptx, LLVMGetBufferStart(out), n), m->ptx[n] = 0;
    LLVMDisposeMemoryBuffer(out);
    if (!m->ptx) return jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory"), NULL;
    if (jx__dump_flags() & JX__DUMP_ASM) {
        FILE *o = jx__dump_open("kernels", "ptx");
        fputs(m->ptx, o);
        jx__dump_close(o);
    }
    return m->ptx;
}

jx_status jx__cuda_module_compile(jx__cuda_module *m) {
    if (m->loaded) return JX_OK;
    const jx__cu_dev *d = jx__cu_get();
    if (!d || !jx__cuda_module_ptx(m, NULL)) return jx_errcode();
    char log[4096] = "";
    CUjit_option o[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *v[2] = {log, (void *)(uintptr_t)sizeof log};
    CUresult r = d->api->ModuleLoadDataEx(&m->cumod, m->ptx, 2, o, v);
    if (r != CUDA_SUCCESS) {
        jx__cu_fail(r, jx__noloc, "loading the kernels' PTX");
        return jx__fail(jx_errcode(), jx__noloc, "cuda", "%s: %s", jx_errmsg(), log);
    }
    m->loaded = true;
    for (int i = 0; i < m->n; i++)
        if ((r = d->api->ModuleGetFunction(&m->kernels[i]->fn, m->cumod, m->kernels[i]->gname)) != CUDA_SUCCESS)
            return jx__cu_fail(r, jx__noloc, m->kernels[i]->gname);
    return JX_OK;
}

void jx__cuda_module_free(jx__cuda_module *m) {
    if (!m) return;
    if (m->loaded) {
        const jx__cu_dev *d = jx__cu_get();
        if (d) d->api->ModuleUnload(m->cumod);
        else jx_clear_error();
    }
    if (m->mod) LLVMDisposeModule(m->mod);
    if (m->ctx) LLVMContextDispose(m->ctx);
    for (int i = 0; i < m->n; i++) {
        free(m->kernels[i]->base.identity_in);
        free(m->kernels[i]->base.esize);
        free(m->kernels[i]);
    }
    free(m->kernels);
    free(m->ptx);
    free(m->cache_dir);
    free(m);
}

int64_t jx__cuda_kernel_size(const jx__kernel *k) { return k->size; }

jx_status jx__cuda_kernel_launch(const jx__kernel *kb, const CUdeviceptr *bufs) {
    const cuda_kernel *k = (const cuda_kernel *)kb;
    int64_t n = k->base.size;
    if (n <= 0) return JX_OK;
    const jx__cu_dev *d = jx__cu_get();
    if (!d) return jx_errcode();
    int nb = k->base.nin + k->base.nout;
    void *pb[34], **params = nb < 33 ? pb : malloc(sizeof *params * (size_t)(nb + 1));
    if (!params) return jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory");
    for (int i = 0; i < nb; i++) params[i] = (void *)&bufs[i];
    params[nb] = &n;
    enum { BLOCK = 256 };
    int64_t blocks = (n + BLOCK - 1) / BLOCK, most = (int64_t)d->sms * 32;
    CUresult r = d->api->LaunchKernel(k->fn, (unsigned)(blocks < most ? blocks : most), 1, 1, BLOCK, 1, 1, 0,
                                      d->stream, params, NULL);
    if (params != pb) free(params);
    return r == CUDA_SUCCESS ? JX_OK : jx__cu_fail(r, jx__noloc, k->gname);
}
