/* test_fault.c: allocation-failure injection (built with -DJX_FAULT_INJECT=ON, see
 * src/trace/fault.h; any other build reports the suite as skipped). Each program below
 * (trace and parse, grad, vmap of grad, jit compile and run, grad of a scan compiled, the
 * IDX reader, a training step written with the nn API, the COCO reader, a small kernel
 * broadcasting a scalar) first runs
 * clean, counting the allocations jx makes; then for N = 1, 2, 3, ... it runs with the Nth
 * allocation failing, until a run completes without reaching N. Every failed run must
 * end with JX_ERR_NOMEM and "out of memory" in its message (or succeed, when jx can do
 * without that allocation), and the clean run after it must give the clean result bit
 * for bit (no state left corrupted). Crashes, aborts and leaks are caught by the
 * sanitizers this suite runs under in CI (tools/test.sh: the ASan build).
 * N schedule: every N up to 24, then JX_FAULT_SAMPLES (default 40) more spread over the
 * rest; JX_FAULT_ALL=1 runs every N (`cmake --build B --target fault_exhaustive`), and
 * JX_FAULT_PROGRAM=jit (say) only that program, JX_FAULT_FROM=N from that N on. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jx/coco.h>
#include <jx/nn.h>

#include <jx/idx.h>
#include "fault_files.h"
#define JX_FAULT_API_ONLY /* this suite's own output is not counted */
#include "fault.h"
#include "harness.h"
#include "ir.h"

static char tmpdir[256], idx_path[300], coco_path[300];

/* FNV-1a over bytes, chained. */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211u;
    return h;
}
#define FNV0 14695981039346656037u

static uint64_t hash_arrays(int n, jx_array *const *a) {
    uint64_t h = FNV0;
    for (int i = 0; i < n; i++) {
        jx_aval av = jx_array_aval(a[i]);
        h = fnv(h, &av, sizeof av);
        h = fnv(h, jx_array_data(a[i]), jx_array_nbytes(a[i]));
    }
    return h;
}

static void release_all(int n, jx_array **a) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]);
}

/* ------------------------------------------------------------------ the programs
 * Each returns JX_OK with a hash of its result in *h, or the failing status (the
 * thread's error then says why). */

/* loss(w, b, x, y) = mean(-sum(one_hot(y) * log_softmax(relu(x @ w + b)))) */
static void mlp_loss(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val z = jx_relu(jx_add(jx_matmul(in[2], in[0]), in[1]));
    jx_val l = jx_mul(jx_one_hot(in[3], 3, JX_F32), jx_log_softmax(z, -1));
    out[0] = jx_neg(jx_mean(jx_sum(l, JX_INTS(1)), JX_NOINTS));
}

static jx_fn *trace_loss(void) {
    jx_aval av[4] = {JX_AVAL(JX_F32, 4, 3), JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 5, 4),
                     JX_AVAL(JX_I32, 5)};
    return jx_trace("mlp_loss", mlp_loss, NULL, 4, av, 1);
}

/* The loss's inputs, fixed. NULL entries on failure (release_all is safe on them). */
static int make_inputs(jx_array **in) {
    float w[12], b[3], x[20];
    int32_t y[5] = {0, 2, 1, 1, 0};
    for (int i = 0; i < 12; i++) w[i] = (float)((i * 7 % 11) - 5) / 8;
    for (int i = 0; i < 3; i++) b[i] = (float)i / 10;
    for (int i = 0; i < 20; i++) x[i] = (float)((i * 5 % 13) - 6) / 4;
    in[0] = jx_array_new(JX_F32, JX_INTS(4, 3), w);
    in[1] = jx_array_new(JX_F32, JX_INTS(3), b);
    in[2] = jx_array_new(JX_F32, JX_INTS(5, 4), x);
    in[3] = jx_array_new(JX_I32, JX_INTS(5), y);
    return in[0] && in[1] && in[2] && in[3];
}

