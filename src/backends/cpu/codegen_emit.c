/* codegen_emit.c: from a module's IR to object code for the JIT: the verifier, the pass
 * pipeline of each optimisation level, the code generator, the JX_DUMP=llvm/asm dumps of
 * the optimised module, and the split of a big module into parts compiled on several
 * threads at once.
 *
 * Level 2 (the default) runs a short pipeline made for these kernels instead of
 * default<O2>: promote the allocas, simplify, hoist the index arithmetic out of the
 * loops, rotate them, vectorise the inner loop, clean up. It compiles 2-3x faster
 * (default<O2> spends most of its time in the inliner's walk, and its unrolling makes
 * the code generator's input twice as big) and the kernels run as fast
 * (bench/jit_elementwise, bench/jit_compile). Level 1 is the same without vectorising;
 * level 3 is default<O3> with loop vectorisation, SLP and unrolling switched on (loop
 * interleaving is off at every level: JX__CG_LLVM_OPTIONS). No fast-math flags: results are the interpreter's, and the same whatever
 * the vector width or the split of the range.
 *
 * Splitting: the code generator (instruction selection, scheduling, register
 * allocation) takes about two thirds of a compile, the optimiser the rest, and both work
 * function by function. A kernel is a function that calls only declarations, so a part
 * is the module's bitcode (the one its content key was hashed from, codegen.c) read into
 * a context of its own with the other parts' kernels deleted, optimised and emitted on a
 * thread with target machines of its own (a compile slot, codegen_host.c). Optimised
 * kernels go to parts by their instruction count, largest first into the lightest part;
 * those left unoptimised stay in the module itself, compiled by the first part's thread
 * to finish (per instruction they cost a tenth to a twentieth as much: counted with the
 * others they unbalanced the parts, and as a last job they even out what the counts
 * misjudge). A kernel's machine code does not depend on its part, so any split gives
 * the same results; small modules (the bitcode round trip and a thread cost more than
 * they save) and dumped ones are compiled whole on the calling thread.
 *
 * Kernels left unoptimised (optnone) go through the code generator of level 0, in an
 * object of their own: same instructions, a register allocator that costs less
 * (build_module). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen.h"
#include "../objcache.h"

/* A part is worth a thread from this many instructions of unoptimised IR on (about 16 KB
 * printed; bench/jit_compile: the MLP step gains from 2 threads, a 90-instruction kernel
 * loses), those of the kernels left unoptimised included (counted as a sixteenth, the
 * MLP step's were too few: it was compiled whole, in 19-21 ms against 13-14). */
enum { PART_MIN_WEIGHT = 360 };

static atomic_llong split_modules, split_parts;

void jx__cpu_split_stats(int64_t *modules, int64_t *parts) {
    *modules = (int64_t)atomic_load(&split_modules);
    *parts = (int64_t)atomic_load(&split_parts);
}

jx_status jx__cg_module_key(LLVMModuleRef mod, const char *header, uint64_t key[2], LLVMMemoryBufferRef *bitcode) {
    LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(mod);
    if (!bc) return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
    key[0] = key[1] = 0;
    jx__hash128(key, header, strlen(header));
    jx__hash128(key, LLVMGetBufferStart(bc), LLVMGetBufferSize(bc));
    if (bitcode) *bitcode = bc;
    else LLVMDisposeMemoryBuffer(bc);
    return JX_OK;
}

const char *jx__cg_pipeline(int opt_level) {
    static const char *const pipelines[4] = {
        "default<O0>",
        "function(sroa,early-cse,simplifycfg,instcombine,loop-mssa(licm),simplifycfg)",
        /* no indvars: the vectoriser finds the same 92 loops of mnist_cnn's step without
         * it, and a compile takes 12% less (docs/jit.md, "Compile time") */
        ("function(sroa,early-cse,simplifycfg,instcombine,loop-mssa(licm,loop-rotate),simplifycfg,"
         "instcombine,loop-vectorize,slp-vectorizer,instcombine,simplifycfg,loop-mssa(licm))"),
        "default<O3>",
    };
    return pipelines[opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level];
}

