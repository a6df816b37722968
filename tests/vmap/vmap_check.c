/* vmap_check.c: see vmap_check.h. The loop side slices inputs with plain C index
 * arithmetic, so the check does not depend on the ops vmap itself is built from. */
#include "vmap_check.h"

#include <stdio.h>
#include <stdlib.h>

#define JT_MAXIO 32

jx_array *jt_slice_axis(const jx_array *x, int axis, int64_t i) {
    int r = jx_array_rank(x);
    const int64_t *sh = jx_array_shape(x);
    if (axis < 0 || axis >= r || i < 0 || i >= sh[axis]) return NULL;
    int64_t outer = 1, inner = (int64_t)jx_dtype_size(jx_array_dtype(x)), shape[JX_MAX_RANK];
    for (int d = 0; d < axis; d++) outer *= sh[d];
    for (int d = axis + 1; d < r; d++) inner *= sh[d];
    for (int d = 0, k = 0; d < r; d++)
        if (d != axis) shape[k++] = sh[d];
    char *buf = malloc((size_t)(outer * inner) + 1);
    if (!buf) return NULL;
    const char *src = jx_array_data(x);
    for (int64_t o = 0; o < outer; o++)
        memcpy(buf + o * inner, src + (o * sh[axis] + i) * inner, (size_t)inner);
    jx_array *y = jx_array_new(jx_array_dtype(x), (jx_ints){shape, r - 1}, buf);
    free(buf);
    return y;
}

/* Max relative difference of a and b (same dtype and shape, else INFINITY). */
static double diff(const jx_array *a, const jx_array *b) {
    jx_aval x = jx_array_aval(a), y = jx_array_aval(b);
    if (!jx_aval_equal(&x, &y)) return INFINITY;
    int64_t n = jx_array_size(a);
    double *w = malloc(sizeof *w * (size_t)(n ? n : 1));
    if (!w) return INFINITY;
    for (int64_t k = 0; k < n; k++) w[k] = jx_array_get(b, k);
    double e = jt_max_err(a, w, n);
    free(w);
    return e;
}

/* Normalises in_axes against the batched inputs; -2 for a bad entry. JX_NOT_MAPPED -> -1. */
static int norm_in(jx_ints in_axes, int i, const jx_array *x) {
    int64_t a = in_axes.n ? in_axes.v[i] : 0;
    if (a == JX_NOT_MAPPED) return -1;
    int r = jx_array_rank(x);
    if (a < 0) a += r;
    return a >= 0 && a < r ? (int)a : -2;
}