/* Trace, print, parse the text back, print again: the texts must agree. */
static jx_status prog_trace(uint64_t *h) {
    jx_fn *f = trace_loss(), *g = NULL;
    char *s1 = NULL, *s2 = NULL;
    jx_status st = JX_OK;
    if (!f || !(s1 = jx_fn_to_string(f)) || !(g = jx_fn_parse(s1)) || !(s2 = jx_fn_to_string(g)))
        st = jx_errcode();
    else if (strcmp(s1, s2) != 0)
        st = JX_ERR_INTERNAL;
    else
        *h = fnv(FNV0, s1, strlen(s1));
    free(s1);
    free(s2);
    jx_fn_release(g);
    jx_fn_release(f);
    return st;
}

/* Evaluates fn(f) on the loss's inputs with the interpreter. */
static jx_status eval_hash(jx_fn *f, int nin, jx_array **in, uint64_t *h) {
    if (!f) return jx_errcode();
    int nout = jx_fn_num_outputs(f);
    jx_array *out[8] = {0};
    jx_status st = jx_eval(f, nin, in, nout, out);
    if (st == JX_OK) *h = hash_arrays(nout, out);
    release_all(nout, out);
    return st;
}

static jx_status prog_grad(uint64_t *h) {
    jx_array *in[4] = {0};
    jx_fn *f = trace_loss(), *g = f ? jx_value_and_grad(f, JX_INTS(0, 1)) : NULL;
    jx_status st = !g ? jx_errcode() : !make_inputs(in) ? jx_errcode() : eval_hash(g, 4, in, h);
    release_all(4, in);
    jx_fn_release(g);
    jx_fn_release(f);
    return st;
}

/* Per-example gradients: vmap(grad(loss)) over x and y, the parameters shared. */
static jx_status prog_vmap(uint64_t *h) {
    jx_array *in[4] = {0};
    jx_fn *f = trace_loss(), *g = f ? jx_grad(f, JX_INTS(0)) : NULL;
    jx_fn *v = g ? jx_vmap(g, JX_INTS(JX_NOT_MAPPED, JX_NOT_MAPPED, 0, 0), JX_NOINTS, 2) : NULL;
    jx_status st = !v ? jx_errcode() : JX_OK;
    if (st == JX_OK && make_inputs(in)) {
        /* x and y with a leading axis of 2: the same batch twice, reshaped */
        float x2[40];
        int32_t y2[10];
        memcpy(x2, jx_array_data(in[2]), sizeof x2 / 2);
        memcpy(x2 + 20, jx_array_data(in[2]), sizeof x2 / 2);
        memcpy(y2, jx_array_data(in[3]), sizeof y2 / 2);
        memcpy(y2 + 5, jx_array_data(in[3]), sizeof y2 / 2);
        jx_array_release(in[2]);
        jx_array_release(in[3]);
        in[2] = jx_array_new(JX_F32, JX_INTS(2, 5, 4), x2);
        in[3] = jx_array_new(JX_I32, JX_INTS(2, 5), y2);
        st = in[2] && in[3] ? eval_hash(v, 4, in, h) : jx_errcode();
    } else if (st == JX_OK) {
        st = jx_errcode();
    }
    release_all(4, in);
    jx_fn_release(v);
    jx_fn_release(g);
    jx_fn_release(f);
    return st;
}

/* jit of value_and_grad on one thread (so allocations come in a fixed order), compiled
 * afresh (cache cleared) and run twice. */
static jx_status prog_jit(uint64_t *h) {
    jx_jit_cache_clear();
    jx_array *in[4] = {0}, *out[3] = {0};
    jx_fn *f = trace_loss(), *g = f ? jx_value_and_grad(f, JX_INTS(0, 1)) : NULL;
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.nthreads = 1;
    jx_exec *x = g ? jx_jit(g, JX_DEVICE_CPU, &o) : NULL;
    jx_status st = !x ? jx_errcode() : !make_inputs(in) ? jx_errcode() : JX_OK;
    for (int rep = 0; rep < 2 && st == JX_OK; rep++) {
        release_all(3, out);
        memset(out, 0, sizeof out);
        st = jx_exec_run(x, 4, in, 3, out);
    }
    if (st == JX_OK) *h = hash_arrays(3, out);
    release_all(3, out);
    release_all(4, in);
    jx_exec_release(x);
    jx_fn_release(g);
    jx_fn_release(f);
    return st;
}

/* rnn(w, h0, xs) = sum(h_T), h_t = tanh(h_{t-1} @ w + x_t): a scan, differentiated and
 * compiled (nested functions through grad and the jit's loop bodies). */
