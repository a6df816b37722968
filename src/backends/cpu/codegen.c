/* codegen.c: the CPU code generator's module: one LLVM module per executable collecting
 * the kernels of its LOOP groups (codegen_loop.c), optimised for the host CPU (its name
 * and features, so loops vectorise with AVX2/FMA where present) and compiled in-process
 * with ORC LLJIT. Kernels call helpers (libm, f16 converters) through absolute symbols
 * defined in the JIT (jx__cg_symbols); anything else resolves in the process.
 *
 * What does not depend on the module is made once per process (codegen_host.c): the
 * host CPU's name and features, a target machine for the optimiser, and one LLJIT per
 * code generation level. Each module adds its code to the JIT under its own resource
 * tracker with names unique in the process (jx_k<module>_<kernel>), and removing the
 * tracker when the module is freed frees that code. Optimisation and code generation
 * use target machines, which are not thread-safe, so they run under the host lock;
 * building the IR (each module has its own context) does not.
 *
 * Optimisation and code generation (codegen_emit.c) use LLVM's new pass manager with a
 * short pipeline made for these kernels; a big module is split into parts compiled on
 * up to the executable's thread count at once.
 *
 * Compiled code is found by content (see "Compiling" below jx__cpu_module_compile's
 * helpers): a module whose unoptimised IR equals one already loaded in the process shares
 * that code, and one compiled by an earlier process is loaded from the on-disk cache
 * (objcache.c); only a new module is optimised and compiled. Either way the JIT links an
 * object file emitted with a target machine equal to its own, so the code is the same
 * whichever way it came. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <llvm/Config/llvm-config.h>

#include "codegen.h"
#include "../objcache.h"

/* Code loaded in the JIT, shared by every module of the same content in the process. */
typedef struct loaded {
    uint64_t key[2];
    int refs, n;
    LLVMOrcResourceTrackerRef rt;
    void **fns;
    struct loaded *next;
} loaded;
static loaded *loaded_list; /* under the host lock */

struct jx__cpu_module {
    int opt_level;
    unsigned long long id; /* unique in the process: names its kernels */
    LLVMOrcThreadSafeContextRef tsc;
    LLVMContextRef ctx;
    LLVMModuleRef mod;    /* until compiled: then the JIT owns it */
    LLVMMemoryBufferRef bitcode; /* mod's bitcode, kernels under neutral names (content_key), until compiled */
    loaded *code;         /* its code in the JIT, once compiled */
    char *cache_dir;      /* the on-disk cache, NULL for none */
    int nthreads;         /* threads it may compile on */
    jx__kernel **kernels;
    int nkernels, capkernels;
    bool compiled;
};

static atomic_llong kernels_compiled, kernels_unoptimised, disk_hits, disk_stores;

jx__cpu_module *jx__cpu_module_new(int opt_level) {
    const jx__cg_host *h = jx__cg_host_get();
    if (!h) return NULL;
    jx__cpu_module *m = calloc(1, sizeof *m);
    if (!m) {
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
        return NULL;
    }
    m->opt_level = opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level;
    m->nthreads = 1;
    m->id = jx__cg_host_next_id();
    m->tsc = LLVMOrcCreateNewThreadSafeContext();
    m->ctx = LLVMOrcThreadSafeContextGetContext(m->tsc);
    m->mod = LLVMModuleCreateWithNameInContext("jx_kernels", m->ctx);
    LLVMSetTarget(m->mod, h->triple);
    LLVMSetDataLayout(m->mod, h->datalayout);
    return m;
}

/* Drops the numbers of metadata references (" !12" -> " !") in s: each kernel's loops
 * get metadata nodes of their own, numbered in the module, equal between equal kernels
 * but for the number. */
static void unnumber_metadata(char *s) {
    char *w = s;
    for (const char *r = s; *r;) {
        bool ref = r[0] == '!' && r > s && r[-1] == ' ' && r[1] >= '0' && r[1] <= '9';
        *w++ = *r++;
        if (ref)
            while (*r >= '0' && *r <= '9') r++;
    }
    *w = 0;
}

