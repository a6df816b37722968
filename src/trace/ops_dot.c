/* ops_dot.c: the public contraction ops: dot_general, and numpy-style matmul lowered
 * onto it (broadcasting batch dims only when both operands have them). */
#include <stdio.h>
#include <string.h>

#include "reduce_util.h"

/* Copies dims into buf, turning negative ones into axes of a rank-r operand; an out of
 * range dim (or an unknown rank) is left as given for the shape rule to report. */
static jx_ints norm_dims(jx_ints d, int r, int64_t *buf) {
    if (d.n <= 0 || d.n > JX_MAX_RANK || !d.v) return d;
    for (int i = 0; i < d.n; i++) {
        int a = r >= 0 ? jx__norm_axis(d.v[i], r) : -1;
        buf[i] = a >= 0 ? a : d.v[i];
    }
    return (jx_ints){buf, d.n};
}

/* The shape rule on f16/bf16 operands av (whose product is computed in f32): true, with
 * the error set naming their own dtype, when it refuses them. */
static bool half_dot_check(jx_loc loc, const jx_aval *av, const jx__attr *at) {
    jx_aval f[2] = {av[0], av[1]}, o;
    f[0].dtype = f[1].dtype = JX_F32;
    jx__rule_err err = {JX_OK, {0}};
    int no = 0;
    if (jx__shape_dot_general(2, f, 4, at, 1, &o, &no, &err) == JX_OK) return false;
    char msg[sizeof err.msg + 64] = "", *w = msg;
    const char *name = jx_dtype_name(av[0].dtype);
    for (const char *r = err.msg; *r && w < msg + sizeof msg - 8; ) /* f32[...] -> bf16[...] */
        if (strncmp(r, "f32[", 4) == 0) w += snprintf(w, (size_t)(msg + sizeof msg - w), "%s[", name), r += 4;
        else *w++ = *r++;
    *w = 0;
    jx__ops_fail(loc, err.code ? err.code : JX_ERR_SHAPE, "dot_general", "%s", msg);
    return true;
}

jx_val jx_dot_general_at(jx_loc loc, jx_val lhs, jx_val rhs, jx_ints lhs_contract,
                         jx_ints rhs_contract, jx_ints lhs_batch, jx_ints rhs_batch) {
    int lr = jx__val_aval(lhs).rank, rr = jx__val_aval(rhs).rank;
    int64_t b[4][JX_MAX_RANK];
    jx__attr at[4] = {
        jx__a_ints(JX_A_LHS_CONTRACT, norm_dims(lhs_contract, lr, b[0])),
        jx__a_ints(JX_A_RHS_CONTRACT, norm_dims(rhs_contract, rr, b[1])),
        jx__a_ints(JX_A_LHS_BATCH, norm_dims(lhs_batch, lr, b[2])),
        jx__a_ints(JX_A_RHS_BATCH, norm_dims(rhs_batch, rr, b[3])),
    };
    for (int i = 0; i < 4; i++)
        if (at[i].n > 0 && !at[i].u.ints)
            return jx__ops_fail(loc, JX_ERR_ARG, "dot_general", "a dimension list is NULL");
    jx_val in[2] = {lhs, rhs};
    jx_aval av[2] = {jx__val_aval(lhs), jx__val_aval(rhs)};
    jx_dtype t = av[0].dtype;
    if (av[0].rank >= 0 && av[1].rank >= 0 && t == av[1].dtype && (t == JX_F16 || t == JX_BF16)) {
        if (half_dot_check(loc, av, at)) return JX_NONE;
        for (int i = 0; i < 2; i++) in[i] = jx_convert_at(loc, in[i], JX_F32); /* in f32, rounded once */
        return jx_convert_at(loc, jx__bind1(loc, JX_PRIM_DOT_GENERAL, 2, in, 4, at), t);
    }
    return jx__bind1(loc, JX_PRIM_DOT_GENERAL, 2, in, 4, at);
}

static jx_val dot(jx_loc loc, jx_val a, jx_val b, int64_t ca, int64_t cb) {
    return jx_dot_general_at(loc, a, b, (jx_ints){&ca, 1}, (jx_ints){&cb, 1}, JX_NOINTS, JX_NOINTS);
}

/* Stretches x's leading (batch) dims to bs (nbs dims), keeping its last two. */
static jx_val broadcast_batch(jx_loc loc, jx_val x, const jx_aval *xa, const int64_t *bs, int nbs) {
    int nx = xa->rank - 2;
    bool same = nx == nbs;
    for (int i = 0; same && i < nbs; i++) same = xa->shape[i] == bs[i];
    if (same) return x;
    int64_t shape[JX_MAX_RANK], dims[JX_MAX_RANK];
    for (int i = 0; i < nbs; i++) shape[i] = bs[i];
    shape[nbs] = xa->shape[nx];
    shape[nbs + 1] = xa->shape[nx + 1];
    for (int j = 0; j < xa->rank; j++) dims[j] = nbs - nx + j;
    return jx_broadcast_in_dim_at(loc, x, (jx_ints){shape, nbs + 2}, (jx_ints){dims, xa->rank});
}

jx_val jx_matmul_at(jx_loc loc, jx_val a, jx_val b) {
    jx_aval A = jx__val_aval(a), B = jx__val_aval(b);
    if (A.rank < 0 || B.rank < 0) return dot(loc, a, b, 0, 0); /* the bind reports the bad value */
    if (A.rank == 0 || B.rank == 0)
        return jx__ops_fail(loc, JX_ERR_SHAPE, "matmul", "operands must have rank >= 1: %s @ %s", jx__avs(&A),
                           jx__avs(&B));
    /* Without batch dims on both sides one dot_general does it: its output order (lhs
     * free, then rhs free) is numpy's, and a rank-1 operand simply has no free dim. */
    if (B.rank <= 2) return dot(loc, a, b, A.rank - 1, 0);
    if (A.rank == 1) return dot(loc, a, b, 0, B.rank - 2);
    if (A.dtype != B.dtype)
        return jx__ops_fail(loc, JX_ERR_DTYPE, "matmul", "operand dtypes differ: %s @ %s", jx__avs(&A), jx__avs(&B));
    if (A.shape[A.rank - 1] != B.shape[B.rank - 2])
        return jx__ops_fail(loc, JX_ERR_SHAPE, "matmul", "contracting dimensions differ: %s @ %s", jx__avs(&A),
                           jx__avs(&B));
    int na = A.rank - 2, nb = B.rank - 2, n = na > nb ? na : nb;
    int64_t bs[JX_MAX_RANK];
    for (int i = 0; i < n; i++) {
        int64_t da = i >= n - na ? A.shape[i - (n - na)] : 1;
        int64_t db = i >= n - nb ? B.shape[i - (n - nb)] : 1;
        if (da != db && da != 1 && db != 1)
            return jx__ops_fail(loc, JX_ERR_SHAPE, "matmul", "batch dimensions do not broadcast: %s @ %s",
                               jx__avs(&A), jx__avs(&B));
        bs[i] = da == 1 ? db : da;
    }
    jx_val a2 = broadcast_batch(loc, a, &A, bs, n), b2 = broadcast_batch(loc, b, &B, bs, n);
    int64_t batch[JX_MAX_RANK], ca = n + 1, cb = n;
    for (int i = 0; i < n; i++) batch[i] = i;
    return jx_dot_general_at(loc, a2, b2, (jx_ints){&ca, 1}, (jx_ints){&cb, 1}, (jx_ints){batch, n},
                             (jx_ints){batch, n});
}