/* Runs level's pipeline on mod with tm's cost model; false with the message in err. */
static bool optimise(LLVMModuleRef mod, int level, LLVMTargetMachineRef tm, char *err, size_t len) {
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, level >= 2);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, level >= 2);
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, level >= 2);
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, level >= 2);
    LLVMErrorRef e = LLVMRunPasses(mod, jx__cg_pipeline(level), tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (!e) return true;
    char *msg = LLVMGetErrorMessage(e);
    snprintf(err, len, "optimising kernels: %s", msg);
    LLVMDisposeErrorMessage(msg);
    return false;
}

/* The object code of mod in *obj; false with the message in err. */
static bool emit_object(LLVMModuleRef mod, LLVMTargetMachineRef tm, LLVMMemoryBufferRef *obj, char *err, size_t len) {
    char *msg = NULL;
    if (!LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, obj)) return true;
    snprintf(err, len, "emitting the kernels' code: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return false;
}

/* JX_DUMP=llvm / asm: the optimised kernels (mods[0]) and those left unoptimised
 * (mods[1]), either NULL where there are none, each emitted by its own code generator
 * (tms[i]), into one file per kind. */
static void dump(LLVMModuleRef mods[2], LLVMTargetMachineRef tms[2]) {
    unsigned flags = jx__dump_flags();
    if (flags & JX__DUMP_LLVM) {
        FILE *out = jx__dump_open("kernels", "llvm");
        for (int i = 0; i < 2; i++) {
            char *s = mods[i] ? LLVMPrintModuleToString(mods[i]) : NULL;
            if (s) fputs(s, out);
            LLVMDisposeMessage(s);
        }
        jx__dump_close(out);
    }
    if (flags & JX__DUMP_ASM) {
        FILE *out = jx__dump_open("kernels", "asm");
        for (int i = 0; i < 2; i++) {
            if (!mods[i]) continue;
            LLVMModuleRef copy = LLVMCloneModule(mods[i]); /* code generation changes the IR it runs on */
            LLVMMemoryBufferRef buf = NULL;
            char *err = NULL;
            if (!LLVMTargetMachineEmitToMemoryBuffer(tms[i], copy, LLVMAssemblyFile, &err, &buf)) {
                fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), out);
                LLVMDisposeMemoryBuffer(buf);
            }
            LLVMDisposeMessage(err);
            LLVMDisposeModule(copy);
        }
        jx__dump_close(out);
    }
}

/* The kernels left unoptimised, when a module is split: the module itself, its other
 * kernels deleted, compiled by the first part's thread to finish (they take a few
 * percent of a compile, and so even out the parts' misjudged weights). */
typedef struct rest {
    LLVMModuleRef mod; /* NULL: none */
    atomic_flag taken;
    LLVMMemoryBufferRef obj[2];
    bool ok;
    char err[512];
} rest;

typedef struct part {
    LLVMMemoryBufferRef bitcode; /* the whole module's, shared read-only, */
    const char *const *bcnames;  /* every kernel under its name there, */
    const char *const *names;    /* the name it gets, */
    const int *owner;            /* and the part it belongs to (-1: rest's) */
    int n, me, level;
    LLVMTargetMachineRef opt, emit, emit0; /* this part's slot's; emit0 of level 0 */
    LLVMMemoryBufferRef obj[2];            /* the results (either may be NULL), */
    bool ok;
    char err[512]; /* or why not */
    rest *rest;
} part;

/* Whether fn is a kernel left unoptimised (optnone, codegen.c). */
static bool unoptimised(LLVMValueRef fn) {
    unsigned kind = LLVMGetEnumAttributeKindForName("optnone", 7);
    return LLVMGetEnumAttributeAtIndex(fn, LLVMAttributeFunctionIndex, kind) != NULL;
}

/* Deletes mod's kernels (its function definitions) but those that are left unoptimised
 * (unopt) or those that are not. */
static void keep_kernels(LLVMModuleRef mod, bool unopt) {
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod), next; fn; fn = next) {
        next = LLVMGetNextFunction(fn);
        if (!LLVMIsDeclaration(fn) && unoptimised(fn) != unopt) LLVMDeleteFunction(fn);
    }
}

/* Verifies mod, optimises its kernels and emits them with `emit` into obj[0], but those left
 * unoptimised, which go into obj[1] through the code generator of level 0 (emit0: its
 * fast register allocator and no machine-code optimisations; instructions are selected
 * alike, FastISel for an optnone function at any level, so the results are the same
 * bits). Either object is NULL where it has no kernel; dumped first if `dumped`; false
 * with the message in err. mod stays the caller's. */
