/* recurrent.c: LSTM and GRU cells with fused gate matmuls, and a recurrent layer that
 * runs a cell over the time axis as one scan (so the IR holds one loop whatever the
 * length, and reverse mode differentiates through it). */
#include "nn_util.h"
#include <jx/layers.h>

/* Checks a cell's parameters and carry for step inputs (b, in) of the input `like`.
 * params: LSTM {wi, wh, b}, GRU {wi, bi, wh, bh}; carry: LSTM {c, h}, GRU {h}. */
static int check_cell(jx_loc loc, const char *what, jx_nn_cell cell, jx_val like, int64_t b,
                      int64_t in, const jx_val *params, const jx_val *carry) {
    int ncarry = cell == JX_NN_CELL_LSTM ? 2 : 1;
    static const char *const carry_names[2][2] = {{"c", "h"}, {"h", ""}};
    int lstm = cell == JX_NN_CELL_LSTM;
    if (!jx__nn_valid(loc, what, "wh", params[lstm ? 1 : 2])) return 0;
    if (!jx__nn_rank(loc, what, "wh", params[lstm ? 1 : 2], 2)) return 0;
    int64_t h = jx_dim(params[lstm ? 1 : 2], 0);
    int64_t g = (lstm ? 4 : 3) * h;
    for (int i = 0; i < ncarry; i++)
        if (!jx__nn_valid(loc, what, carry_names[!lstm][i], carry[i]) ||
            !jx__nn_param(loc, what, carry_names[!lstm][i], carry[i], like, JX_INTS(b, h)))
            return 0;
    if (!jx__nn_valid(loc, what, "wi", params[0])) return 0;
    if (lstm)
        return jx__nn_param(loc, what, "wi", params[0], like, JX_INTS(in, g)) &&
               jx__nn_param(loc, what, "wh", params[1], like, JX_INTS(h, g)) &&
               jx__nn_valid(loc, what, "b", params[2]) &&
               jx__nn_param(loc, what, "b", params[2], like, JX_INTS(g));
    return jx__nn_param(loc, what, "wi", params[0], like, JX_INTS(in, g)) &&
           jx__nn_valid(loc, what, "bi", params[1]) &&
           jx__nn_param(loc, what, "bi", params[1], like, JX_INTS(g)) &&
           jx__nn_param(loc, what, "wh", params[2], like, JX_INTS(h, g)) &&
           jx__nn_param(loc, what, "bh", params[3], like, JX_INTS(g));
}

/* Columns [k*h, (k+1)*h) of a (B, n*h) gate block. */
static jx_val gate(jx_loc loc, jx_val z, int k, int64_t h) {
    return jx_slice_at(loc, z, JX_INTS(0, k * h), JX_INTS(jx_dim(z, 0), (k + 1) * h), JX_NOINTS);
}

static jx_val matmul2(jx_loc loc, jx_val a, jx_val w) {
    return jx_dot_general_at(loc, a, w, JX_INTS(1), JX_INTS(0), JX_NOINTS, JX_NOINTS);
}

/* The cells without checks, for the scan body. */
static void lstm_step(jx_loc loc, jx_val x, jx_val c, jx_val h, const jx_val *p, jx_val *c_out,
                      jx_val *h_out) {
    int64_t n = jx_dim(h, 1);
    jx_val z = jx_add_at(loc, jx_add_at(loc, matmul2(loc, x, p[0]), matmul2(loc, h, p[1])), p[2]);
    jx_val i = jx_logistic_at(loc, gate(loc, z, 0, n)), f = jx_logistic_at(loc, gate(loc, z, 1, n));
    jx_val g = jx_tanh_at(loc, gate(loc, z, 2, n)), o = jx_logistic_at(loc, gate(loc, z, 3, n));
    jx_val c2 = jx_add_at(loc, jx_mul_at(loc, f, c), jx_mul_at(loc, i, g));
    *c_out = c2;
    *h_out = jx_mul_at(loc, o, jx_tanh_at(loc, c2));
}

