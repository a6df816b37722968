/* jit.c: the public jit API (jx.h, section "jit"): compiling a function into an
 * executable, the process-wide compile cache, and running an executable.
 *
 * The cache key is the function's structure (jx__fn_hash / jx__fn_equal: every equation,
 * attribute, constant value and source line, so equal functions mean the same computation
 * and the same error places) with the device and the normalised options. The hash is
 * computed once per jx_fn; a hit on the very jx_fn compiled before compares pointers
 * only, another jx_fn with the same hash is confirmed by walking both. Compiling happens
 * outside the cache lock: two threads compiling the same function both compile, and the
 * first to finish is kept. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../backends/fpenv.h"
#include "plan.h"

struct jx_exec {
    atomic_int refs;
    jx_device device;
    /* the cache key: the function given (retained), its hash mixed with the options,
     * and the normalised options */
    jx_fn *src;
    uint64_t hash;
    int nthreads, opt_level;
    bool flush;      /* subnormals flushed to zero while it runs (fpenv.h) */
    bool tf32;       /* f32 GEMMs may round to TF32 (JX_MATMUL_* resolved) */
    jx_fn *f;        /* the compiled function: calls inlined, simplified */
    jx__prog *prog;  /* CPU, CUDA */
    const jx__backend *be;
    void *mod;       /* be's kernel module */
    void *runner;    /* be's, for runs (the CPU's thread pool) */
    bool *donate;    /* per input */
    jx_exec *next;   /* in the cache */
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static jx_exec *cache;
static jx_jit_stats stats;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* JX_MATMUL_PRECISION, read once: whether JX_MATMUL_DEFAULT means TF32 (a warning, and
 * full f32, for anything but highest, float32, tf32 or tensorfloat32). */
static bool tf32_default;
static pthread_once_t tf32_once = PTHREAD_ONCE_INIT;
static void read_tf32(void) {
    const char *s = getenv("JX_MATMUL_PRECISION");
    tf32_default = s && (!strcmp(s, "tf32") || !strcmp(s, "tensorfloat32"));
    if (s && *s && !tf32_default && strcmp(s, "highest") && strcmp(s, "float32"))
        fprintf(stderr, "jx: warning: JX_MATMUL_PRECISION=%s is not highest or tf32; using highest\n", s);
}
static bool matmul_tf32_default(void) {
    pthread_once(&tf32_once, read_tf32);
    return tf32_default;
}

/* The options with defaults filled in and checked; the donated inputs as flags. */
typedef struct norm_opts {
    int nthreads, opt_level;
    bool flush;            /* subnormals flushed (JX_SUBNORMALS_* resolved) */
    bool tf32;             /* JX_MATMUL_TF32 (JX_MATMUL_* resolved) */
    bool *donate;          /* per input, malloc'd */
    const char *cache_dir; /* the on-disk cache (borrowed), NULL for none */
} norm_opts;

static jx_status normalise(jx_loc loc, const jx_fn *f, const jx_jit_opts *o, norm_opts *n) {
    jx_jit_opts d = JX_JIT_DEFAULTS;
    if (!o) o = &d;
    n->donate = calloc((size_t)f->nin + 1, sizeof *n->donate);
    if (!n->donate) return jx__fail(JX_ERR_NOMEM, loc, "jit", "out of memory");
    if (o->nthreads < 0 || o->nthreads > 256)
        return jx__fail(JX_ERR_ARG, loc, "jit", "%s: nthreads is %d, want 0 (default) to 256", f->name, o->nthreads);
    if (o->opt_level < 0 || o->opt_level > 3)
        return jx__fail(JX_ERR_ARG, loc, "jit", "%s: opt_level is %d, want 0 to 3", f->name, o->opt_level);
    if (o->subnormals < JX_SUBNORMALS_DEFAULT || o->subnormals > JX_SUBNORMALS_KEEP)
        return jx__fail(JX_ERR_ARG, loc, "jit", "%s: subnormals is %d, want JX_SUBNORMALS_DEFAULT, _FLUSH or _KEEP",
                        f->name, o->subnormals);
    n->flush = o->subnormals == JX_SUBNORMALS_DEFAULT ? jx__flush_default() : o->subnormals == JX_SUBNORMALS_FLUSH;
    if (o->matmul_precision < JX_MATMUL_DEFAULT || o->matmul_precision > JX_MATMUL_TF32)
        return jx__fail(JX_ERR_ARG, loc, "jit", "%s: matmul_precision is %d, want JX_MATMUL_DEFAULT, _HIGHEST or _TF32",
                        f->name, o->matmul_precision);
    n->tf32 = o->matmul_precision == JX_MATMUL_DEFAULT ? matmul_tf32_default() : o->matmul_precision == JX_MATMUL_TF32;
    n->nthreads = o->nthreads ? o->nthreads : jx__cpu_backend.default_threads();
    n->opt_level = o->opt_level ? o->opt_level : 2;
    n->cache_dir = o->cache_dir ? (*o->cache_dir ? o->cache_dir : NULL) : jx__jit_cache_dir();
    if (o->donate.n && !o->donate.v) return jx__fail(JX_ERR_ARG, loc, "jit", "%s: donate list is NULL", f->name);
    for (int i = 0; i < o->donate.n; i++) {
        int64_t k = o->donate.v[i];
        if (k < 0 || k >= f->nin)
            return jx__fail(JX_ERR_ARG, loc, "jit", "%s: donated input %lld out of range (the function takes %d)",
                            f->name, (long long)k, f->nin);
        n->donate[k] = true;
    }
    return JX_OK;
}

