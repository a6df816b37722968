/* codegen_host.c: what the CPU code generator makes once per process, lazily and
 * thread-safely: LLVM's native target, the host CPU's name and features, the target
 * machine the optimiser uses (its subtarget, costly to build, is then built once), and
 * one ORC LLJIT per code generation level, each with the kernels' helper symbols and
 * the process's own symbols defined in its main JITDylib. Modules add their code under
 * resource trackers of their own (codegen.c) and remove it when freed.
 *
 * LLVM's command-line options are set once, here, to JX__CG_LLVM_OPTIONS (codegen.h).
 *
 * Target machines are not thread-safe, so optimisation, code generation and code
 * removal run under one lock, and a compile split over threads gives each thread its
 * own machines (a "slot"). At exit the JITs are disposed when no module still holds
 * code in them (ASan and valgrind then see nothing of them); otherwise they stay
 * reachable from here. */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "codegen.h"

static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t host_mu = PTHREAD_MUTEX_INITIALIZER;
static jx__cg_host host;
static bool host_ok, host_gone;
static char host_err[256];
static LLVMOrcLLJITRef jits[4]; /* per code generation level, made on first use */
/* Per compile slot (a thread of jx__cg_build_objects): a machine for the optimiser's
 * cost model (slot 0's is host.tm) and machines like the JITs', for emitting objects. */
static LLVMTargetMachineRef opt_tms[JX__CG_SLOTS];
static LLVMTargetMachineRef emit_tms[JX__CG_SLOTS][4];
static long live_trackers;      /* trackers handed out and not yet released */
static unsigned long long next_id;

jx_status jx__cg_llvm_fail(LLVMErrorRef err, const char *what) {
    char *msg = LLVMGetErrorMessage(err);
    jx_status st = jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "%s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return st;
}

static const LLVMCodeGenOptLevel levels[4] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess, LLVMCodeGenLevelDefault,
                                              LLVMCodeGenLevelAggressive};

/* A target machine for the host at code generation level `level` (0-3); NULL with
 * host_err set. */
static LLVMTargetMachineRef host_machine(int level) {
    LLVMTargetRef target;
    char *err = NULL;
    LLVMTargetMachineRef tm = NULL;
    if (!LLVMGetTargetFromTriple(host.triple, &target, &err))
        tm = LLVMCreateTargetMachine(target, host.triple, host.cpu, host.features, levels[level], LLVMRelocDefault,
                                     LLVMCodeModelJITDefault);
    else
        snprintf(host_err, sizeof host_err, "no LLVM target for %s: %s", host.triple, err ? err : "?");
    LLVMDisposeMessage(err);
    return tm;
}

static void host_init(void) {
    if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter()) {
        snprintf(host_err, sizeof host_err, "LLVM's native target is not available");
        return;
    }
    static char words[] = JX__CG_LLVM_OPTIONS; /* split on spaces into argv */
    const char *argv[8] = {"jx"};
    int argc = 1;
    char *save = NULL;
    for (char *w = strtok_r(words, " ", &save); w && argc < 8; w = strtok_r(NULL, " ", &save)) argv[argc++] = w;
    LLVMParseCommandLineOptions(argc, argv, "");
    host.cpu = LLVMGetHostCPUName();
    host.features = LLVMGetHostCPUFeatures();
    host.triple = LLVMGetDefaultTargetTriple();
    host.tm = host_machine(2);
    if (!host.tm) return;
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(host.tm);
    host.datalayout = LLVMCopyStringRepOfTargetData(dl);
    LLVMDisposeTargetData(dl);
    host_ok = true;
}

const jx__cg_host *jx__cg_host_get(void) {
    pthread_once(&host_once, host_init);
    if (host_ok && !host_gone) return &host;
    jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "%s", host_gone ? "the code generator was shut down" : host_err);
    return NULL;
}

unsigned long long jx__cg_host_next_id(void) {
    pthread_mutex_lock(&host_mu);
    unsigned long long id = next_id++;
    pthread_mutex_unlock(&host_mu);
    return id;
}

void jx__cg_host_lock(void) { pthread_mutex_lock(&host_mu); }
void jx__cg_host_unlock(void) { pthread_mutex_unlock(&host_mu); }

/* The kernels' helpers as absolute addresses in jd, plus the process's own symbols for
 * whatever LLVM lowers into a library call. */
