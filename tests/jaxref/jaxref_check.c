/* jaxref_check.c: the driver of the differential suites against JAX (jaxref_check.h):
 * inputs written once, one python3 process per suite, comparison with the NaN and
 * tolerance rules, counts and worst errors printed. */
#define _POSIX_C_SOURCE 200809L /* popen, mkstemp */
#include "jaxref_check.h"
#include "vmap/vmap_check.h" /* jt_release_arrays */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const double edge[] = {0.0, 1.0, -1.0, 0.5, -2.5, 3.0, -0.0, 2.0, INFINITY, -INFINITY, NAN, 1e10, -7.25, 2.0};
enum { NEDGE = sizeof edge / sizeof *edge };
static const double idxs[] = {-1, 7, -7, 2, 0, -3, 4, 1, -5, 3, 9};
enum { NIDX = sizeof idxs / sizeof *idxs };

double jr_value(int d, int i, int64_t k) {
    /* in [-1, 1], and of full rank as a matrix (a plain sin(a k + b) is of rank 2) */
    double sm = 0.5 * (sin(0.37 * (double)k + 1.3 * i + 0.4) + cos(0.61 * (double)(k * k) + i));
    switch (d) {
    case JR_ANY: return edge[(i && k % 4 == 1 ? k : k + 5 * i) % NEDGE]; /* ties where k % 4 == 1 */
    case JR_SMOOTH: return 2 * sm;
    case JR_POS: return 0.3 + 1.25 * (1 + sm);
    case JR_UNIT: return 0.9 * sm;
    case JR_GT1: return 1.2 + 1.5 * (1 + sm);
    case JR_TIES: return floor(2.5 * sin(0.9 * (double)k + 0.35 * i));
    case JR_ZEROS: return k % 5 == 2 ? 0 : 2 * sm;
    case JR_IDX: return idxs[(k + 3 * i) % NIDX];
    default: return k % 7 == 3 ? -INFINITY : k == 5 ? INFINITY : 2 * sm; /* JR_INFS */
    }
}

static jx_ints parse_shape(const char *s, int64_t *dims) {
    int r = 0;
    while (*s && *s != 's') {
        dims[r++] = strtoll(s, (char **)&s, 10);
        if (*s == 'x') s++;
    }
    return (jx_ints){dims, r};
}

static int64_t size_of(jx_ints sh) {
    int64_t n = 1;
    for (int d = 0; d < sh.n; d++) n *= sh.v[d];
    return n;
}

/* an array of dtype t and shape sh with element k = f(c k + off) */
static jx_array *pattern(jx_dtype t, jx_ints sh, double (*f)(double), double c, double off) {
    int64_t n = size_of(sh);
    double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    for (int64_t k = 0; k < n; k++) v[k] = f(c * (double)k + off);
    jx_array *a = jt_array(t, sh, v);
    free(v);
    return a;
}

static jx_array *input(const jr_case *c, int i, jx_dtype t) {
    int64_t dims[JX_MAX_RANK];
    jx_ints sh = parse_shape(c->shapes[i], dims);
    int64_t n = size_of(sh);
    double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    for (int64_t k = 0; k < n; k++) v[k] = jr_value(c->idx >> i & 1 ? JR_IDX : c->domain, i, k);
    jx_array *a = jt_array(t, sh, v);
    free(v);
    return a;
}

typedef struct tally {
    long cases[2][3], elems[2][3];
    double worst[2][3];
    const char *worst_case[2][3];
} tally;

typedef struct ctx {
    const jr_suite *s;
    const jr_case *c;
    int dt;
    FILE *p;
    tally *t;
} ctx;

static const char *dt_name(int dt) { return dt ? "f64" : "f32"; }

/* Compares got (n arrays, flattened in order) with the next line of the script's
 * output ("count v..."). */