/* A cheap fingerprint of fn's code: per block, each instruction's opcode, type kind,
 * operand count and integer constants, and whether fn is left unoptimised. Equal
 * kernels have equal fingerprints (all of it shows in their printed IR); only kernels
 * whose fingerprints match are printed and compared. *ninstr: fn's instruction count. */
static uint64_t fingerprint(LLVMValueRef fn, bool unoptimised, size_t *ninstr) {
    uint64_t h = 0xcbf29ce484222325ull ^ unoptimised;
    size_t n = 0;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 0x100000001b3ull)
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
        MIX(0xb10c);
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in), n++) {
            int nops = LLVMGetNumOperands(in);
            MIX(LLVMGetInstructionOpcode(in));
            MIX(LLVMGetTypeKind(LLVMTypeOf(in)));
            MIX(nops);
            for (int i = 0; i < nops; i++) {
                LLVMValueRef op = LLVMGetOperand(in, i);
                if (op && LLVMIsAConstantInt(op) && LLVMGetIntTypeWidth(LLVMTypeOf(op)) <= 64)
                    MIX(LLVMConstIntGetZExtValue(op));
            }
        }
    }
#undef MIX
    *ninstr = n;
    return h;
}

/* fn's IR printed under a neutral name, metadata references unnumbered; NULL if out of
 * memory. */
static char *neutral_text(LLVMValueRef fn, const char *name) {
    LLVMSetValueName2(fn, "jx_twin", 7);
    char *text = LLVMPrintValueToString(fn);
    LLVMSetValueName2(fn, name, strlen(name));
    if (text) unnumber_metadata(text);
    return text;
}

/* Groups of equal equations on equal shapes (the relu of two layers of one width, their
 * masks' selects in the backward pass, equal bias gradients; elementwise groups on any
 * shapes, codegen_loop.c) give equal kernels: a kernel whose IR, printed under a neutral
 * name, equals an earlier one's is deleted and runs the earlier one's code (k->twin), so
 * it is optimised and compiled once. Only kernels of equal fingerprints are printed
 * (printing every kernel took 6 ms of mnist_cnn's step compile). */
static void find_twin(jx__cpu_module *m, jx__kernel *k, LLVMValueRef fn) {
    k->fingerprint = fingerprint(fn, k->unoptimised, &k->ninstr);
    for (int j = 0; j < m->nkernels; j++) {
        jx__kernel *o = m->kernels[j];
        if (o->twin || o->fingerprint != k->fingerprint) continue;
        if (!o->text) o->text = neutral_text(LLVMGetNamedFunction(m->mod, o->name), o->name);
        if (!k->text) k->text = neutral_text(fn, k->name);
        if (!o->text || !k->text) return; /* out of memory: no twin, same code */
        if (strcmp(o->text, k->text) == 0) {
            LLVMDeleteFunction(fn);
            k->twin = j + 1;
            LLVMDisposeMessage(k->text);
            k->text = NULL;
            return;
        }
    }
}

static void add_fn_attr(LLVMContextRef ctx, LLVMValueRef fn, const char *name) {
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, kind, 0));
}

