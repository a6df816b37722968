/* test_jit_exec_plan.c: the jit core's internals: buffer slots by liveness (reuse,
 * in place, donation), the thread pool's static split, and one executable run from
 * several threads at once. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "../../src/backends/cpu/cpu.h"
#include "../../src/jit/plan.h"
#include "jit_util.h"

/* eight elementwise steps on one f32[1000] */
static void chain(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val x = in[0];
    for (int i = 0; i < 4; i++) x = jx_tanh(jx_mul(x, jx_scalar(JX_F32, 1.5)));
    out[0] = x;
}

static void test_slots_reused(void) {
    jx_aval a = JX_AVAL(JX_F32, 1000);
    jx_fn *f = jx_trace("chain", chain, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    /* unfused: one step per equation; the input is the caller's, so the chain runs in
     * one more slot, each step in place of the last */
    jx__prog *p = jx__prog_build(f, false, &jx__cpu_backend, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nsteps, 8);
    CU_ASSERT_EQUAL(p->nslots, 2);
    CU_ASSERT_EQUAL(p->slot_bytes[1], 4000);
    CU_ASSERT_EQUAL(p->steps[0].inplace[0], -1); /* not over the caller's input */
    CU_ASSERT_EQUAL(p->steps[1].inplace[0], 0);
    jx__prog_free(p);
    /* donated: everything happens in the input's slot */
    bool don = true;
    p = jx__prog_build(f, false, &jx__cpu_backend, NULL, &don);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nslots, 1);
    CU_ASSERT_EQUAL(p->steps[0].inplace[0], 0);
    jx__prog_free(p);
    jx_fn_release(f);
}

/* y = transpose(x) + 1 then a reduction: no in place across a transpose, but a dead
 * buffer of the same size is reused */
static void shuffle(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val t = jx_transpose(jx_exp(in[0]), JX_INTS(1, 0));
    jx_val u = jx_transpose(jx_neg(t), JX_INTS(1, 0));
    out[0] = jx_sum(u, JX_INTS(0));
}

static void test_slots_by_size(void) {
    jx_aval a = JX_AVAL(JX_F32, 16, 8);
    jx_fn *f = jx_trace("shuffle", shuffle, NULL, 1, &a, 1);
    jx__prog *p = f ? jx__prog_build(f, false, &jx__cpu_backend, NULL, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nsteps, 5);
    /* input, exp, transpose (exp's slot is still live), neg (in place), transpose
     * (reuses exp's dead slot), the sum: 4 slots for 6 values */
    CU_ASSERT(p->nslots <= 4);
    for (int v = 0; v < p->f->nvars; v++)
        for (int w = v + 1; w < p->f->nvars; w++) {
            /* two values sharing a slot never live at the same time */
            if (p->slot[v] < 0 || p->slot[v] != p->slot[w]) continue;
            int born_w = -1;
            for (int k = 0; k < p->nsteps; k++)
                for (int o = 0; o < p->steps[k].g->nout; o++)
                    if (p->steps[k].g->out[o] == w) born_w = k;
            CU_ASSERT(p->last[v] <= born_w);
        }
    jx_array *x = ju_ramp(JX_INTS(16, 8), 0.01, -0.5);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 1, &x), 1);
    jx_array_release(x);
    jx__prog_free(p);
    jx_fn_release(f);
}

typedef struct cover {
    int hits[1000];
    int64_t begins[8];
    int nchunks;
    pthread_mutex_t mu;
} cover;

static void mark(void *ctx, int64_t b, int64_t e) {
    cover *c = ctx;
    for (int64_t i = b; i < e; i++) c->hits[i]++;
    pthread_mutex_lock(&c->mu);
    if (c->nchunks < 8) c->begins[c->nchunks] = b;
    c->nchunks++;
    pthread_mutex_unlock(&c->mu);
}

static void test_pool_split(void) {
    jx__pool *p = jx__pool_get(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(jx__pool_size(p), 4);
    CU_ASSERT_PTR_EQUAL(jx__pool_get(4), p); /* shared */
    for (int rep = 0; rep < 50; rep++) {
        cover c = {{0}, {0}, 0, PTHREAD_MUTEX_INITIALIZER};
        jx__pool_for(p, 1000, 10, mark, &c);
        int once = 1;
        for (int i = 0; i < 1000; i++) once &= c.hits[i] == 1;
        CU_ASSERT(once);
        CU_ASSERT_EQUAL(c.nchunks, 4);
        int64_t seen = 0; /* the chunks start at 0, 250, 500, 750 in some order */
        for (int i = 0; i < 4; i++) seen += c.begins[i];
        CU_ASSERT_EQUAL(seen, 0 + 250 + 500 + 750);
    }
    /* a grain larger than the work: one chunk on the caller */
    cover c = {{0}, {0}, 0, PTHREAD_MUTEX_INITIALIZER};
    jx__pool_for(p, 100, 1000, mark, &c);
    CU_ASSERT_EQUAL(c.nchunks, 1);
    CU_ASSERT_EQUAL(c.hits[99], 1);
    jx__pool_for(p, 0, 1, mark, &c); /* nothing to do */
    CU_ASSERT_EQUAL(c.nchunks, 1);
    CU_ASSERT(jx__default_threads() >= 1);
}

/* ------------------------------------------------------------------ concurrent runs */

static void mlp(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h = jx_relu(jx_matmul(in[0], in[1]));
    out[0] = jx_log_softmax(jx_matmul(h, in[2]), 1);
}

typedef struct job {
    jx_exec *x;
    jx_array **in;
    jx_array *out;
    jx_status st;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    for (int i = 0; i < 5 && j->st == JX_OK; i++) {
        jx_array_release(j->out);
        j->out = NULL;
        j->st = jx_exec_run(j->x, 3, j->in, 1, &j->out);
    }
    return NULL;
}

static void test_concurrent_runs(void) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 64, 32), JX_AVAL(JX_F32, 32, 48), JX_AVAL(JX_F32, 48, 10)};
    jx_fn *f = jx_trace("mlp", mlp, NULL, 3, av, 1);
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.nthreads = 3;
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *in[3] = {ju_ramp(JX_INTS(64, 32), 0.001, -1), ju_ramp(JX_INTS(32, 48), 0.002, -1.5),
                       ju_ramp(JX_INTS(48, 10), -0.003, 1)};
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){x, in, NULL, JX_OK};
        pthread_create(&th[i], NULL, run_job, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(jobs[i].st, JX_OK);
        if (i && jobs[i].out && jobs[0].out) CU_ASSERT(ju_same_bits(jobs[i].out, jobs[0].out));
    }
    for (int i = 0; i < 4; i++) jx_array_release(jobs[i].out);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, &o, 3, in), 1);
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    jx_exec_release(x);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"slots: a chain reuses one buffer, in place", test_slots_reused},
        {"slots: reuse by size, never two live values in one", test_slots_by_size},
        {"pool: static split, every index once", test_pool_split},
        {"one executable run from four threads at once", test_concurrent_runs},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("jit_plan", tests);
    jx_jit_cache_clear();
    return rc;
}