/* The cache hash of f compiled for device with options n. */
static uint64_t key_hash(const jx_fn *f, jx_device device, const norm_opts *n) {
    uint64_t h = jx__fn_hash(f) ^ ((uint64_t)device << 56 | (uint64_t)n->opt_level << 48 | (uint64_t)n->flush << 40 | (uint64_t)n->tf32 << 41 |
                                  (uint64_t)n->nthreads);
    for (int i = 0; i < f->nin; i++) h = (h ^ (uint64_t)n->donate[i]) * 1099511628211ull;
    return h;
}

/* Whether cached executable c is f compiled for device with options n. */
static bool key_equal(const jx_exec *c, uint64_t hash, const jx_fn *f, jx_device device, const norm_opts *n) {
    if (c->hash != hash || c->device != device || c->nthreads != n->nthreads || c->opt_level != n->opt_level ||
        c->flush != n->flush || c->tf32 != n->tf32 || c->src->nin != f->nin ||
        memcmp(c->donate, n->donate, sizeof *n->donate * (size_t)f->nin) != 0)
        return false;
    return c->src == f || jx__fn_equal(c->src, f);
}

static void exec_free(jx_exec *x) {
    jx__prog_free(x->prog); /* before the module that owns its kernels */
    if (x->mod) x->be->module_free(x->mod);
    jx_fn_release(x->f);
    jx_fn_release(x->src);
    free(x->donate);
    free(x);
}

static bool has_kernels(const jx__prog *p) {
    for (int k = 0; k < p->nsteps; k++) {
        if (p->steps[k].kernel) return true;
        for (int i = 0; i < p->steps[k].nsubs; i++)
            if (has_kernels(p->steps[k].subs[i])) return true;
    }
    return false;
}

static void dump_fusion(FILE *out, const jx__prog *p) {
    jx__fusion_print(out, p->f, p->fu);
    for (int k = 0; k < p->nsteps; k++)
        for (int i = 0; i < p->steps[k].nsubs; i++) dump_fusion(out, p->steps[k].subs[i]);
}

/* Marks p and its sub-programs' f32 GEMMs as allowed to round to TF32. */
static void set_tf32(jx__prog *p, bool tf32) {
    p->tf32 = tf32;
    for (int k = 0; k < p->nsteps; k++)
        for (int i = 0; i < p->steps[k].nsubs; i++) set_tf32(p->steps[k].subs[i], tf32);
}

/* The backend half of a compile: program, kernels, pool. */
static jx_status compile_backend(jx_exec *x, const norm_opts *n) {
    unsigned dump = jx__dump_flags();
    x->mod = x->be->module_new(n->opt_level); /* NULL sets the error: NOMEM, or no host */
    if (!x->mod && x->be != &jx__cpu_backend) return jx_errcode(); /* no driver, no GPU */
    if (!x->mod && jx_errcode() == JX_ERR_NOMEM) return JX_ERR_NOMEM;
    if (!x->mod) jx_clear_error(); /* no code generator: LOOP groups run interpreted */
    if (x->mod && x->be->module_set_cache_dir && x->be->module_set_cache_dir(x->mod, n->cache_dir) != JX_OK)
        return jx_errcode();
    if (x->mod && x->be->module_set_threads) x->be->module_set_threads(x->mod, n->nthreads);
    x->prog = jx__prog_build(x->f, jx__jit_fuse_enabled(), x->be, x->mod, x->donate);
    if (!x->prog) return jx_errcode();
    set_tf32(x->prog, n->tf32);
    if (dump & JX__DUMP_PROFILE) x->prog->prof = jx__prof_new(x->prog);
    if (x->mod && has_kernels(x->prog) && x->be->module_compile(x->mod) != JX_OK) return jx_errcode();
    if (dump & JX__DUMP_FUSION) {
        FILE *out = jx__dump_open(x->f->name, "fusion");
        dump_fusion(out, x->prog);
        jx__dump_close(out);
    }
    if (dump & JX__DUMP_PLAN) {
        FILE *out = jx__dump_open(x->f->name, "plan");
        jx__prog_print(out, x->prog, 0);
        jx__dump_close(out);
    }
    if (!x->be->runner_get) return JX_OK; /* it runs its programs itself */
    x->runner = x->be->runner_get(n->nthreads);
    return x->runner ? JX_OK : jx_errcode();
}