jx__kernel *jx__cpu_kernel_add(jx__cpu_module *m, const jx_fn *f, const jx__group *g) {
    if (m->compiled) {
        jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "kernel added to a module already compiled");
        return NULL;
    }
    jx__kernel *k = calloc(1, sizeof *k);
    jx__kernel **ks = m->nkernels < m->capkernels
                          ? m->kernels
                          : realloc(m->kernels, sizeof *ks * (size_t)(m->capkernels = 2 * m->capkernels + 8));
    if (ks) m->kernels = ks;
    if (k) k->identity_in = calloc((size_t)g->nin + 1, sizeof(bool));
    if (k) k->esize = calloc((size_t)(g->nin + g->nout) + 1, 1);
    if (!k || !ks || !k->identity_in || !k->esize) {
        if (k) free(k->identity_in), free(k->esize);
        free(k);
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
        return NULL;
    }
    snprintf(k->name, sizeof k->name, "jx_k%llu_%d", m->id, m->nkernels);
    k->nin = g->nin;
    k->nout = g->nout;
    for (int s = 0; s < g->nin + g->nout; s++)
        k->esize[s] = (uint8_t)jx_dtype_size(f->vars[s < g->nin ? g->in[s] : g->out[s - g->nin]].dtype);
    if (jx__cg_emit_kernel(m->ctx, m->mod, f, g, k) != JX_OK) {
        free(k->esize);
        free(k->identity_in);
        free(k);
        return NULL;
    }
    LLVMValueRef fn = LLVMGetNamedFunction(m->mod, k->name);
    const jx__cg_host *h = jx__cg_host_get();
    LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", h->cpu);
    LLVMAddTargetDependentFunctionAttr(fn, "target-features", h->features);
    add_fn_attr(m->ctx, fn, "nounwind");
    /* A kernel whose every value has at most JX_JIT_SMALL_KERNEL elements does
     * microseconds of work however it is compiled: at the default level it is optnone (no
     * optimiser passes, the fast instruction selector; the MLP step compiles in two thirds
     * of the time, mnist_cnn's in about four fifths: docs/jit.md, "Compile time"). The
     * same operations in the same order, so the same bits. */
    int64_t limit = jx__jit_small_kernel();
    if (m->opt_level == 2 && limit > 0 && jx__group_largest(f, g) <= limit) {
        add_fn_attr(m->ctx, fn, "optnone"); /* optnone wants noinline beside it */
        add_fn_attr(m->ctx, fn, "noinline");
        k->unoptimised = true;
    }
    find_twin(m, k, fn);
    m->kernels[m->nkernels++] = k;
    return k;
}

/* ------------------------------------------------------------------ compiling
 * Under the host lock: the kernels get names from the module's content key (the hash of
 * its unoptimised IR's bitcode, kernels under neutral names, and of everything else that
 * decides the machine code: `header`), so equal modules have equal objects whichever
 * process made them. Then: code already loaded with that key is shared; else a valid
 * cache file is linked; else the module is optimised, emitted and linked, and its object
 * stored. */

/* The prefix of the kernels' names in the bitcode their module's content key hashes. */
static const char neutral_prefix[] = "jx_k";

/* Kernel i's name under prefix (neutral_prefix or the content key's). */
static void kernel_name(char *name, size_t len, const char *prefix, int i) {
    snprintf(name, len, "%s_%d", prefix, i);
}

static void rename_kernels(jx__cpu_module *m, const char *prefix) {
    for (int i = 0; i < m->nkernels; i++) {
        jx__kernel *k = m->kernels[i];
        if (k->twin) continue;
        LLVMValueRef fn = LLVMGetNamedFunction(m->mod, k->name);
        kernel_name(k->name, sizeof k->name, prefix, i);
        LLVMSetValueName2(fn, k->name, strlen(k->name));
    }
}

/* The content key of m and the header of its cache file (what must match besides the
 * key); kernels renamed to jx_<key>_<i>. The bitcode hashed (kernels named jx_k_<i>) is
 * kept in m->bitcode: the parts of a split compile read it back (codegen_emit.c). */
static jx_status content_key(jx__cpu_module *m, uint64_t key[2], char *header, size_t len) {
    const jx__cg_host *h = jx__cg_host_get();
    snprintf(header, len,
             "jx %d.%d objcache 4\nllvm %s\ntriple %s\ncpu %s\nfeatures %s\nopt %d\npasses %s\noptions %s\n",
             JX_VERSION_MAJOR, JX_VERSION_MINOR, LLVM_VERSION_STRING, h->triple, h->cpu, h->features, m->opt_level,
             jx__cg_pipeline(m->opt_level), JX__CG_LLVM_OPTIONS);
    rename_kernels(m, neutral_prefix);
    jx_status st = jx__cg_module_key(m->mod, header, key, &m->bitcode);
    if (st != JX_OK) return st;
    for (int i = 0; i < m->nkernels; i++) /* which kernels run another's code: part of the content */
        jx__hash128(key, &m->kernels[i]->twin, sizeof m->kernels[i]->twin);
    jx__objcache_key_line(header, len, key);
    char prefix[48];
    snprintf(prefix, sizeof prefix, "jx_%016llx%016llx", (unsigned long long)key[0], (unsigned long long)key[1]);
    rename_kernels(m, prefix);
    return JX_OK;
}