static void rnn_step(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_tanh(jx_add(jx_matmul(in[0], *(const jx_val *)user), in[1]));
}

static void rnn(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h;
    jx_scan(rnn_step, (void *)&in[0], 4, 0, 1, &in[1], 1, &in[2], 0, &h);
    out[0] = jx_sum(h, JX_NOINTS);
}

static jx_status prog_scan(uint64_t *h) {
    jx_jit_cache_clear();
    jx_aval av[3] = {JX_AVAL(JX_F32, 3, 3), JX_AVAL(JX_F32, 1, 3), JX_AVAL(JX_F32, 4, 1, 3)};
    float w[9], h0[3] = {0.1f, -0.2f, 0.3f}, xs[12];
    for (int i = 0; i < 9; i++) w[i] = (float)((i * 4 % 7) - 3) / 5;
    for (int i = 0; i < 12; i++) xs[i] = (float)((i * 5 % 9) - 4) / 6;
    jx_array *in[3] = {0}, *out[2] = {0};
    jx_fn *f = jx_trace("rnn", rnn, NULL, 3, av, 1), *g = f ? jx_value_and_grad(f, JX_INTS(0)) : NULL;
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.nthreads = 1;
    jx_exec *x = g ? jx_jit(g, JX_DEVICE_CPU, &o) : NULL;
    jx_status st = x ? JX_OK : jx_errcode();
    if (st == JX_OK && (!(in[0] = jx_array_new(JX_F32, JX_INTS(3, 3), w)) ||
                        !(in[1] = jx_array_new(JX_F32, JX_INTS(1, 3), h0)) ||
                        !(in[2] = jx_array_new(JX_F32, JX_INTS(4, 1, 3), xs))))
        st = jx_errcode();
    if (st == JX_OK) st = jx_exec_run(x, 3, in, 2, out);
    if (st == JX_OK) *h = hash_arrays(2, out);
    release_all(2, out);
    release_all(3, in);
    jx_exec_release(x);
    jx_fn_release(g);
    jx_fn_release(f);
    return st;
}

/* A fused kernel that broadcasts a scalar input (broadcast_in_dim of a rank-0 value):
 * small enough for CI to fail every one of its allocations. The kernel builder's index of
 * the broadcast once dereferenced NULL when its allocation failed (the exhaustive sweep of
 * the nn step found it, at Adam's scalar step size). */
static void bcast(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val s = jx_broadcast_in_dim(in[1], JX_INTS(3, 4), JX_NOINTS);
    out[0] = jx_exp(jx_mul(in[0], s));
}

static jx_status prog_bcast(uint64_t *h) {
    jx_jit_cache_clear();
    jx_aval av[2] = {JX_AVAL(JX_F32, 3, 4), JX_SCALAR(JX_F32)};
    float x[12], s = 0.5f;
    for (int i = 0; i < 12; i++) x[i] = (float)(i - 6) / 4;
    jx_array *in[2] = {0}, *out[1] = {0};
    jx_fn *f = jx_trace("bcast", bcast, NULL, 2, av, 1);
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.nthreads = 1;
    jx_exec *e = f ? jx_jit(f, JX_DEVICE_CPU, &o) : NULL;
    jx_status st = e ? JX_OK : jx_errcode();
    if (st == JX_OK && (!(in[0] = jx_array_new(JX_F32, JX_INTS(3, 4), x)) ||
                        !(in[1] = jx_array_new(JX_F32, JX_NOINTS, &s))))
        st = jx_errcode();
    if (st == JX_OK) st = jx_exec_run(e, 2, in, 1, out);
    if (st == JX_OK) *h = hash_arrays(1, out);
    release_all(1, out);
    release_all(2, in);
    jx_exec_release(e);
    jx_fn_release(f);
    return st;
}

/* The IDX reader (the library's, src/data/idx.c). */
static jx_status prog_idx(uint64_t *h) {
    char err[JX_IDX_ERR_MAX];
    jx_array *a = jx_idx_read(idx_path, JX_IDX_LABELS, err, sizeof err);
    if (!a || jx_idx_check_labels(a, 10, idx_path, err, sizeof err) != 0) {
        jx_array_release(a);
        /* the reader's own errors are strings: map out of memory to its status */
        jx__fail(strstr(err, "out of memory") ? JX_ERR_NOMEM : JX_ERR_IO, jx__noloc, NULL, "%s", err);
        return jx_errcode();
    }
    *h = hash_arrays(1, &a);
    jx_array_release(a);
    return JX_OK;
}