static jx_val gru_step(jx_loc loc, jx_val x, jx_val h, const jx_val *p) {
    int64_t n = jx_dim(h, 1);
    jx_val xz = jx_add_at(loc, matmul2(loc, x, p[0]), p[1]);
    jx_val hz = matmul2(loc, h, p[2]);
    if (jx__nn_given(p[3])) hz = jx_add_at(loc, hz, p[3]);
    jx_val r = jx_logistic_at(loc, jx_add_at(loc, gate(loc, xz, 0, n), gate(loc, hz, 0, n)));
    jx_val z = jx_logistic_at(loc, jx_add_at(loc, gate(loc, xz, 1, n), gate(loc, hz, 1, n)));
    jx_val nn = jx_tanh_at(loc, jx_add_at(loc, gate(loc, xz, 2, n), jx_mul_at(loc, r, gate(loc, hz, 2, n))));
    /* (1 - z) n + z h */
    jx_val one = jx_scalar_like_at(loc, h, 1.0);
    return jx_add_at(loc, jx_mul_at(loc, jx_sub_at(loc, one, z), nn), jx_mul_at(loc, z, h));
}

void jx_nn_lstm_cell_at(jx_loc loc, jx_val x, jx_val c, jx_val h, jx_val wi, jx_val wh, jx_val b,
                        jx_val *c_out, jx_val *h_out) {
    jx_val p[3] = {wi, wh, b}, carry[2] = {c, h};
    *c_out = *h_out = JX_NONE;
    if (!jx__nn_rank(loc, "lstm_cell", "input", x, 2) ||
        !check_cell(loc, "lstm_cell", JX_NN_CELL_LSTM, x, jx_dim(x, 0), jx_dim(x, 1), p, carry))
        return;
    lstm_step(loc, x, c, h, p, c_out, h_out);
}

jx_val jx_nn_gru_cell_at(jx_loc loc, jx_val x, jx_val h, jx_val wi, jx_val bi, jx_val wh, jx_val bh) {
    jx_val p[4] = {wi, bi, wh, bh};
    if (!jx__nn_rank(loc, "gru_cell", "input", x, 2) ||
        !check_cell(loc, "gru_cell", JX_NN_CELL_GRU, x, jx_dim(x, 0), jx_dim(x, 1), p, &h))
        return JX_NONE;
    return gru_step(loc, x, h, p);
}

typedef struct rnn_ctx {
    jx_loc loc;
    jx_nn_cell cell;
    const jx_val *params;
} rnn_ctx;

/* scan body: (carry..., x_t) -> (carry'..., h_t) */
static void rnn_body(jx_val *out, const jx_val *in, void *user) {
    const rnn_ctx *r = user;
    if (r->cell == JX_NN_CELL_LSTM) {
        lstm_step(r->loc, in[2], in[0], in[1], r->params, &out[0], &out[1]);
        out[2] = out[1];
    } else {
        out[0] = gru_step(r->loc, in[1], in[0], r->params);
        out[1] = out[0];
    }
}

jx_val jx_nn_rnn_at(jx_loc loc, jx_nn_cell cell, const jx_val *params, jx_val x,
                    const jx_val *carry, int reverse, jx_val *carry_out) {
    const char *what = "rnn";
    int ncarry = cell == JX_NN_CELL_LSTM ? 2 : 1;
    if (carry_out)
        for (int i = 0; i < ncarry; i++) carry_out[i] = JX_NONE;
    if (cell != JX_NN_CELL_LSTM && cell != JX_NN_CELL_GRU)
        return jx__nn_fail(loc, JX_ERR_ARG, what, "unknown cell kind %d", (int)cell);
    if (!params || !carry)
        return jx__nn_fail(loc, JX_ERR_ARG, what, "params and carry must not be NULL");
    if (!jx__nn_rank(loc, what, "input", x, 3)) return JX_NONE;
    if (!check_cell(loc, what, cell, x, jx_dim(x, 0), jx_dim(x, 2), params, carry)) return JX_NONE;
    rnn_ctx ctx = {loc, cell, params};
    jx_val xs = jx_transpose_at(loc, x, JX_INTS(1, 0, 2)); /* (T,B,I): scan runs over axis 0 */
    jx_val out[3];
    jx_scan_at(loc, rnn_body, &ctx, jx_dim(x, 1), reverse, ncarry, carry, 1, &xs, 1, out);
    if (carry_out)
        for (int i = 0; i < ncarry; i++) carry_out[i] = out[i];
    return jx_transpose_at(loc, out[ncarry], JX_INTS(1, 0, 2));
}