static void release_objects(LLVMMemoryBufferRef *objs, int from, int n) {
    for (int i = from; i < n; i++) LLVMDisposeMemoryBuffer(objs[i]);
}

/* Links the objects objs[0..n) (consumed) into the JIT under a new tracker and resolves
 * every kernel: the new shared code of m with key. */
static jx_status link(jx__cpu_module *m, const uint64_t key[2], LLVMMemoryBufferRef *objs, int n) {
    LLVMOrcLLJITRef jit = NULL;
    loaded *l = calloc(1, sizeof *l);
    if (l) l->fns = calloc((size_t)m->nkernels + 1, sizeof *l->fns);
    if (!l || !l->fns) {
        if (l) free(l->fns);
        free(l);
        release_objects(objs, 0, n);
        return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
    }
    jx_status st = jx__cg_host_jit(m->opt_level, &jit, &l->rt);
    if (st != JX_OK) {
        free(l->fns);
        free(l);
        release_objects(objs, 0, n);
        return st;
    }
    memcpy(l->key, key, sizeof l->key);
    l->refs = 1;
    l->n = m->nkernels;
    m->code = l; /* freed with m from here on, whatever happens */
    for (int i = 0; i < n; i++) {
        LLVMErrorRef err = LLVMOrcLLJITAddObjectFileWithRT(jit, l->rt, objs[i]); /* takes the object */
        if (err) {
            release_objects(objs, i + 1, n);
            return jx__cg_llvm_fail(err, "adding the kernels to the JIT");
        }
    }
    for (int i = 0; i < m->nkernels; i++) {
        LLVMOrcExecutorAddress addr = 0;
        const jx__kernel *k = m->kernels[i];
        if (k->twin) {
            l->fns[i] = l->fns[k->twin - 1];
            continue;
        }
        LLVMErrorRef err = LLVMOrcLLJITLookup(jit, &addr, k->name);
        if (err) return jx__cg_llvm_fail(err, "linking the kernels");
        l->fns[i] = (void *)(uintptr_t)addr;
    }
    l->next = loaded_list;
    loaded_list = l;
    return JX_OK;
}

static loaded *find_loaded(const uint64_t key[2], int n) {
    for (loaded *l = loaded_list; l; l = l->next)
        if (l->key[0] == key[0] && l->key[1] == key[1] && l->n == n) return l;
    return NULL;
}

/* A cache file's object code holds the parts' objects: their count (u32), their sizes
 * (u64 each), then the objects, in host byte order (the header names the CPU). */
static int unpack(const unsigned char *bytes, size_t size, LLVMMemoryBufferRef *objs) {
    uint32_t n;
    if (size < sizeof n) return 0;
    memcpy(&n, bytes, sizeof n);
    if (n < 1 || n > JX__CG_OBJECTS || size < sizeof n + n * sizeof(uint64_t)) return 0;
    size_t at = sizeof n + n * sizeof(uint64_t);
    int made = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t len;
        memcpy(&len, bytes + sizeof n + i * sizeof len, sizeof len);
        if (len > size - at || !(objs[made] = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                                     (const char *)bytes + at, (size_t)len, "jx_kernels.o"))) {
            release_objects(objs, 0, made);
            return 0;
        }
        made++;
        at += (size_t)len;
    }
    if (at == size) return made;
    release_objects(objs, 0, made);
    return 0;
}

