/* gradcheck.c: see gradcheck.h. */
#include "gradcheck.h"

#include <stdio.h>
#include <stdlib.h>

static double next_unit(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

jx_array *jt_random(jx_ints shape, double lo, double hi, uint64_t *seed) {
    jx_array *a = jx_array_zeros(JX_F64, shape);
    if (!a) return NULL;
    double *d = jx_array_data_mut(a);
    for (int64_t i = 0; i < jx_array_size(a); i++) d[i] = lo + (hi - lo) * next_unit(seed);
    return a;
}

/* Random direction for each f64 input, zeros elsewhere (same avals). */
static void directions(const jx_fn *f, jx_array *const *x, jx_array **dx, uint64_t *seed) {
    for (int i = 0; i < jx_fn_num_inputs(f); i++) {
        jx_aval a = jx_array_aval(x[i]);
        jx_ints s = {a.shape, a.rank};
        dx[i] = a.dtype == JX_F64 ? jt_random(s, -1, 1, seed) : jx_array_zeros(a.dtype, s);
    }
}

static double dot(const jx_array *a, const jx_array *b) {
    double s = 0;
    if (jx_array_dtype(a) != JX_F64) return 0;
    for (int64_t i = 0; i < jx_array_size(a); i++) s += jx_array_get(a, i) * jx_array_get(b, i);
    return s;
}

static void release_all(jx_array **a, int n) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]);
}

/* x + t*dx for f64 inputs (others copied by reference). */
static void shifted(int n, jx_array *const *x, jx_array *const *dx, double t, jx_array **out) {
    for (int i = 0; i < n; i++) {
        if (jx_array_dtype(x[i]) != JX_F64) {
            out[i] = jx_array_retain(x[i]);
            continue;
        }
        jx_aval a = jx_array_aval(x[i]);
        out[i] = jx_array_zeros(JX_F64, (jx_ints){a.shape, a.rank});
        double *o = jx_array_data_mut(out[i]);
        for (int64_t k = 0; k < jx_array_size(x[i]); k++) o[k] = jx_array_get(x[i], k) + t * jx_array_get(dx[i], k);
    }
}

double jt_jvp_error(const jx_fn *f, jx_array *const *x, double h, uint64_t seed) {
    int n = jx_fn_num_inputs(f), m = jx_fn_num_outputs(f);
    jx_fn *jf = jx_jvp(f);
    if (!jf) {
        fprintf(stderr, "\n  jvp failed: %s\n", jx_errmsg());
        return INFINITY;
    }
    jx_array *dx[16], *in[32], *out[32], *xp[16], *xm[16], *yp[16], *ym[16];
    directions(f, x, dx, &seed);
    for (int i = 0; i < n; i++) in[i] = x[i], in[n + i] = dx[i];
    double err = INFINITY;
    if (jt_eval(jf, 2 * n, in, 2 * m, out) != JX_OK) {
        fprintf(stderr, "\n  jvp eval failed: %s\n", jx_errmsg());
        release_all(dx, n);
        jx_fn_release(jf);
        return err;
    }
    shifted(n, x, dx, h, xp);
    shifted(n, x, dx, -h, xm);
    if (jt_eval(f, n, xp, m, yp) == JX_OK && jt_eval(f, n, xm, m, ym) == JX_OK) {
        err = 0;
        for (int j = 0; j < m; j++) {
            if (jx_array_dtype(yp[j]) != JX_F64) continue;
            for (int64_t k = 0; k < jx_array_size(yp[j]); k++) {
                double fd = (jx_array_get(yp[j], k) - jx_array_get(ym[j], k)) / (2 * h);
                double an = jx_array_get(out[m + j], k);
                double e = fabs(an - fd) / (fabs(fd) > 1 ? fabs(fd) : 1);
                if (!(e <= err)) err = e; /* NaN becomes the error */
            }
        }
        release_all(yp, m);
        release_all(ym, m);
    } else {
        fprintf(stderr, "\n  eval failed: %s\n", jx_errmsg());
    }
    release_all(xp, n);
    release_all(xm, n);
    release_all(out, 2 * m);
    release_all(dx, n);
    jx_fn_release(jf);
    return err;
}

double jt_vjp_error(const jx_fn *f, jx_array *const *x, uint64_t seed) {
    int n = jx_fn_num_inputs(f), m = jx_fn_num_outputs(f);
    jx_fn *jf = jx_jvp(f), *vf = jx_vjp(f);
    double err = INFINITY;
    if (!jf || !vf) {
        fprintf(stderr, "\n  transform failed: %s\n", jx_errmsg());
        jx_fn_release(jf);
        jx_fn_release(vf);
        return err;
    }
    jx_array *dx[16], *yb[16], *in[32], *jo[32], *vo[32];
    directions(f, x, dx, &seed);
    for (int j = 0; j < m; j++) {
        jx_aval a = jx_fn_output_aval(f, j);
        jx_ints s = {a.shape, a.rank};
        yb[j] = a.dtype == JX_F64 ? jt_random(s, -1, 1, &seed) : jx_array_zeros(a.dtype, s);
    }
    for (int i = 0; i < n; i++) in[i] = x[i], in[n + i] = dx[i];
    int okj = jt_eval(jf, 2 * n, in, 2 * m, jo) == JX_OK;
    if (!okj) fprintf(stderr, "\n  jvp eval failed: %s\n", jx_errmsg());
    for (int j = 0; j < m; j++) in[n + j] = yb[j];
    int okv = okj && jt_eval(vf, n + m, in, m + n, vo) == JX_OK;
    if (okj && !okv) fprintf(stderr, "\n  vjp eval failed: %s\n", jx_errmsg());
    if (okv) {
        double lhs = 0, rhs = 0;
        for (int j = 0; j < m; j++) lhs += dot(yb[j], jo[m + j]);
        for (int i = 0; i < n; i++) rhs += dot(vo[m + i], dx[i]);
        err = fabs(lhs - rhs) / (fabs(lhs) > 1 ? fabs(lhs) : 1);
        release_all(vo, m + n);
    }
    if (okj) release_all(jo, 2 * m);
    release_all(dx, n);
    release_all(yb, m);
    jx_fn_release(jf);
    jx_fn_release(vf);
    return err;
}

int jt_check_grads(const char *name, jx_body body, void *user, int nin, const jx_aval *avals,
                   double lo, double hi, double tol) {
    jx_fn *f = jx_trace(name, body, user, nin, avals, 1);
    if (!f) {
        fprintf(stderr, "\n  %s: trace failed: %s\n", name, jx_errmsg());
        return 0;
    }
    uint64_t seed = 1234;
    jx_array *x[16];
    for (int i = 0; i < nin; i++) x[i] = jt_random((jx_ints){avals[i].shape, avals[i].rank}, lo, hi, &seed);
    double ej = jt_jvp_error(f, x, 1e-6, 7), ev = jt_vjp_error(f, x, 11);
    int ok = ej <= tol && ev <= 1e-10;
    if (!ok) fprintf(stderr, "\n  %s: jvp error %g (tol %g), vjp identity error %g\n", name, ej, tol, ev);
    release_all(x, nin);
    jx_fn_release(f);
    return ok;
}