static jx_exec *compile(jx_loc loc, const jx_fn *f, jx_device device, norm_opts *n, uint64_t hash) {
    jx_exec *x = calloc(1, sizeof *x);
    if (!x) {
        free(n->donate);
        return jx__fail(JX_ERR_NOMEM, loc, "jit", "out of memory"), NULL;
    }
    atomic_init(&x->refs, 1);
    x->device = device;
    x->src = jx_fn_retain((jx_fn *)f);
    x->hash = hash;
    x->nthreads = n->nthreads;
    x->opt_level = n->opt_level;
    x->flush = n->flush;
    x->tf32 = n->tf32;
    x->donate = n->donate;
    n->donate = NULL;
    jx_status st = JX_OK;
    x->be = device == JX_DEVICE_CPU ? &jx__cpu_backend : NULL;
#ifdef JX_CUDA
    if (device == JX_DEVICE_CUDA) x->be = &jx__cuda_backend;
#else
    if (device == JX_DEVICE_CUDA)
        st = jx__fail(JX_ERR_UNSUPPORTED, loc, "jit", "%s: this build of jx has no CUDA backend (JX_CUDA=OFF)",
                      f->name);
#endif
    /* a backend without pooling loops gets pooling as loop ops, not a host step */
    if (st == JX_OK && !(x->f = jx__jit_prepare(loc, f, x->be))) st = jx_errcode();
    if (st == JX_OK && x->be) st = compile_backend(x, n);
    if (st != JX_OK) {
        if (jx_errcode() == JX_OK) jx__fail(st, loc, "jit", "%s: compilation failed", f->name);
        exec_free(x);
        return NULL;
    }
    return x;
}

jx_exec *jx_jit_at(jx_loc loc, const jx_fn *f, jx_device device, const jx_jit_opts *opts) {
    if (!f) return jx__fail(JX_ERR_ARG, loc, "jit", "function is NULL"), NULL;
    if ((unsigned)device >= JX_DEVICE_COUNT)
        return jx__fail(JX_ERR_ARG, loc, "jit", "%s: unknown device %d", f->name, (int)device), NULL;
    double t0 = now_ms();
    norm_opts n = {0};
    if (normalise(loc, f, opts, &n) != JX_OK) {
        free(n.donate);
        return NULL;
    }
    if (device != JX_DEVICE_CUDA) n.tf32 = false; /* only GPUs have TF32: one executable */
    uint64_t hash = key_hash(f, device, &n);
    pthread_mutex_lock(&cache_mu);
    for (jx_exec *c = cache; c; c = c->next)
        if (key_equal(c, hash, f, device, &n)) {
            jx_exec_retain(c);
            stats.hits++;
            pthread_mutex_unlock(&cache_mu);
            free(n.donate);
            return c;
        }
    pthread_mutex_unlock(&cache_mu);
    jx_exec *x = compile(loc, f, device, &n, hash);
    if (!x) return NULL;
    pthread_mutex_lock(&cache_mu);
    stats.misses++;
    stats.compile_ms += now_ms() - t0;
    jx_exec *won = NULL;
    for (jx_exec *c = cache; c && !won; c = c->next)
        if (key_equal(c, hash, x->src, device, &(norm_opts){.nthreads = x->nthreads, .opt_level = x->opt_level, .flush = x->flush, .tf32 = x->tf32, .donate = x->donate}))
            won = c;
    if (won) {
        jx_exec_retain(won);
    } else {
        jx_exec_retain(x); /* the cache's reference */
        x->next = cache;
        cache = x;
    }
    pthread_mutex_unlock(&cache_mu);
    if (won) {
        jx_exec_release(x);
        return won;
    }
    return x;
}

jx_exec *jx_exec_retain(jx_exec *x) {
    if (x) atomic_fetch_add(&x->refs, 1);
    return x;
}

void jx_exec_release(jx_exec *x) {
    if (x && atomic_fetch_sub(&x->refs, 1) == 1) exec_free(x);
}

const jx_fn *jx_exec_fn(const jx_exec *x) { return x ? x->f : NULL; }