int jt_check_vmapped(const char *what, const jx_fn *f, const jx_fn *g, jx_ints in_axes,
                     jx_ints out_axes, int64_t axis_size, int nin, jx_array *const *in,
                     double tol) {
    int nout = jx_fn_num_outputs(f), ok = 1;
    if (nin > JT_MAXIO || nout > JT_MAXIO || !g) {
        fprintf(stderr, "\n  %s: no vmapped function or too many inputs/outputs: %s\n", what,
                jx_errmsg());
        CU_FAIL("jt_check_vmap: setup");
        return 0;
    }
    int ax[JT_MAXIO];
    int64_t size = axis_size;
    for (int i = 0; i < nin; i++) {
        ax[i] = norm_in(in_axes, i, in[i]);
        if (ax[i] == -2) {
            fprintf(stderr, "\n  %s: bad in_axes entry %d\n", what, i);
            CU_FAIL("jt_check_vmap: in_axes");
            return 0;
        }
        if (ax[i] >= 0 && size < 0) size = jx_array_shape(in[i])[ax[i]];
    }
    jx_array *y[JT_MAXIO] = {0};
    /* jt_eval: with JX_TEST_JIT=1 the batched function is also compiled and compared */
    if (jt_eval(g, nin, in, nout, y) != JX_OK) {
        fprintf(stderr, "\n  %s: eval of the vmapped function failed: %s\n", what, jx_errmsg());
        CU_FAIL("jt_check_vmap: eval");
        return 0;
    }
    for (int64_t b = 0; b < size && ok; b++) {
        jx_array *xs[JT_MAXIO] = {0}, *ys[JT_MAXIO] = {0};
        for (int i = 0; i < nin; i++)
            xs[i] = ax[i] >= 0 ? jt_slice_axis(in[i], ax[i], b) : jx_array_retain(in[i]);
        if (jx_eval(f, nin, xs, nout, ys) != JX_OK) {
            fprintf(stderr, "\n  %s: eval of slice %lld failed: %s\n", what, (long long)b,
                    jx_errmsg());
            ok = 0;
        }
        for (int o = 0; o < nout && ok; o++) {
            int r = jx_array_rank(y[o]);
            int64_t a = out_axes.n ? out_axes.v[o] : 0;
            if (a < 0) a += r;
            jx_array *yb = a >= 0 && a < r && jx_array_shape(y[o])[a] == size
                               ? jt_slice_axis(y[o], (int)a, b) : NULL;
            double e = yb ? diff(yb, ys[o]) : INFINITY;
            if (!(e <= tol)) {
                char s1[96], s2[96];
                jx_aval g1 = jx_array_aval(y[o]), f1 = jx_array_aval(ys[o]);
                fprintf(stderr, "\n  %s: output %d slice %lld: error %g (vmapped %s axis %lld, "
                        "loop %s)\n", what, o, (long long)b, e, jx_aval_str(&g1, s1, 96),
                        (long long)a, jx_aval_str(&f1, s2, 96));
                if (yb && jx_array_size(yb) <= 64) {
                    fprintf(stderr, "    vmapped: ");
                    jx_array_print(stderr, yb);
                    fprintf(stderr, "\n    loop:    ");
                    jx_array_print(stderr, ys[o]);
                    fprintf(stderr, "\n");
                }
                ok = 0;
            }
            jx_array_release(yb);
        }
        for (int i = 0; i < nin; i++) jx_array_release(xs[i]);
        for (int o = 0; o < nout; o++) jx_array_release(ys[o]);
    }
    for (int o = 0; o < nout; o++) jx_array_release(y[o]);
    if (!ok) fprintf(stderr, "  (%s)\n", what);
    CU_ASSERT(ok);
    return ok;
}

int jt_check_vmap_out(const char *what, const jx_fn *f, jx_ints in_axes, jx_ints out_axes,
                      int nin, jx_array *const *in, double tol) {
    /* the mapped size, from the first mapped input (f's inputs do not carry it) */
    int64_t size = -1;
    for (int i = 0; i < nin && size < 0; i++) {
        int a = norm_in(in_axes, i, in[i]);
        if (a >= 0) size = jx_array_shape(in[i])[a];
    }
    jx_fn *g = jx_vmap(f, in_axes, out_axes, size);
    if (!g) {
        fprintf(stderr, "\n  %s: vmap failed: %s\n", what, jx_errmsg());
        CU_FAIL("jt_check_vmap: vmap failed");
        return 0;
    }
    int ok = jt_check_vmapped(what, f, g, in_axes, out_axes, size, nin, in, tol);
    jx_fn_release(g);
    return ok;
}

int jt_check_vmap(const char *what, const jx_fn *f, jx_ints in_axes, int nin,
                  jx_array *const *in, double tol) {
    return jt_check_vmap_out(what, f, in_axes, JX_NOINTS, nin, in, tol);
}