static bool build_module(LLVMModuleRef mod, int level, LLVMTargetMachineRef opt, LLVMTargetMachineRef emit,
                         LLVMTargetMachineRef emit0, bool dumped, LLVMMemoryBufferRef obj[2], char *err,
                         size_t len) {
    char *msg = NULL;
    bool invalid = LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg);
    if (invalid) snprintf(err, len, "generated code is invalid: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    if (invalid) return false;
    int nopt = 0, nunopt = 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod); fn; fn = LLVMGetNextFunction(fn))
        if (!LLVMIsDeclaration(fn)) unoptimised(fn) ? nunopt++ : nopt++;
    obj[0] = obj[1] = NULL;
    LLVMModuleRef mods[2] = {mod, NULL}; /* the optimised kernels', the unoptimised ones' */
    if (nunopt && !nopt) {
        mods[0] = NULL, mods[1] = mod; /* no pass touches optnone: nothing to optimise */
    } else if (nunopt) {
        if (!(mods[1] = LLVMCloneModule(mod))) return snprintf(err, len, "out of memory"), false;
        keep_kernels(mods[1], true);
        keep_kernels(mod, false);
    }
    bool ok = !mods[0] || optimise(mods[0], level, opt, err, len);
    if (ok && dumped) dump(mods, (LLVMTargetMachineRef[]){opt, emit0});
    for (int i = 0; ok && i < 2; i++)
        if (mods[i]) ok = emit_object(mods[i], i ? emit0 : emit, &obj[i], err, len);
    if (mods[1] && mods[1] != mod) LLVMDisposeModule(mods[1]);
    return ok;
}

/* Part p->me: the bitcode read into a context of its own, the other kernels deleted,
 * its own renamed; then rest's kernels if no other part has taken them. */
static void *compile_part(void *arg) {
    part *p = arg;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = NULL;
    if (LLVMParseBitcodeInContext2(ctx, p->bitcode, &mod)) {
        snprintf(p->err, sizeof p->err, "reading the kernels' bitcode back");
    } else {
        for (int i = 0; i < p->n; i++) {
            LLVMValueRef fn = LLVMGetNamedFunction(mod, p->bcnames[i]);
            if (!fn) continue;
            if (p->owner[i] != p->me) LLVMDeleteFunction(fn);
            else LLVMSetValueName2(fn, p->names[i], strlen(p->names[i]));
        }
        p->ok = build_module(mod, p->level, p->opt, p->emit, p->emit0, false, p->obj, p->err, sizeof p->err);
        LLVMDisposeModule(mod);
    }
    LLVMContextDispose(ctx);
    rest *r = p->rest;
    if (r->mod && !atomic_flag_test_and_set(&r->taken))
        r->ok = build_module(r->mod, p->level, p->opt, p->emit, p->emit0, false, r->obj, r->err, sizeof r->err);
    return NULL;
}

/* owner[i]: the part of kernel i, largest kernels first into the lightest of np parts,
 * but for the kernels whose owner is -1 already (they stay the rest's). */
static void split(const size_t *weights, int n, int np, int *owner, int *order) {
    size_t load[JX__CG_SLOTS] = {0};
    int m = 0;
    for (int i = 0; i < n; i++) { /* order: indices by weight, largest first (stable) */
        if (owner[i] < 0) continue;
        int j = m++;
        while (j > 0 && weights[order[j - 1]] < weights[i]) order[j] = order[j - 1], j--;
        order[j] = i;
    }
    for (int r = 0; r < m; r++) {
        int best = 0;
        for (int p = 1; p < np; p++)
            if (load[p] < load[best]) best = p;
        owner[order[r]] = best;
        load[best] += weights[order[r]];
    }
}

/* The module on this thread, in one or two objects (build_module), dumped if asked. */
static jx_status build_whole(LLVMModuleRef mod, int level, LLVMMemoryBufferRef obj[2]) {
    LLVMTargetMachineRef opt, em, opt0, em0;
    jx_status st = jx__cg_host_slot(0, level, &opt, &em);
    if (st == JX_OK) st = jx__cg_host_slot(0, 0, &opt0, &em0);
    if (st != JX_OK) return st;
    char err[512];
    bool dumped = jx__dump_flags() & (JX__DUMP_LLVM | JX__DUMP_ASM);
    if (!build_module(mod, level, opt, em, em0, dumped, obj, err, sizeof err)) {
        for (int i = 0; i < 2; i++)
            if (obj[i]) LLVMDisposeMemoryBuffer(obj[i]);
        return jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "%s", err);
    }
    return JX_OK;
}

