/* ops_custom.c: the public wrappers for user-defined derivatives and checkpointing:
 * they check what the shape rule cannot see (NULL functions, list sizes) and bind. The
 * shape rules check the functions' signatures, so every mistake names the user's line. */
#include "ops_util.h"

/* Sets the outputs invalid and checks the lists and the functions fns[0..nfns) (named
 * names[i]); f = fns[0] must take nin inputs and give nout outputs. */
static bool op_check(jx_loc loc, const char *what, int nfns, const jx_fn *const *fns,
                     const char *const *names, int nin, const jx_val *in, int nout, jx_val *out) {
    for (int i = 0; out && i < nout; i++) out[i] = jx__ops_invalid();
    if (!jx__ops_trace(loc, what) || jx__ops_failed()) return false;
    if (nin < 0 || nout < 0 || (nin > 0 && !in) || (nout > 0 && !out)) {
        jx__ops_fail(loc, JX_ERR_ARG, what, "bad operand or output list (%d operands, %d outputs)", nin, nout);
        return false;
    }
    for (int i = 0; i < nfns; i++)
        if (!fns[i]) {
            jx__ops_fail(loc, JX_ERR_ARG, what, "%s function is NULL", names[i]);
            return false;
        }
    const jx_fn *f = fns[0];
    if (nin != f->nin) {
        jx__ops_fail(loc, JX_ERR_ARG, what, "'%s' takes %d inputs, got %d", jx_fn_name(f), f->nin, nin);
        return false;
    }
    if (nout != f->nout) {
        jx__ops_fail(loc, JX_ERR_ARG, what, "'%s' gives %d outputs, got room for %d", jx_fn_name(f),
                     f->nout, nout);
        return false;
    }
    return true;
}

/* Binds prim with the functions as attributes keys[i] (each retained by the bind). */
static void bind_fns(jx_loc loc, jx_prim prim, int nfns, const jx_fn *const *fns, const jx__akey *keys,
                     int nin, const jx_val *in, int nout, jx_val *out) {
    jx_fn *fp[3];
    jx__attr a[3];
    for (int i = 0; i < nfns; i++) {
        fp[i] = (jx_fn *)fns[i]; /* jx_fn is immutable; the attribute retains it */
        a[i] = jx__a_fns(keys[i], 1, &fp[i]);
    }
    jx__bind(loc, prim, nin, in, nfns, a, nout, out, NULL);
}

void jx_custom_jvp_call_at(jx_loc loc, const jx_fn *f, const jx_fn *jvp, int nin, const jx_val *in,
                           int nout, jx_val *out) {
    const jx_fn *fns[] = {f, jvp};
    static const char *const names[] = {"primal", "jvp"};
    static const jx__akey keys[] = {JX_A_FN, JX_A_JVP};
    if (op_check(loc, "custom_jvp_call", 2, fns, names, nin, in, nout, out))
        bind_fns(loc, JX_PRIM_CUSTOM_JVP, 2, fns, keys, nin, in, nout, out);
}

void jx_custom_vjp_call_at(jx_loc loc, const jx_fn *f, const jx_fn *fwd, const jx_fn *bwd, int nin,
                           const jx_val *in, int nout, jx_val *out) {
    const jx_fn *fns[] = {f, fwd, bwd};
    static const char *const names[] = {"primal", "fwd", "bwd"};
    static const jx__akey keys[] = {JX_A_FN, JX_A_FWD, JX_A_BWD};
    if (op_check(loc, "custom_vjp_call", 3, fns, names, nin, in, nout, out))
        bind_fns(loc, JX_PRIM_CUSTOM_VJP, 3, fns, keys, nin, in, nout, out);
}

void jx_checkpoint_at(jx_loc loc, const jx_fn *f, int nin, const jx_val *in, int nout, jx_val *out) {
    const jx_fn *fns[] = {f};
    static const char *const names[] = {"primal"};
    static const jx__akey keys[] = {JX_A_FN};
    if (op_check(loc, "checkpoint", 1, fns, names, nin, in, nout, out))
        bind_fns(loc, JX_PRIM_CHECKPOINT, 1, fns, keys, nin, in, nout, out);
}
