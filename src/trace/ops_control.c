/* ops_control.c: the public control-flow ops (call, cond, while, scan). Each traces its
 * bodies into nested functions, turns the outer values they capture into trailing
 * operands (shared by all bodies of one op), and binds one higher-order equation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_util.h"

/* ------------------------------------------------------------------ helpers */

static void fail(jx__trace *t, jx_status code, jx_loc loc, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fail(jx__trace *t, jx_status code, jx_loc loc, const char *what, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    jx__trace_fail(t, code, loc, what, "%s", buf);
}

/* Sets the outputs invalid and says whether the op may go on: there is a trace and it
 * has no error yet (errors are sticky, so later ops do nothing). */
static bool op_begin(jx__trace *t, jx_loc loc, const char *what, int nout, jx_val *out) {
    for (int i = 0; out && i < nout; i++) out[i] = (jx_val){t ? t->id : 0, -1};
    if (!t) {
        jx__fail(JX_ERR_TRACE, loc, what, "called outside of a trace (use jx_trace)");
        return false;
    }
    return t->status == JX_OK;
}

/* Checks the counts and lists of an op; false (error recorded) when they are bad. */
static bool check_lists(jx__trace *t, jx_loc loc, const char *what, int nin, const jx_val *in,
                        int nout, const jx_val *out) {
    if (nin < 0 || nout < 0 || (nin > 0 && !in) || (nout > 0 && !out)) {
        fail(t, JX_ERR_ARG, loc, what, "bad operand or output list (%d operands, %d outputs)", nin, nout);
        return false;
    }
    return true;
}

/* The avals of vals[0..n) into av[] (the caller's offset); false when one is invalid. */
static bool val_avals(jx__trace *t, jx_loc loc, const char *what, const char *kind, int n,
                      const jx_val *vals, jx_aval *av) {
    for (int i = 0; i < n; i++) {
        av[i] = jx__val_aval(vals[i]);
        if (av[i].rank < 0) {
            fail(t, JX_ERR_TRACE, loc, what, "%s %d is an invalid value (JX_NONE, the result of a failed op, "
                 "or from a trace that has ended)", kind, i);
            return false;
        }
    }
    return true;
}

/* A body traced into a function, with the outer values it captured. */
typedef struct traced {
    jx_fn *fn;
    jx_val *caps; /* malloc'd */
    int ncaps;
} traced;

static void traced_free(int n, traced *tb) {
    for (int i = 0; tb && i < n; i++) {
        jx_fn_release(tb[i].fn);
        free(tb[i].caps);
    }
    free(tb);
}

/* Traces body on avals into r (captures allowed). A body that fails makes the
 * enclosing trace t fail with the body's own message, which names the body's line. */
static bool trace_body(jx__trace *t, jx_loc loc, const char *name, jx_body body, void *user, int nin,
                       const jx_aval *avals, int nout, traced *r) {
    jx_val *ins = malloc(sizeof *ins * (size_t)(nin ? nin : 1));
    jx_val *outs = malloc(sizeof *outs * (size_t)(nout ? nout : 1));
    jx__trace *bt = NULL;
    if (!ins || !outs) {
        jx__fail(JX_ERR_NOMEM, loc, name, "out of memory");
    } else if ((bt = jx__trace_begin(loc, name, nin, avals, ins, true))) {
        for (int i = 0; i < nout; i++) outs[i] = (jx_val){bt->id, -1};
        body(outs, ins, user);
        /* close traces the body left open (it may even have ended bt: then say so) */
        while (jx__trace_top() && jx__trace_top() != bt && jx__trace_top() != t)
            jx__trace_abort(jx__trace_top());
        if (jx__trace_top() == bt) r->fn = jx__trace_end(bt, nout, outs, &r->caps, &r->ncaps);
        else jx__fail(JX_ERR_TRACE, loc, name, "the body ended its own trace");
    }
    free(ins);
    free(outs);
    if (!r->fn) jx__trace_fail(t, jx_errcode(), jx__noloc, NULL, "%s", jx_errmsg());
    return r->fn != NULL;
}

/* The position of v in all[0..n), or n. */
static int find_val(int n, const jx_val *all, jx_val v) {
    int k = 0;
    while (k < n && !(all[k].trace == v.trace && all[k].id == v.id)) k++;
    return k;
}

/* Gives the nb bodies one shared list of trailing inputs: the union of the values they
 * captured, returned in *consts (malloc'd, *nconsts entries). fns[b] receives body b
 * padded to take (its first nkeep inputs, consts...). */
static bool share_captures(jx__trace *t, jx_loc loc, int nb, const traced *tb, int nkeep, jx_fn **fns,
                           jx_val **consts, int *nconsts) {
    int total = 0, n = 0;
    for (int b = 0; b < nb; b++) total += tb[b].ncaps;
    jx_val *all = malloc(sizeof *all * (size_t)(total ? total : 1));
    jx_aval *av = malloc(sizeof *av * (size_t)(total ? total : 1));
    int *map = malloc(sizeof *map * (size_t)(total ? total : 1));
    bool ok = all && av && map;
    for (int b = 0; ok && b < nb; b++)
        for (int j = 0; j < tb[b].ncaps; j++) {
            if (find_val(n, all, tb[b].caps[j]) < n) continue;
            all[n] = tb[b].caps[j];
            av[n] = jx__val_aval(all[n]);
            n++;
        }
    for (int b = 0; ok && b < nb; b++) {
        for (int j = 0; j < tb[b].ncaps; j++) map[j] = find_val(n, all, tb[b].caps[j]);
        fns[b] = jx__fn_pad_inputs(loc, tb[b].fn, nkeep, n, av, map);
        if (!fns[b]) {
            jx__trace_fail(t, jx_errcode(), jx__noloc, NULL, "%s", jx_errmsg());
            ok = false;
        }
    }
    if (!(all && av && map)) fail(t, JX_ERR_NOMEM, loc, "control flow", "out of memory");
    free(av);
    free(map);
    if (!ok) {
        free(all);
        all = NULL;
        n = 0;
    }
    *consts = all;
    *nconsts = n;
    return ok;
}

static void release_fns(int n, jx_fn **fns) {
    for (int i = 0; fns && i < n; i++) jx_fn_release(fns[i]);
    free(fns);
}

/* Operands a..., b..., c... in one malloc'd list (NULL when out of memory). */
static jx_val *concat_vals(int na, const jx_val *a, int nb, const jx_val *b, int nc, const jx_val *c) {
    jx_val *r = malloc(sizeof *r * (size_t)(na + nb + nc + 1));
    if (!r) return NULL;
    if (na) memcpy(r, a, sizeof *r * (size_t)na);
    if (nb) memcpy(r + na, b, sizeof *r * (size_t)nb);
    if (nc) memcpy(r + na + nb, c, sizeof *r * (size_t)nc);
    return r;
}

/* ------------------------------------------------------------------ padding */

jx_fn *jx__fn_pad_inputs(jx_loc loc, jx_fn *f, int nkeep, int nextra, const jx_aval *extra,
                         const int *map) {
    int nold = f->nin - nkeep, n = nkeep + nextra;
    JX__ASSERT(nold >= 0);
    bool same = nold == nextra;
    for (int j = 0; same && j < nold; j++) same = map[j] == j;
    if (same) return jx_fn_retain(f);
    jx_aval *av = malloc(sizeof *av * (size_t)(n ? n : 1));
    jx_val *ins = malloc(sizeof *ins * (size_t)(n ? n : 1));
    jx_val *args = malloc(sizeof *args * (size_t)(f->nin ? f->nin : 1));
    jx_val *outs = malloc(sizeof *outs * (size_t)(f->nout ? f->nout : 1));
    jx_fn *g = NULL;
    if (av && ins && args && outs) {
        for (int i = 0; i < nkeep; i++) av[i] = f->vars[f->in[i]];
        for (int i = 0; i < nextra; i++) av[nkeep + i] = extra[i];
        jx__trace *t = jx__trace_begin(loc, f->name, n, av, ins, false);
        if (t) {
            for (int i = 0; i < nkeep; i++) args[i] = ins[i];
            for (int j = 0; j < nold; j++) args[nkeep + j] = ins[nkeep + map[j]];
            for (int i = 0; i < f->nout; i++) outs[i] = (jx_val){t->id, -1};
            jx__inline_fn(loc, f, args, outs);
            g = jx__trace_end(t, f->nout, outs, NULL, NULL);
        }
    } else {
        jx__fail(JX_ERR_NOMEM, loc, f->name, "out of memory");
    }
    free(av);
    free(ins);
    free(args);
    free(outs);
    return g;
}

/* ------------------------------------------------------------------ the ops */

void jx_call_at(jx_loc loc, const jx_fn *f, int nin, const jx_val *in, int nout, jx_val *out) {
    jx__trace *t = jx__trace_top();
    if (!op_begin(t, loc, "call", nout, out) || !check_lists(t, loc, "call", nin, in, nout, out)) return;
    if (!f) {
        fail(t, JX_ERR_ARG, loc, "call", "function is NULL");
        return;
    }
    if (nin != f->nin) {
        fail(t, JX_ERR_ARG, loc, "call", "'%s' takes %d inputs, got %d", f->name, f->nin, nin);
        return;
    }
    if (nout != f->nout) {
        fail(t, JX_ERR_ARG, loc, "call", "'%s' gives %d outputs, got room for %d", f->name, f->nout, nout);
        return;
    }
    jx_fn *fp = (jx_fn *)f; /* the attribute retains it; jx_fn is immutable */
    jx__attr a = jx__a_fns(JX_A_FN, 1, &fp);
    jx__bind(loc, JX_PRIM_CALL, nin, in, 1, &a, nout, out, NULL);
}

void jx_switch_at(jx_loc loc, jx_val index, int nbranches, const jx_body *branches, void *user, int nin,
                const jx_val *in, int nout, jx_val *out) {
    jx__trace *t = jx__trace_top();
    if (!op_begin(t, loc, "cond", nout, out) || !check_lists(t, loc, "cond", nin, in, nout, out)) return;
    if (nbranches < 1 || !branches) {
        fail(t, JX_ERR_ARG, loc, "cond", "needs at least one branch, got %d", nbranches);
        return;
    }
    for (int b = 0; b < nbranches; b++)
        if (!branches[b]) {
            fail(t, JX_ERR_ARG, loc, "cond", "branch %d is NULL", b);
            return;
        }
    jx_aval *av = malloc(sizeof *av * (size_t)(nin + 1));
    traced *tb = calloc((size_t)nbranches, sizeof *tb);
    jx_fn **fns = calloc((size_t)nbranches, sizeof *fns);
    jx_val *consts = NULL, *ops = NULL;
    int nconsts = 0;
    if (!av || !tb || !fns) {
        fail(t, JX_ERR_NOMEM, loc, "cond", "out of memory");
        goto done;
    }
    if (!val_avals(t, loc, "cond", "operand", nin, in, av)) goto done;
    for (int b = 0; b < nbranches; b++) {
        char name[32];
        snprintf(name, sizeof name, "cond_branch%d", b);
        if (!trace_body(t, loc, name, branches[b], user, nin, av, nout, &tb[b])) goto done;
    }
    if (!share_captures(t, loc, nbranches, tb, nin, fns, &consts, &nconsts)) goto done;
    ops = concat_vals(1, &index, nin, in, nconsts, consts);
    if (!ops) {
        fail(t, JX_ERR_NOMEM, loc, "cond", "out of memory");
        goto done;
    }
    jx__attr a = jx__a_fns(JX_A_BRANCHES, nbranches, fns);
    jx__bind(loc, JX_PRIM_COND, 1 + nin + nconsts, ops, 1, &a, nout, out, NULL);
done:
    free(av);
    free(ops);
    free(consts);
    traced_free(nbranches, tb);
    release_fns(nbranches, fns);
}

void jx_cond_at(jx_loc loc, jx_val pred, jx_body true_fn, jx_body false_fn, void *user, int nin,
                const jx_val *in, int nout, jx_val *out) {
    jx__trace *t = jx__trace_top();
    if (t && t->status == JX_OK && (!true_fn || !false_fn)) {
        fail(t, JX_ERR_ARG, loc, "cond", "%s is NULL", true_fn ? "false_fn" : "true_fn");
        for (int i = 0; out && i < nout; i++) out[i] = (jx_val){t->id, -1};
        return;
    }
    jx_aval a = jx__val_aval(pred);
    bool integer = a.dtype == JX_I32 || a.dtype == JX_I64 || a.dtype == JX_U32 || a.dtype == JX_U8;
    if (a.rank == 0 && integer) pred = jx_ne_at(loc, pred, jx_scalar_at(loc, a.dtype, 0)); /* nonzero is true */
    jx_switch_at(loc, pred, 2, (const jx_body[2]){false_fn, true_fn}, user, nin, in, nout, out);
}

void jx_while_at(jx_loc loc, jx_body cond, jx_body body, void *user, int n, const jx_val *init,
                 jx_val *out) {
    jx__trace *t = jx__trace_top();
    if (!op_begin(t, loc, "while", n, out) || !check_lists(t, loc, "while", n, init, n, out)) return;
    if (!cond || !body) {
        fail(t, JX_ERR_ARG, loc, "while", "cond or body is NULL");
        return;
    }
    jx_aval *av = malloc(sizeof *av * (size_t)(n + 1));
    traced tb[2];
    jx_fn *fns[2] = {NULL, NULL};
    jx_val *consts = NULL, *ops = NULL;
    int nconsts = 0;
    memset(tb, 0, sizeof tb);
    if (!av) {
        fail(t, JX_ERR_NOMEM, loc, "while", "out of memory");
        goto done;
    }
    if (!val_avals(t, loc, "while", "carry", n, init, av) ||
        !trace_body(t, loc, "while_cond", cond, user, n, av, 1, &tb[0]) ||
        !trace_body(t, loc, "while_body", body, user, n, av, n, &tb[1]) ||
        !share_captures(t, loc, 2, tb, n, fns, &consts, &nconsts))
        goto done;
    ops = concat_vals(n, init, nconsts, consts, 0, NULL);
    if (!ops) {
        fail(t, JX_ERR_NOMEM, loc, "while", "out of memory");
        goto done;
    }
    jx__attr a[3] = {jx__a_fns(JX_A_COND, 1, &fns[0]), jx__a_fns(JX_A_BODY, 1, &fns[1]),
                     jx__a_int(JX_A_NUM_CARRY, n)};
    jx__bind(loc, JX_PRIM_WHILE, n + nconsts, ops, 3, a, n, out, NULL);
done:
    free(av);
    free(ops);
    free(consts);
    for (int i = 0; i < 2; i++) {
        jx_fn_release(tb[i].fn);
        free(tb[i].caps);
        jx_fn_release(fns[i]);
    }
}

void jx_scan_at(jx_loc loc, jx_body body, void *user, int64_t length, int reverse, int ncarry,
                const jx_val *init, int nxs, const jx_val *xs, int ny, jx_val *out) {
    jx__trace *t = jx__trace_top();
    int nout = ncarry + ny;
    if (!op_begin(t, loc, "scan", nout, out)) return;
    if (ncarry < 0 || nxs < 0 || ny < 0 || (ncarry && !init) || (nxs && !xs) || (nout && !out)) {
        fail(t, JX_ERR_ARG, loc, "scan", "bad operand or output list (%d carries, %d xs, %d ys)", ncarry,
             nxs, ny);
        return;
    }
    if (!body) {
        fail(t, JX_ERR_ARG, loc, "scan", "body is NULL");
        return;
    }
    if (length < 0) {
        fail(t, JX_ERR_ARG, loc, "scan", "length is %lld, must be >= 0", (long long)length);
        return;
    }
    int nin = ncarry + nxs;
    jx_aval *av = malloc(sizeof *av * (size_t)(nin + 1));
    traced tb;
    jx_val *ops = NULL;
    memset(&tb, 0, sizeof tb);
    if (!av) {
        fail(t, JX_ERR_NOMEM, loc, "scan", "out of memory");
        goto done;
    }
    if (!val_avals(t, loc, "scan", "carry", ncarry, init, av) ||
        !val_avals(t, loc, "scan", "xs", nxs, xs, av + ncarry))
        goto done;
    for (int j = 0; j < nxs; j++) { /* the body sees one slice of each x */
        jx_aval *x = &av[ncarry + j];
        if (x->rank < 1) {
            fail(t, JX_ERR_SHAPE, loc, "scan", "xs %d is %s, it needs a leading dim of size %lld", j,
                 jx__avs(x), (long long)length);
            goto done;
        }
        x->rank--;
        memmove(x->shape, x->shape + 1, sizeof x->shape[0] * (size_t)x->rank);
    }
    /* the body's captures come last among its inputs: they are the scan's consts as is */
    if (!trace_body(t, loc, "scan_body", body, user, nin, av, nout, &tb)) goto done;
    ops = concat_vals(ncarry, init, nxs, xs, tb.ncaps, tb.caps);
    if (!ops) {
        fail(t, JX_ERR_NOMEM, loc, "scan", "out of memory");
        goto done;
    }
    jx__attr a[5] = {jx__a_fns(JX_A_BODY, 1, &tb.fn), jx__a_int(JX_A_LENGTH, length),
                     jx__a_int(JX_A_REVERSE, reverse != 0), jx__a_int(JX_A_NUM_CARRY, ncarry),
                     jx__a_int(JX_A_NUM_CONSTS, tb.ncaps)};
    jx__bind(loc, JX_PRIM_SCAN, nin + tb.ncaps, ops, 5, a, nout, out, NULL);
done:
    free(av);
    free(ops);
    jx_fn_release(tb.fn);
    free(tb.caps);
}
