/* test_pmap_layers.c: the layers that look across the batch, split over a pmap (data
 * parallelism, docs/pmap.md): batch norm with an axis name (sync batch norm) and dropout
 * with an axis name, for 1 to 4 devices each holding B rows of an (N*B, C) batch,
 * against the plain layers on the whole batch: the same normalised output and running
 * statistics (to rounding), the same dropout mask bit for bit, and the same gradient of
 * a loss summed over the devices (pmean's transpose carries the statistics' cotangents
 * back to every device). */
#include <jx/nn.h>
#include <string.h>

#include "gradcheck.h"

#define B 3 /* rows per device */
#define C 4 /* channels */

static int ndev;

/* x (rows, C), scale, bias, mean, var (C), key -> batch norm, new mean, new var, dropout
 * of x; user: the axis name (NULL: the whole batch). */
static void b_layers(jx_val *o, const jx_val *in, void *u) {
    const char *axis = u;
    o[0] = jx_nn_batch_norm_train_axis(in[0], in[1], in[2], in[3], in[4], 0.9, 1e-5, axis, &o[1], &o[2]);
    o[3] = jx_nn_dropout_axis(in[0], 0.5, in[5], axis);
}

/* x (rows, C), scale (C) -> sum(batch_norm(x) * sin(x)), rows summed on this device. */
static void b_loss(jx_val *o, const jx_val *in, void *u) {
    const char *axis = u;
    jx_val ones = jx_ones_like(in[1]);
    jx_val y = jx_nn_batch_norm_train_axis(in[0], in[1], JX_NONE, jx_zeros_like(in[1]), ones, 0.9, 1e-5, axis, NULL, NULL);
    o[0] = jx_sum(jx_mul(y, jx_sin(in[0])), JX_NOINTS);
}

/* The devices' losses summed: the pmap of b_loss (user), then a sum. */
static void b_total(jx_val *o, const jx_val *in, void *u) {
    jx_val x = jx_reshape(in[0], JX_INTS(ndev, B, C)), per;
    jx_val args[2] = {x, in[1]};
    jx_call(u, 2, args, 1, &per);
    o[0] = jx_sum(per, JX_NOINTS);
}

/* Asserts a and b hold the same values within tol (b's data read as a's shape). */
static void check_close(const char *what, jx_array *a, jx_array *b, double tol) {
    CU_ASSERT_EQUAL_FATAL(jx_array_size(a), jx_array_size(b));
    double err = jt_max_err(a, jx_array_data(b), jx_array_size(b));
    if (!(err <= tol)) fprintf(stderr, "\n  %s, %d devices: differs by %g\n", what, ndev, err);
    CU_ASSERT(err <= tol);
}

static void test_layers(void) {
    for (ndev = 1; ndev <= 4; ndev++) {
        CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
        jx_aval c = JX_AVAL(JX_F64, C);
        jx_aval whole[6] = {JX_AVAL(JX_F64, ndev * B, C), c, c, c, c, JX_AVAL(JX_U32, 2)}, part[6];
        memcpy(part, whole, sizeof part);
        part[0] = JX_AVAL(JX_F64, B, C);
        jx_fn *f = jx_trace("whole", b_layers, NULL, 6, whole, 4), *g = jx_trace("device", b_layers, "i", 6, part, 4);
        int64_t nm = JX_NOT_MAPPED;
        jx_fn *p = g ? jx_pmap(g, JX_INTS(0, nm, nm, nm, nm, nm), JX_INTS(0, nm, nm, 0), "i") : NULL;
        if (!f || !p) fprintf(stderr, "\n  %s\n", jx_errmsg());
        CU_ASSERT_FATAL(f && p);
        uint64_t seed = 5 + (uint64_t)ndev;
        jx_array *in[6] = {jt_random(JX_INTS(ndev * B, C), -2, 2, &seed), jt_random(JX_INTS(C), 0.5, 1.5, &seed),
                           jt_random(JX_INTS(C), -1, 1, &seed), jt_random(JX_INTS(C), -1, 1, &seed),
                           jt_random(JX_INTS(C), 0.5, 1.5, &seed), jx_random_key_new(42)};
        jx_array *a[4] = {NULL}, *b[4] = {NULL};
        CU_ASSERT_EQUAL_FATAL(jt_eval(f, 6, in, 4, a), JX_OK);
        jx_array *xs = jx_array_new(JX_F64, JX_INTS(ndev, B, C), jx_array_data(in[0]));
        jx_array *pin[6] = {xs, in[1], in[2], in[3], in[4], in[5]};
        jx_status st = jt_eval(p, 6, pin, 4, b);
        if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
        CU_ASSERT_EQUAL_FATAL(st, JX_OK);
        check_close("sync batch norm", a[0], b[0], 1e-12);
        check_close("running mean", a[1], b[1], 1e-14);
        check_close("running var", a[2], b[2], 1e-14);
        check_close("dropout", a[3], b[3], 0); /* the same mask: the same bits */
        for (int j = 0; j < 4; j++) jx_array_release(a[j]), jx_array_release(b[j]);
        /* the gradient of the summed loss, with respect to x and scale */
        jx_aval lw[2] = {whole[0], c}, lp[2] = {part[0], c};
        jx_fn *lf = jx_trace("loss", b_loss, NULL, 2, lw, 1), *ld = jx_trace("loss_d", b_loss, "i", 2, lp, 1);
        jx_fn *lpm = jx_pmap(ld, JX_INTS(0, nm), JX_INTS(0), "i");
        jx_fn *tot = lpm ? jx_trace("total", b_total, lpm, 2, lw, 1) : NULL;
        jx_fn *gf = jx_value_and_grad(lf, JX_INTS(0, 1)), *gp = tot ? jx_value_and_grad(tot, JX_INTS(0, 1)) : NULL;
        if (!gp) fprintf(stderr, "\n  %s\n", jx_errmsg());
        CU_ASSERT_FATAL(gf && gp);
        jx_array *ga[3] = {NULL}, *gb[3] = {NULL};
        CU_ASSERT_EQUAL(jt_eval(gf, 2, in, 3, ga), JX_OK);
        CU_ASSERT_EQUAL(jt_eval(gp, 2, in, 3, gb), JX_OK);
        for (int j = 0; j < 3 && ga[j] && gb[j]; j++) check_close(j ? "gradient" : "loss", ga[j], gb[j], 1e-11);
        for (int j = 0; j < 3; j++) jx_array_release(ga[j]), jx_array_release(gb[j]);
        jx_fn *fns[] = {f, g, p, lf, ld, lpm, tot, gf, gp};
        for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) jx_fn_release(fns[k]);
        jx_array_release(xs);
        for (int j = 0; j < 6; j++) jx_array_release(in[j]);
    }
}

int main(void) {
    CU_TestInfo tests[] = {
        {"sync batch norm and dropout over 1 to 4 devices equal the layers on the whole batch", test_layers},
        CU_TEST_INFO_NULL,
    };
    return jt_run("pmap layers", tests);
}