/* Moves the non-NULL objects of got[0..n) to objs, counting them in *nobjs. */
static void gather(LLVMMemoryBufferRef *got, int n, LLVMMemoryBufferRef *objs, int *nobjs) {
    for (int i = 0; i < n; i++)
        if (got[i]) objs[(*nobjs)++] = got[i];
}

/* Parts 1.. on threads of their own (on this one where a thread cannot start), part 0
 * here, the rest on whichever finishes first; then every result or the first failure. */
static jx_status build_parts(part *parts, int np, rest *r) {
    pthread_t th[JX__CG_SLOTS];
    bool started[JX__CG_SLOTS] = {false};
    for (int p = 1; p < np; p++) started[p] = pthread_create(&th[p], NULL, compile_part, &parts[p]) == 0;
    compile_part(&parts[0]);
    for (int p = 1; p < np; p++) {
        if (started[p]) pthread_join(th[p], NULL);
        else compile_part(&parts[p]);
    }
    for (int p = 0; p < np; p++)
        if (!parts[p].ok) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "%s", parts[p].err);
    if (r->mod && !r->ok) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "%s", r->err);
    return JX_OK;
}

jx_status jx__cg_build_objects(LLVMModuleRef mod, LLVMMemoryBufferRef bitcode, int level, int nthreads,
                               const char *const *names, const char *const *bcnames, const size_t *weights, int n,
                               LLVMMemoryBufferRef *objs, int *nobjs) {
    *nobjs = 0;
    int *owner = malloc(sizeof *owner * (size_t)n * 2 + 1);
    if (!owner) return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
    size_t total = 0;
    int nopt = 0, nunopt = 0;
    for (int i = 0; i < n; i++) {
        total += weights[i];
        owner[i] = unoptimised(LLVMGetNamedFunction(mod, names[i])) ? -1 : 0;
        owner[i] < 0 ? nunopt++ : nopt++;
    }
    int np = nthreads < JX__CG_SLOTS ? nthreads : JX__CG_SLOTS;
    if (np > nopt) np = nopt;
    if ((size_t)np > total / PART_MIN_WEIGHT) np = (int)(total / PART_MIN_WEIGHT);
    if (jx__dump_flags() & (JX__DUMP_LLVM | JX__DUMP_ASM)) np = 1;
    if (np <= 1) {
        free(owner);
        LLVMMemoryBufferRef got[2];
        jx_status st = build_whole(mod, level, got);
        if (st == JX_OK) gather(got, 2, objs, nobjs);
        return st;
    }
    split(weights, n, np, owner, owner + n);
    jx_status st = JX_OK;
    rest r = {.mod = nunopt ? mod : NULL, .taken = ATOMIC_FLAG_INIT};
    part parts[JX__CG_SLOTS];
    memset(parts, 0, sizeof parts);
    for (int p = 0; p < np && st == JX_OK; p++) {
        LLVMTargetMachineRef opt0;
        parts[p] = (part){.bitcode = bitcode,
                          .bcnames = bcnames,
                          .names = names,
                          .owner = owner,
                          .n = n,
                          .me = p,
                          .level = level,
                          .rest = &r};
        st = jx__cg_host_slot(p, level, &parts[p].opt, &parts[p].emit);
        if (st == JX_OK) st = jx__cg_host_slot(p, 0, &opt0, &parts[p].emit0);
    }
    if (st == JX_OK) {
        keep_kernels(mod, true); /* the rest (the parts read the bitcode, not mod) */
        st = build_parts(parts, np, &r);
    }
    for (int p = 0; p <= np; p++) {
        LLVMMemoryBufferRef *got = p < np ? parts[p].obj : r.obj;
        if (st == JX_OK) gather(got, 2, objs, nobjs);
        else
            for (int i = 0; i < 2; i++)
                if (got[i]) LLVMDisposeMemoryBuffer(got[i]);
    }
    if (st == JX_OK) {
        atomic_fetch_add(&split_modules, 1);
        atomic_fetch_add(&split_parts, np);
    }
    free(owner);
    return st;
}