static LLVMErrorRef define_symbols(LLVMOrcLLJITRef jit, LLVMOrcJITDylibRef jd) {
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    LLVMErrorRef err =
        LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(jit), NULL, NULL);
    if (err) return err;
    LLVMOrcJITDylibAddGenerator(jd, gen);
    size_t total = (size_t)jx__cg_symbol_count(), n = 0;
    LLVMJITCSymbolMapPair *pairs = calloc(total + 1, sizeof *pairs);
    if (!pairs) return LLVMCreateStringError("out of memory");
    for (size_t i = 0; i < total; i++) {
        jx__cg_symbol sym = jx__cg_symbol_at((int)i);
        if (!sym.addr) continue; /* a vector variant this build lacks (libm's exp without SLEEF): never called */
        pairs[n].Name = LLVMOrcLLJITMangleAndIntern(jit, sym.name);
        pairs[n].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)sym.addr;
        pairs[n++].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
    }
    err = LLVMOrcJITDylibDefine(jd, LLVMOrcAbsoluteSymbols(pairs, n));
    free(pairs);
    return err;
}

static jx_status make_jit(int level, LLVMOrcLLJITRef *out) {
    LLVMTargetMachineRef tm = host_machine(level); /* the JIT takes this one */
    if (!tm) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "%s", host_err);
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
    LLVMOrcLLJITRef jit = NULL;
    LLVMErrorRef err = LLVMOrcCreateLLJIT(&jit, builder); /* consumes the builder */
    if (err) return jx__cg_llvm_fail(err, "creating the JIT");
    err = define_symbols(jit, LLVMOrcLLJITGetMainJITDylib(jit));
    if (err) {
        jx_status st = jx__cg_llvm_fail(err, "defining the kernels' helpers");
        err = LLVMOrcDisposeLLJIT(jit);
        if (err) LLVMConsumeError(err);
        return st;
    }
    *out = jit;
    return JX_OK;
}

jx_status jx__cg_host_jit(int opt_level, LLVMOrcLLJITRef *jit, LLVMOrcResourceTrackerRef *rt) {
    int level = opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level;
    if (!jits[level]) {
        jx_status st = make_jit(level, &jits[level]);
        if (st != JX_OK) return st;
    }
    *jit = jits[level];
    *rt = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(jits[level]));
    live_trackers++;
    return JX_OK;
}

jx_status jx__cg_host_slot(int slot, int opt_level, LLVMTargetMachineRef *opt, LLVMTargetMachineRef *emit) {
    int level = opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level;
    if (slot < 0 || slot >= JX__CG_SLOTS) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "compile slot %d", slot);
    if (!opt_tms[slot]) opt_tms[slot] = slot ? host_machine(2) : host.tm;
    if (opt_tms[slot] && !emit_tms[slot][level]) emit_tms[slot][level] = host_machine(level);
    if (!opt_tms[slot] || !emit_tms[slot][level]) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "%s", host_err);
    *opt = opt_tms[slot];
    *emit = emit_tms[slot][level];
    return JX_OK;
}

void jx__cg_host_release(LLVMOrcResourceTrackerRef rt) {
    if (!host_gone) {
        LLVMErrorRef err = LLVMOrcResourceTrackerRemove(rt);
        if (err) LLVMConsumeError(err);
        LLVMOrcReleaseResourceTracker(rt);
        live_trackers--;
    }
}

/* At exit: dispose of everything when no module holds code any more. */
__attribute__((destructor)) static void host_at_exit(void) {
    pthread_mutex_lock(&host_mu);
    if (host_ok && live_trackers == 0) {
        for (int l = 0; l < 4; l++)
            if (jits[l]) {
                LLVMErrorRef err = LLVMOrcDisposeLLJIT(jits[l]);
                if (err) LLVMConsumeError(err);
                jits[l] = NULL;
            }
        for (int s = 0; s < JX__CG_SLOTS; s++) {
            for (int l = 0; l < 4; l++)
                if (emit_tms[s][l]) LLVMDisposeTargetMachine(emit_tms[s][l]), emit_tms[s][l] = NULL;
            if (s && opt_tms[s]) LLVMDisposeTargetMachine(opt_tms[s]);
            opt_tms[s] = NULL;
        }
        LLVMDisposeTargetMachine(host.tm);
        LLVMDisposeMessage(host.cpu);
        LLVMDisposeMessage(host.features);
        LLVMDisposeMessage(host.triple);
        LLVMDisposeMessage(host.datalayout);
        host = (jx__cg_host){0};
        host_gone = true;
    }
    pthread_mutex_unlock(&host_mu);
}