static void compare(ctx *x, int order, int n, jx_array *const *got) {
    const jr_case *c = x->c;
    long count = 0;
    CU_ASSERT_FATAL(fscanf(x->p, "%ld", &count) == 1);
    double tol = x->s->tols[c->group][x->dt] * (order ? 10 : 1);
    long total = 0;
    for (int a = 0; a < n; a++) total += got[a] ? (long)jx_array_size(got[a]) : -1;
    if (total != count) fprintf(stderr, "\n  %s %s order %d: jx has %ld values, JAX %ld", c->name, dt_name(x->dt), order, total, count);
    CU_ASSERT_EQUAL_FATAL(total, count);
    x->t->cases[x->dt][order]++;
    for (int a = 0, at = 0; a < n; a++)
        for (int64_t k = 0; got[a] && k < jx_array_size(got[a]); k++, at++) {
            char tok[64];
            CU_ASSERT_FATAL(fscanf(x->p, "%63s", tok) == 1);
            double want = strtod(tok, NULL), g = jx_array_get(got[a], k);
            double scale = fabs(want) > 1 ? fabs(want) : 1;
            double err = isnan(want) || isnan(g) ? (isnan(want) && isnan(g) ? 0 : INFINITY)
                       : want == g ? 0 : fabs(g - want) / scale;
            x->t->elems[x->dt][order]++;
            if (err > x->t->worst[x->dt][order]) x->t->worst[x->dt][order] = err, x->t->worst_case[x->dt][order] = c->name;
            if (!(err <= tol))
                fprintf(stderr, "\n  %s %s order %d element %d: jx %.17g, JAX %.17g", c->name, dt_name(x->dt), order, at, g,
                        want);
            CU_ASSERT(err <= tol);
        }
}

/* evaluates f on in (nin) and compares its nout outputs with the next line */
static void run_compare(ctx *x, int order, jx_fn *f, int nin, jx_array *const *in, int nout) {
    jx_array *y[3] = {NULL, NULL, NULL};
    if (!f || jt_eval(f, nin, in, nout, y) != JX_OK)
        fprintf(stderr, "\n  %s order %d: %s\n", x->c->name, order, jx_errmsg());
    compare(x, order, nout, y);
    jt_release_arrays(nout, y);
}

static void f_body(jx_val *out, const jx_val *in, void *u) {
    const ctx *x = u;
    jx_val xs[3] = {in[0], in[0], in[0]}; /* unused ones are x[0], never garbage */
    for (int i = 1; i < x->c->nin; i++) xs[i] = in[i];
    out[0] = x->s->apply(x->c->name, xs);
}

/* (t, x..., v..., ct) -> sum(F(x + t v) * ct) */
static void loss_body(jx_val *out, const jx_val *in, void *u) {
    const ctx *x = u;
    int n = x->c->nin;
    jx_val xs[3];
    for (int i = 0; i < n; i++) xs[i] = jx_add(in[1 + i], jx_mul(in[0], in[1 + n + i]));
    for (int i = n; i < 3; i++) xs[i] = xs[0]; /* unused ones are x[0], never garbage */
    out[0] = jx_reduce_sum(jx_mul(x->s->apply(x->c->name, xs), in[1 + 2 * n]), JX_NOINTS);
}