int jt_check_vmap_nested(const char *what, const jx_fn *f, jx_ints in1, jx_ints out1,
                         int64_t size1, jx_ints in2, jx_ints out2, int64_t size2, int nin,
                         jx_array *const *in, double tol) {
    jx_fn *inner = jx_vmap(f, in1, out1, size1);
    jx_fn *outer = inner ? jx_vmap(inner, in2, out2, size2) : NULL;
    int ok = 0;
    if (!outer) {
        fprintf(stderr, "\n  %s: vmap failed: %s\n", what, jx_errmsg());
        CU_FAIL("jt_check_vmap_nested: vmap failed");
    } else {
        ok = jt_check_vmapped(what, inner, outer, in2, out2, size2, nin, in, tol);
    }
    jx_fn_release(outer);
    jx_fn_release(inner);
    return ok;
}

jx_array *jt_vmap_input(const jt_vinput *in, int64_t size, jt_vfill fill) {
    int64_t shape[JX_MAX_RANK + 1], n = 1;
    int r = in->av.rank + (in->axis != JX_NOT_MAPPED);
    int64_t ax = in->axis == JX_NOT_MAPPED ? -1 : in->axis < 0 ? in->axis + r : in->axis;
    for (int d = 0, k = 0; d < r; d++) shape[d] = d == ax ? size : in->av.shape[k++];
    for (int d = 0; d < r; d++) n *= shape[d];
    double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    fill(in, n, v);
    jx_array *a = jt_array(in->av.dtype, (jx_ints){shape, r}, v);
    free(v);
    return a;
}

int jt_check_vmap_inputs(const char *what, const jx_fn *f, int nin, const jt_vinput *in,
                         int64_t size, jt_vfill fill, double tol) {
    int64_t axes[8];
    jx_array *xs[8] = {NULL};
    for (int i = 0; i < nin; i++) {
        axes[i] = in[i].axis;
        xs[i] = jt_vmap_input(&in[i], size, fill);
    }
    int ok = jt_check_vmap(what, f, (jx_ints){axes, nin}, nin, xs, tol);
    for (int i = 0; i < nin; i++) jx_array_release(xs[i]);
    return ok;
}

int jt_check_vmap_avals(const char *what, jx_body body, void *user, int nin, const jt_vinput *in,
                        int nout, int64_t size, jt_vfill fill, double tol, jx_fn **g) {
    jx_aval av[8];
    int64_t axes[8];
    for (int i = 0; i < nin; i++) {
        av[i] = in[i].av;
        axes[i] = in[i].axis;
    }
    jx_fn *f = jx_trace(what, body, user, nin, av, nout);
    if (!f) fprintf(stderr, "\n  %s: %s\n", what, jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(f);
    int ok = f && jt_check_vmap_inputs(what, f, nin, in, size, fill, tol);
    if (g) *g = f ? jx_vmap(f, (jx_ints){axes, nin}, JX_NOINTS, size) : NULL;
    jx_fn_release(f);
    return ok;
}

jx_array *jt_rnd(jx_dtype t, jx_ints shape, double lo, double hi, unsigned seed) {
    int64_t n = 1;
    for (int i = 0; i < shape.n; i++) n *= shape.v[i];
    double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = lo + (hi - lo) * (double)((seed >> 8) & 0xffff) / 65536.0;
        if (!jx_dtype_is_float(t)) v[i] = floor(v[i]);
    }
    jx_array *a = jt_array(t, shape, v);
    free(v);
    return a;
}

jx_array *jt_pattern(jx_dtype t, jx_ints shape, double (*val)(int64_t k, int seed), int seed) {
    int64_t n = 1;
    for (int i = 0; i < shape.n; i++) n *= shape.v[i];
    double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    for (int64_t k = 0; k < n; k++) v[k] = val(k, seed);
    jx_array *a = jt_array(t, shape, v);
    free(v);
    return a;
}

jx_fn *jt_trace_or_say(const char *name, jx_body body, void *user, int nin, const jx_aval *av, int nout) {
    jx_fn *f = jx_trace(name, body, user, nin, av, nout);
    if (!f) fprintf(stderr, "\n  trace %s: %s\n", name, jx_errmsg());
    return f;
}

void jt_release_arrays(int n, jx_array **a) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]);
}
