/* lib_check.h: checks of the CPU backend's library calls (jx__cpu_dot, jx__cpu_conv and
 * the paths behind them) against the interpreter's impl rules on random operands, with
 * no pool and pools of 2 and 4 threads; shared by test_jit_blas.c and test_jit_dnnl.c. */
#ifndef JX_TEST_LIB_CHECK_H
#define JX_TEST_LIB_CHECK_H
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/backends/cpu/cpu.h"
#include "../../src/jit/jit.h"
#include "harness.h"
#include "ir.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* Uniform in [-1, 1). */
static double rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / (double)(1ull << 53) * 2.0 - 1.0;
}

static jx_array *random_array(const jx_aval *a) {
    int64_t n = jx_aval_size(a);
    double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = rnd();
    jx_array *x = jt_array(a->dtype, (jx_ints){a->shape, a->rank}, v);
    free(v);
    return x;
}

/* max |a - b| / max(1, max |b|): GEMMs sum in another order than the reference. */
static double scaled_diff(const jx_array *a, const jx_array *b) {
    int64_t n = jx_array_size(b);
    if (jx_array_size(a) != n) return INFINITY;
    double d = 0, s = 1;
    for (int64_t i = 0; i < n; i++) {
        double x = jx_array_get(a, i), y = jx_array_get(b, i);
        d = fmax(d, fabs(x - y));
        s = fmax(s, fabs(y));
        if (x != x || y != y) return INFINITY;
    }
    return d / s;
}

typedef jx_status (*lib_fn)(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                            const jx_aval *oav, void *out);

/* Runs equation e of f (operands in[0], in[1]) through the impl rule and through lib
 * with no pool and pools of 2 and 4 threads; the results must agree within tol of the
 * reference and bit for bit with each other. Returns whether all of that held. */
static bool check_eqn(const char *what, const jx_fn *f, const jx__eqn *e, jx_array *const *in, lib_fn lib,
                      double tol) {
    jx__impl_rules_init();
    jx_aval oav = f->vars[e->out[0]];
    jx_aval av[2] = {jx_array_aval(in[0]), jx_array_aval(in[1])};
    const void *data[2] = {jx_array_data(in[0]), jx_array_data(in[1])};
    jx_array *ref = NULL;
    bool ok = jx__impl_rules[e->prim](e, in, &oav, &ref) == JX_OK;
    jx_array *got[3] = {NULL, NULL, NULL};
    jx__pool *pools[3] = {NULL, jx__pool_get(2), jx__pool_get(4)};
    for (int i = 0; ok && i < 3; i++) {
        got[i] = jx_array_full(oav.dtype, (jx_ints){oav.shape, oav.rank}, NAN); /* must be overwritten */
        ok = got[i] && lib(pools[i], e, av, data, &oav, jx_array_data_mut(got[i])) == JX_OK;
        if (!ok) fprintf(stderr, "\n  %s: %s\n", what, jx_errmsg());
    }
    if (ok) {
        double err = scaled_diff(got[0], ref);
        if (!(err <= tol)) fprintf(stderr, "\n  %s: error %g\n", what, err);
        ok = err <= tol;
        for (int i = 1; ok && i < 3; i++) {
            ok = memcmp(jx_array_data(got[0]), jx_array_data(got[i]), jx_array_nbytes(ref)) == 0;
            if (!ok) fprintf(stderr, "\n  %s: %d threads differ from 1\n", what, jx__pool_size(pools[i]));
        }
    }
    for (int i = 0; i < 3; i++) jx_array_release(got[i]);
    jx_array_release(ref);
    return ok;
}

/* Runs each equation of f with primitive prim (operands random of its avals) through
 * check_eqn; returns how many passed, or -1 after the first failure. */
static int check_prim_eqns(const char *what, const jx_fn *f, jx_prim prim, lib_fn lib, double tol) {
    int n = 0;
    for (int i = 0; i < f->neqn; i++) {
        const jx__eqn *e = &f->eqns[i];
        if (e->prim != (int)prim) continue;
        jx_aval a[2] = {jx__atom_aval(f, &e->in[0]), jx__atom_aval(f, &e->in[1])};
        jx_array *in[2] = {random_array(&a[0]), random_array(&a[1])};
        bool ok = check_eqn(what, f, e, in, lib, tol);
        jx_array_release(in[0]);
        jx_array_release(in[1]);
        if (!ok) return -1;
        n++;
    }
    return n;
}

/* Traces body on operands of avals a (one equation of primitive prim) and checks it. */
static bool check_body(const char *what, jx_body body, void *user, const jx_aval *a, jx_prim prim, lib_fn lib,
                       double tol) {
    jx_fn *f = jx_trace(what, body, user, 2, a, 1);
    if (!f) {
        fprintf(stderr, "\n  %s: %s\n", what, jx_errmsg());
        return false;
    }
    bool ok = f->neqn == 1 && check_prim_eqns(what, f, prim, lib, tol) == 1;
    jx_fn_release(f);
    return ok;
}

static double tol_of(jx_dtype t) { return t == JX_F32 ? 1e-5 : 1e-12; }

#endif /* JX_TEST_LIB_CHECK_H */