static void one_case(ctx *x) {
    const jr_case *c = x->c;
    int n = c->nin;
    jx_dtype t = x->dt ? JX_F64 : JX_F32;
    jx_array *xs[3] = {NULL, NULL, NULL};
    jx_aval av[8];
    for (int i = 0; i < n; i++) {
        xs[i] = input(c, i, t);
        av[1 + i] = av[1 + n + i] = jx_array_aval(xs[i]);
    }
    jx_fn *f = jx_trace("F", f_body, x, n, av + 1, 1);
    run_compare(x, 0, f, n, xs, 1);
    if (c->maxorder >= 1 && f) {
        av[0] = JX_SCALAR(t);
        av[1 + 2 * n] = jx_fn_output_aval(f, 0);
        jx_array *in[8] = {jx_array_scalar(t, 0)};
        for (int i = 0; i < n; i++) {
            in[1 + i] = xs[i];
            in[1 + n + i] = pattern(t, (jx_ints){av[1 + i].shape, av[1 + i].rank}, sin, 0.53, i + 0.2);
        }
        in[1 + 2 * n] = pattern(t, (jx_ints){av[1 + 2 * n].shape, av[1 + 2 * n].rank}, cos, 0.37, 0);
        int64_t args[3] = {1, 2, 3};
        jx_fn *l = jx_trace("L", loss_body, x, 2 + 2 * n, av, 1);
        jx_fn *g1 = l ? jx_grad(l, (jx_ints){args, n}) : NULL;
        run_compare(x, 1, g1, 2 + 2 * n, in, n);
        if (c->maxorder >= 2) {
            jx_fn *gt = l ? jx_grad(l, JX_NOINTS) : NULL, *g2 = gt ? jx_grad(gt, (jx_ints){args, n}) : NULL;
            run_compare(x, 2, g2, 2 + 2 * n, in, n);
            jx_fn_release(gt);
            jx_fn_release(g2);
        }
        jx_fn_release(g1);
        jx_fn_release(l);
        jx_array_release(in[0]);
        for (int i = 0; i < n; i++) jx_array_release(in[1 + n + i]);
        jx_array_release(in[1 + 2 * n]);
    }
    jx_fn_release(f);
    jt_release_arrays(n, xs);
}

static int selected(const jr_case *c, int dt) {
    const char *jit = getenv("JX_TEST_JIT");
    if ((c->flags & JR_NOJIT) && jit && *jit) return 0;
    return dt == 1 || !(c->flags & JR_F64);
}

void jr_run(const jr_suite *s) {
    char in_path[] = "/tmp/jx-jaxref-XXXXXX";
    int fd = mkstemp(in_path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *in = fdopen(fd, "w");
    for (int dt = 0; dt < 2; dt++)
        for (int i = 0; i < s->ncases; i++) {
            const jr_case *c = &s->cases[i];
            if (!selected(c, dt)) continue;
            fprintf(in, "%s %s %d %d", c->name, dt_name(dt), c->maxorder, c->nin);
            for (int a = 0; a < c->nin; a++) fprintf(in, " %s", c->shapes[a]);
            fprintf(in, " :");
            for (int a = 0; a < c->nin; a++) {
                jx_array *x = input(c, a, dt ? JX_F64 : JX_F32);
                for (int64_t k = 0; k < jx_array_size(x); k++) fprintf(in, " %a", jx_array_get(x, k));
                jx_array_release(x);
            }
            fprintf(in, "\n");
        }
    fclose(in);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 %s < %s", s->script, in_path);
    FILE *p = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    tally t = {0};
    for (int dt = 0; dt < 2; dt++)
        for (int i = 0; i < s->ncases; i++)
            if (selected(&s->cases[i], dt)) one_case(&(ctx){s, &s->cases[i], dt, p, &t});
    CU_ASSERT_EQUAL(pclose(p), 0);
    if (!getenv("JR_KEEP")) unlink(in_path);
    long total = 0;
    for (int dt = 0; dt < 2; dt++)
        for (int o = 0; o < 3; o++) total += t.cases[dt][o];
    printf("\n  %s: %ld cases (case x dtype x order) of %d case rows", s->script, total, s->ncases);
    for (int dt = 0; dt < 2; dt++)
        for (int o = 0; o < 3; o++)
            if (t.cases[dt][o])
                printf("\n    %s order %d: %ld cases, %ld elements, worst error %.3g%s%s", dt_name(dt), o, t.cases[dt][o],
                       t.elems[dt][o], t.worst[dt][o], t.worst_case[dt][o] ? " in " : "",
                       t.worst_case[dt][o] ? t.worst_case[dt][o] : "");
    printf("\n");
}

int jr_main(const char *name, void (*test)(void)) {
    if (system("python3 -c 'import jax' >/dev/null 2>&1") != 0) {
        printf("%s: python3 cannot import jax: skipped\n", name);
        return 77;
    }
    CU_TestInfo tests[] = {{name, test}, CU_TEST_INFO_NULL};
    return jt_run(name, tests);
}