/* Checks the run's arguments against the function; the error names the input. */
static jx_status check_args(const jx_exec *x, int nin, jx_array *const *in, int nout, jx_array **out) {
    const jx_fn *f = x->f;
    if (nin != f->nin)
        return jx__fail(JX_ERR_ARG, jx__noloc, "jit", "%s: takes %d inputs, got %d", f->name, f->nin, nin);
    if (nout != f->nout)
        return jx__fail(JX_ERR_ARG, jx__noloc, "jit", "%s: gives %d outputs, got room for %d", f->name, f->nout,
                        nout);
    if ((nin && !in) || (nout && !out))
        return jx__fail(JX_ERR_ARG, jx__noloc, "jit", "%s: input or output list is NULL", f->name);
    for (int i = 0; i < nin; i++) {
        if (!in[i]) return jx__fail(JX_ERR_ARG, jx__noloc, "jit", "%s: input %d is NULL", f->name, i);
        const jx_aval *want = &f->vars[f->in[i]];
        if (!jx_aval_equal(&in[i]->aval, want))
            return jx__fail(JX_ERR_SHAPE, jx__noloc, "jit", "%s: input %d is %s but the function takes %s", f->name,
                            i, jx__avs(&in[i]->aval), jx__avs(want));
    }
    return JX_OK;
}

static jx_status exec_run(jx_exec *x, int nin, jx_array *const *in, int nout, jx_array **out);

/* Runs x in its subnormal mode (fpenv.h): set on this thread for the run, handed to the
 * pool's workers with each job, and restored afterwards. */
jx_status jx_exec_run(jx_exec *x, int nin, jx_array *const *in, int nout, jx_array **out) {
    if (!x) return jx__fail(JX_ERR_ARG, jx__noloc, "jit", "executable is NULL");
    uint64_t fp = jx__fpenv_enter(x->flush);
    jx_status st = exec_run(x, nin, in, nout, out);
    jx__fpenv_leave(fp);
    return st;
}

static jx_status exec_run(jx_exec *x, int nin, jx_array *const *in, int nout, jx_array **out) {
    for (int i = 0; out && i < nout; i++) out[i] = NULL;
    jx_status st = check_args(x, nin, in, nout, out);
    if (st != JX_OK) return st;
    if (x->be && x->be->prog_run) return x->be->prog_run(x->prog, in, out); /* the backend runs it (CUDA) */
    /* device arrays given to a host executable are read back (once) */
    for (int i = 0; i < nin; i++)
        if (!jx__array_host(in[i])) return jx_errcode();
    if (x->device == JX_DEVICE_INTERP) return jx__interp_eval(x->f, in, out); /* checked above */
    /* a donated input is taken only when the caller holds its one reference, and passes
     * it once */
    bool db[16];
    bool *don = nin <= 16 ? db : calloc((size_t)nin, sizeof *don);
    if (!don) return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
    for (int i = 0; i < nin; i++) {
        don[i] = x->donate[i] && atomic_load(&in[i]->refs) == 1 && !in[i]->dev; /* a device copy would go stale */
        for (int j = 0; don[i] && j < nin; j++) don[i] = j == i || in[j] != in[i];
    }
    jx__rt rt = {x->runner, jx__debug_nans()};
    jx__frame *fr = jx__frame_new(&rt, x->prog);
    st = fr ? jx__frame_run(fr, in, don, out) : jx_errcode();
    jx__frame_free(fr);
    if (don != db) free(don);
    return st;
}

jx_jit_stats jx_jit_stats_get(void) {
    pthread_mutex_lock(&cache_mu);
    jx_jit_stats s = stats;
    pthread_mutex_unlock(&cache_mu);
    jx__cpu_backend.kernel_stats(&s.kernels, &s.kernels_unoptimised);
    jx__cpu_backend.cache_stats(&s.disk_hits, &s.disk_stores);
#ifdef JX_CUDA
    int64_t hits = 0, stores = 0;
    jx__cuda_backend.cache_stats(&hits, &stores);
    s.disk_hits += hits;
    s.disk_stores += stores;
#endif
    return s;
}

jx_status jx_device_mem_stats_get(jx_device device, jx_device_mem_stats *s) {
    if (!s) return jx__fail(JX_ERR_ARG, jx__noloc, "jit", "jx_device_mem_stats_get: stats pointer is NULL");
    *s = (jx_device_mem_stats){0, 0, 0};
#ifdef JX_CUDA
    if (device == JX_DEVICE_CUDA) return jx__cuda_backend.mem_stats(s);
#else
    if (device == JX_DEVICE_CUDA)
        return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "jit", "this build of jx has no CUDA backend (JX_CUDA=OFF)");
#endif
    return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "jit", "device %d has no device memory statistics", (int)device);
}

void jx_jit_cache_clear(void) {
    pthread_mutex_lock(&cache_mu);
    jx_exec *c = cache;
    cache = NULL;
    pthread_mutex_unlock(&cache_mu);
    while (c) {
        jx_exec *next = c->next;
        jx_exec_release(c);
        c = next;
    }
}