/* The objects of m from the disk cache in objs; their number, 0 for none. */
static int disk_load(jx__cpu_module *m, const uint64_t key[2], const char *header, LLVMMemoryBufferRef *objs) {
    void *bytes = NULL;
    size_t size = 0;
    if (!m->cache_dir || (jx__dump_flags() & (JX__DUMP_LLVM | JX__DUMP_ASM)) ||
        !jx__objcache_load(m->cache_dir, key, header, &bytes, &size))
        return 0;
    int n = unpack(bytes, size, objs);
    free(bytes);
    if (n) atomic_fetch_add(&disk_hits, 1);
    return n;
}

/* Stores the objects in the disk cache; a failure costs a warning (once), never the compile. */
static void disk_store(jx__cpu_module *m, const uint64_t key[2], const char *header, LLVMMemoryBufferRef *objs,
                       int n) {
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    if (!m->cache_dir) return;
    uint32_t count = (uint32_t)n;
    size_t size = sizeof count + (size_t)n * sizeof(uint64_t);
    for (int i = 0; i < n; i++) size += LLVMGetBufferSize(objs[i]);
    unsigned char *bytes = malloc(size);
    int rc = -1;
    if (bytes) {
        memcpy(bytes, &count, sizeof count);
        size_t at = sizeof count + (size_t)n * sizeof(uint64_t);
        for (int i = 0; i < n; i++) {
            uint64_t len = LLVMGetBufferSize(objs[i]);
            memcpy(bytes + sizeof count + (size_t)i * sizeof len, &len, sizeof len);
            memcpy(bytes + at, LLVMGetBufferStart(objs[i]), (size_t)len);
            at += (size_t)len;
        }
        rc = jx__objcache_store(m->cache_dir, key, header, bytes, size);
        free(bytes);
    } else {
        errno = ENOMEM;
    }
    if (rc == 0) atomic_fetch_add(&disk_stores, 1);
    else if (!atomic_flag_test_and_set(&warned))
        fprintf(stderr, "jx: warning: cannot write the jit cache in %s (%s); compiling without it\n", m->cache_dir,
                strerror(errno));
}

/* Optimises and emits m's own kernels (not the twins) into objs; their number in *n. */
static jx_status build(jx__cpu_module *m, LLVMMemoryBufferRef *objs, int *n) {
    size_t nk = (size_t)m->nkernels + 1;
    const char **names = malloc(sizeof *names * nk * 2); /* the kernels' names, then in the bitcode */
    char(*neutral)[sizeof m->kernels[0]->name] = malloc(sizeof *neutral * nk);
    size_t *weights = malloc(sizeof *weights * nk);
    jx_status st = names && neutral && weights ? JX_OK : jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
    int own = 0, unopt = 0;
    for (int i = 0; st == JX_OK && i < m->nkernels; i++)
        if (!m->kernels[i]->twin) {
            unopt += m->kernels[i]->unoptimised;
            kernel_name(neutral[own], sizeof neutral[own], neutral_prefix, i);
            names[nk + (size_t)own] = neutral[own];
            names[own] = m->kernels[i]->name;
            weights[own++] = m->kernels[i]->ninstr;
        }
    if (st == JX_OK)
        st = jx__cg_build_objects(m->mod, m->bitcode, m->opt_level, m->nthreads, names, names + nk, weights, own,
                                  objs, n);
    if (st == JX_OK) atomic_fetch_add(&kernels_compiled, own), atomic_fetch_add(&kernels_unoptimised, unopt);
    free(names);
    free(neutral);
    free(weights);
    return st;
}

static jx_status compile_locked(jx__cpu_module *m, const uint64_t key[2], const char *header) {
    loaded *l = find_loaded(key, m->nkernels);
    if (l) {
        l->refs++;
        m->code = l;
        return JX_OK;
    }
    LLVMMemoryBufferRef objs[JX__CG_OBJECTS];
    int n = disk_load(m, key, header, objs);
    if (!n) {
        jx_status st = build(m, objs, &n);
        if (st != JX_OK) return st;
        disk_store(m, key, header, objs, n);
    }
    return link(m, key, objs, n);
}