/* A training step with the nn API: dense layer, softmax cross-entropy, Adam, traced over
 * trees (jx_tree_trace, jx_tree_value_and_grad), jitted, run twice, then the new
 * parameters checkpointed and read back. */
static void nn_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val z = jx_nn_dense(jx_tree_get_val(in[1], "x"), jx_tree_get_val(in[0], "w"), jx_tree_get_val(in[0], "b"));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(z, jx_tree_get_val(in[1], "y"), -1));
}

static void nn_step(jx_tree **out, jx_tree *const *in, void *user) {
    jx_tree *vals[1] = {NULL}, *grads = NULL, *args[2] = {in[0], in[2]};
    if (jx_tree_value_and_grad(nn_loss, NULL, 2, args, 0, 1, vals, &grads) != JX_OK) return;
    jx_optim_update(user, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = vals[0];
    jx_tree_free(grads);
}

/* Moves *a into the tree at path (the tree takes it over, *a becomes NULL); nonzero when
 * the tree or the array is missing or the set fails. */
static int set(jx_tree *t, const char *path, jx_array **a) {
    jx_array *x = *a;
    *a = NULL;
    if (!t || !x) {
        jx_array_release(x);
        return 1;
    }
    return jx_tree_set_array(t, path, x) != JX_OK;
}

static jx_status prog_nn(uint64_t *h) {
    jx_jit_cache_clear();
    jx_array *in[4] = {0};
    jx_tree *params = jx_tree_dict(), *batch = jx_tree_dict(), *state = NULL, *out[3] = {0};
    jx_tree_fn *step = NULL;
    jx_exec *x = NULL;
    jx_optim opt = jx_optim_adam(jx_schedule_constant(1e-2), 0.9, 0.999, 1e-8);
    jx_status st = JX_OK;
    /* make_inputs' arrays, moved into the trees (what is left unmoved on a failure freed) */
    int bad = !make_inputs(in) || set(params, "w", &in[0]) || set(params, "b", &in[1]) ||
              set(batch, "x", &in[2]) || set(batch, "y", &in[3]);
    release_all(4, in);
    if (bad) {
        st = jx_errcode() ? jx_errcode() : JX_ERR_NOMEM;
        goto done;
    }
    jx_tree *tin[3] = {params, NULL, batch};
    if (!(state = jx_optim_init(&opt, params)) || !(tin[1] = state) ||
        !(step = jx_tree_trace("nn_step", nn_step, &opt, 3, tin, 3))) {
        st = jx_errcode();
        goto done;
    }
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.nthreads = 1;
    if (!(x = jx_jit(jx_tree_fn_fn(step), JX_DEVICE_CPU, &o))) {
        st = jx_errcode();
        goto done;
    }
    for (int rep = 0; rep < 2 && st == JX_OK; rep++) {
        st = jx_tree_fn_run(step, x, 3, tin, 3, out);
        if (st != JX_OK) break;
        jx_tree_free(tin[0]), jx_tree_free(tin[1]), jx_tree_free(out[2]);
        params = tin[0] = out[0], state = tin[1] = out[1];
        memset(out, 0, sizeof out);
    }
    char path[400];
    snprintf(path, sizeof path, "%s/nn.safetensors", tmpdir);
    const char *names[1] = {"params"};
    const jx_tree *trees[1] = {params}, *like[1] = {params};
    jx_tree *back[1] = {NULL};
    if (st == JX_OK) st = jx_checkpoint_save(path, 1, names, trees, NULL);
    if (st == JX_OK) st = jx_checkpoint_load(path, 1, names, like, back, NULL);
    if (st == JX_OK) {
        jx_array *a[2] = {jx_tree_get_array(back[0], "w"), jx_tree_get_array(back[0], "b")};
        *h = hash_arrays(2, a);
    }
    jx_tree_free(back[0]);
done:
    jx_exec_release(x);
    jx_tree_fn_free(step);
    jx_tree_free(params), jx_tree_free(state), jx_tree_free(batch);
    return st;
}

/* The COCO reader: JSON, polygons and RLE decoded into a semantic mask. */
static jx_status prog_coco(uint64_t *h) {
    jx_coco *c = NULL;
    jx_status st = jx_coco_load(coco_path, &c);
    if (st != JX_OK) return st;
    size_t n = 0;
    const jx_coco_image *im = jx_coco_images(c, &n);
    static uint8_t mask[20 * 24]; /* the file's one image (not malloc'd: not jx's allocation) */
    if (n != 1 || (size_t)im[0].height * im[0].width != sizeof mask) st = JX_ERR_INTERNAL;
    else st = jx_coco_semantic_mask(c, 0, NULL, mask);
    if (st == JX_OK) *h = fnv(FNV0, mask, sizeof mask);
    jx_coco_free(c);
    return st;
}

/* ------------------------------------------------------------------ the driver */

/* LeakSanitizer's check on demand, when the suite runs under it (JX_FAULT_VERBOSE): a leak
 * is then reported right after the run that made it. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/* Runs p with the Nth allocation failing for each N of the schedule (every N when every
 * is set); returns the number of failures that did not end as they should (each printed). */
static int sweep(const char *name, jx_status (*p)(uint64_t *), int every) {
    const char *only = getenv("JX_FAULT_PROGRAM"); /* run just this one (when debugging) */
    if (only && *only && strcmp(only, name) != 0) return 0;
    uint64_t ref = 0, h = 0;
    jx__fault_arm(0);
    p(&ref); /* the first run makes the process-wide state (pools, caches) */
    jx__fault_arm(0);
    jx_status st = p(&ref);
    long total = jx__fault_calls();
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
    const char *all = getenv("JX_FAULT_ALL"), *ns = getenv("JX_FAULT_SAMPLES");
    long samples = ns && *ns ? atol(ns) : 40, dense = 24, step = 1;
    if (!every && !(all && *all && strcmp(all, "0") != 0) && total > dense + samples)
        step = (total - dense) / samples + 1;
    int bad = 0;
    const char *from = getenv("JX_FAULT_FROM"); /* the first N (when debugging) */
    long runs = 0, absorbed = 0, n = from && *from ? atol(from) : 1;
    for (;; n += n <= dense ? 1 : step) {
        if (getenv("JX_FAULT_VERBOSE")) fprintf(stderr, "\n  %s: N = %ld", name, n);
        jx__host_cache_trim();
        jx_clear_error();
        jx__fault_arm(n);
        h = 0;
        st = p(&h);
        int fired = jx__fault_fired();
        jx__fault_arm(0);
        runs++;
        if (!fired) {
            if (st != JX_OK || h != ref) {
                fprintf(stderr, "\n  %s: the run past every allocation gave %s: %s", name,
                        jx_status_name(st), jx_errmsg());
                bad++;
            }
            break;
        }
        if (st == JX_OK) {
            absorbed++;
            if (h != ref) {
                fprintf(stderr, "\n  %s: allocation %ld failed, the run succeeded with a different result", name, n);
                bad++;
            }
        } else if (st != JX_ERR_NOMEM || !strstr(jx_errmsg(), "out of memory")) {
            fprintf(stderr, "\n  %s: allocation %ld failed, the run ended with %s: %s", name, n,
                    jx_status_name(st), jx_errmsg());
            bad++;
        }
        if (getenv("JX_FAULT_VERBOSE") && __lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check())
            fprintf(stderr, "\n  %s: the run with allocation %ld failing leaked (above)", name, n);
        h = 0;
        st = p(&h);
        if (st != JX_OK || h != ref) {
            fprintf(stderr, "\n  %s: after allocation %ld failed, a clean run gave %s%s", name, n,
                    jx_status_name(st), st == JX_OK ? " with a different result" : jx_errmsg());
            bad++;
        }
        if (bad > 10) break;
    }
    printf("\n  %s: %ld allocations, %ld runs with one failing (%ld absorbed), %d wrong", name,
           total, runs - 1, absorbed, bad);
    return bad;
}

static void test_trace(void) { CU_ASSERT_EQUAL(sweep("trace+parse", prog_trace, 0), 0); }
static void test_grad(void) { CU_ASSERT_EQUAL(sweep("value_and_grad", prog_grad, 0), 0); }
static void test_vmap(void) { CU_ASSERT_EQUAL(sweep("vmap(grad)", prog_vmap, 0), 0); }
static void test_jit(void) { CU_ASSERT_EQUAL(sweep("jit", prog_jit, 0), 0); }
static void test_scan(void) { CU_ASSERT_EQUAL(sweep("scan", prog_scan, 0), 0); }
static void test_idx(void) { CU_ASSERT_EQUAL(sweep("jx_idx_read", prog_idx, 0), 0); }
static void test_nn(void) { CU_ASSERT_EQUAL(sweep("nn train step", prog_nn, 0), 0); }
static void test_coco(void) { CU_ASSERT_EQUAL(sweep("coco_load", prog_coco, 0), 0); }
static void test_bcast(void) { CU_ASSERT_EQUAL(sweep("scalar broadcast kernel", prog_bcast, 1), 0); }

/* Walking a tree (counting, flattening) allocates nothing, so it cannot fail: a walk that
 * failed once made jx_tree_num_leaves return 0, a traced step then mis-sized and a
 * checkpoint written without its tensors. Rebuilding (jx_tree_copy) fails at each of its
 * allocations with "out of memory" recorded, never a NULL without an error. */
static void test_tree_walk(void) {
    float v[2] = {1, 2};
    jx_tree *t = jx_tree_dict();
    jx_array *a = jx_array_new(JX_F32, JX_INTS(2), v), *b = jx_array_new(JX_F32, JX_INTS(2), v);
    CU_ASSERT_FATAL(t && a && b && !set(t, "a", &a) && !set(t, "b.c", &b));
    jx__fault_arm(1);
    int n = jx_tree_num_leaves(t);
    jx_array *flat[2] = {NULL, NULL};
    int nf = jx_tree_flatten_arrays(t, flat, 2);
    long calls = jx__fault_calls();
    jx__fault_arm(0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(nf, 2);
    CU_ASSERT(flat[0] && flat[1]);
    CU_ASSERT_EQUAL(calls, 0);
    long runs = 0;
    for (long k = 1;; k++, runs++) {
        jx_clear_error();
        jx__fault_arm(k);
        jx_tree *c = jx_tree_copy(t);
        int fired = jx__fault_fired();
        jx__fault_arm(0);
        if (!fired) {
            CU_ASSERT(c != NULL);
            jx_tree_free(c);
            break;
        }
        CU_ASSERT(c == NULL);
        CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_NOMEM);
        CU_ASSERT_PTR_NOT_NULL(strstr(jx_errmsg(), "out of memory"));
        jx_tree_free(c);
    }
    CU_ASSERT(runs >= 5); /* nodes, their kid and key arrays, the keys */
    jx_tree_free(t);
}

int main(void) {
#ifndef JX_FAULT_INJECT
    printf("skipped: allocation-failure injection needs cmake -DJX_FAULT_INJECT=ON\n");
    return 77;
#endif
    if (jt_fault_tmpdir(tmpdir, sizeof tmpdir, "jx_test_fault")) return 1;
    snprintf(idx_path, sizeof idx_path, "%s/labels.gz", tmpdir);
    snprintf(coco_path, sizeof coco_path, "%s/coco.json", tmpdir);
    if (jt_fault_write_idx(idx_path, 300) || jt_fault_write_coco(coco_path)) return 1;
    CU_TestInfo tests[] = {
        {"trace, print and parse", test_trace},
        {"value_and_grad evaluated", test_grad},
        {"vmap of grad evaluated", test_vmap},
        {"jit compile and run", test_jit},
        {"grad of a scan, compiled", test_scan},
        {"the IDX reader", test_idx},
        {"a training step with the nn API", test_nn},
        {"the COCO reader", test_coco},
        {"a scalar broadcast kernel, every N", test_bcast},
        {"tree walks never allocate", test_tree_walk},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("fault", tests);
    jx_jit_cache_clear();
    jx__host_cache_trim();
    remove(idx_path);
    remove(coco_path);
    snprintf(coco_path, sizeof coco_path, "%s/nn.safetensors", tmpdir);
    remove(coco_path);
    rmdir(tmpdir);
    return rc;
}