jx_status jx__cpu_module_compile(jx__cpu_module *m) {
    if (m->compiled) return JX_OK;
    uint64_t key[2];
    char header[4096];
    jx_status st = content_key(m, key, header, sizeof header); /* the module's own context: no lock */
    jx__cg_host_lock();
    if (st == JX_OK) st = compile_locked(m, key, header);
    m->compiled = true;
    if (st == JX_OK)
        for (int i = 0; i < m->nkernels; i++)
            m->kernels[i]->fn = (void (*)(void *const *, int64_t, int64_t))(uintptr_t)m->code->fns[i];
    jx__cg_host_unlock();
    LLVMDisposeModule(m->mod); /* the JIT links objects: the IR is no longer needed */
    m->mod = NULL;
    if (m->bitcode) LLVMDisposeMemoryBuffer(m->bitcode);
    m->bitcode = NULL;
    for (int i = 0; i < m->nkernels; i++) {
        LLVMDisposeMessage(m->kernels[i]->text);
        m->kernels[i]->text = NULL;
    }
    return st;
}

jx_status jx__cpu_module_set_cache_dir(jx__cpu_module *m, const char *dir) {
    free(m->cache_dir);
    m->cache_dir = NULL;
    if (!dir || !*dir) return JX_OK;
    size_t n = strlen(dir) + 1;
    if (!(m->cache_dir = malloc(n))) return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
    memcpy(m->cache_dir, dir, n);
    return JX_OK;
}

void jx__cpu_module_set_threads(jx__cpu_module *m, int nthreads) {
    int cores = jx__online_cores();
    m->nthreads = nthreads < 1 ? 1 : nthreads > cores ? cores : nthreads;
}

void jx__cpu_objcache_stats(int64_t *hits, int64_t *stores) {
    *hits = (int64_t)atomic_load(&disk_hits);
    *stores = (int64_t)atomic_load(&disk_stores);
}

/* Drops m's reference to its code; the last one removes it from the JIT. Under the lock. */
static void unload(loaded *l) {
    if (--l->refs > 0) return;
    loaded **p = &loaded_list;
    while (*p && *p != l) p = &(*p)->next;
    if (*p) *p = l->next;
    jx__cg_host_release(l->rt);
    free(l->fns);
    free(l);
}

void jx__cpu_module_free(jx__cpu_module *m) {
    if (!m) return;
    if (m->code) {
        jx__cg_host_lock();
        unload(m->code);
        jx__cg_host_unlock();
    }
    free(m->cache_dir);
    if (m->mod) LLVMDisposeModule(m->mod);
    if (m->bitcode) LLVMDisposeMemoryBuffer(m->bitcode);
    if (m->tsc) LLVMOrcDisposeThreadSafeContext(m->tsc);
    for (int i = 0; i < m->nkernels; i++) {
        LLVMDisposeMessage(m->kernels[i]->text);
        free(m->kernels[i]->identity_in);
        free(m->kernels[i]->esize);
        free(m->kernels[i]);
    }
    free(m->kernels);
    free(m);
}

int64_t jx__kernel_size(const jx__kernel *k) { return k->size; }

void jx__kernel_run(const jx__kernel *k, void *const *bufs, int64_t begin, int64_t end) {
    if (k->fn && begin < end) k->fn(bufs, begin, end);
}

bool jx__kernel_inplace_ok(const jx__kernel *k, int i, int o) {
    return i >= 0 && i < k->nin && o >= 0 && o < k->nout && k->identity_in[i] && k->esize[i] == k->esize[k->nin + o];
}

int64_t jx__cpu_kernels_compiled(void) { return (int64_t)atomic_load(&kernels_compiled); }
int64_t jx__cpu_kernels_unoptimised(void) { return (int64_t)atomic_load(&kernels_unoptimised); }
