/* attrib.c: gradient x input and integrated gradients as transformations of a jx_fn.
 * Integrated gradients vmaps the gradient over the interpolation points, so the path
 * integral is one batched pass, never a loop of calls. */
#include <stdlib.h>

#include <jx/attrib.h>

typedef struct attrib {
    const jx_fn *grads; /* integrated: vmap(grad f) over the points; else grad f */
    int nin, argnum, steps;
} attrib;

/* An f32/f64 rank-1 constant of the midpoints (k + 1/2) / m. */
static jx_val midpoints(jx_loc loc, jx_dtype dt, int m) {
    double *a = malloc((size_t)m * sizeof *a);
    if (!a) {
        jx_error_at(loc, JX_ERR_NOMEM, "integrated_gradients", "out of memory");
        return JX_NONE;
    }
    for (int k = 0; k < m; k++) a[k] = (k + 0.5) / m;
    jx_array *a64 = jx_array_new(JX_F64, JX_INTS(m), a), *ad = a64 ? jx_array_astype(a64, dt) : NULL;
    free(a);
    jx_val v = ad ? jx_const_at(loc, ad) : JX_NONE;
    jx_array_release(a64), jx_array_release(ad);
    return v;
}

/* in: f's inputs, baseline. out: IG. */
static void ig_body(jx_val *out, const jx_val *in, void *user) {
    const attrib *a = user;
    jx_loc loc = JX_HERE;
    jx_val x = in[a->argnum], b = in[a->nin], diff = jx_sub_at(loc, x, b);
    jx_aval av = jx_aval_of(x);
    int64_t shape[JX_MAX_RANK + 1], dims[JX_MAX_RANK];
    shape[0] = a->steps;
    for (int i = 0; i < av.rank; i++) shape[i + 1] = av.shape[i], dims[i] = i + 1;
    jx_ints bs = {shape, av.rank + 1};
    jx_val alpha = jx_broadcast_in_dim_at(loc, midpoints(loc, av.dtype, a->steps), bs, JX_INTS(0));
    jx_val pts = jx_add_at(loc, jx_broadcast_in_dim_at(loc, b, bs, (jx_ints){dims, av.rank}),
                           jx_mul_at(loc, alpha, jx_broadcast_in_dim_at(loc, diff, bs, (jx_ints){dims, av.rank})));
    jx_val *args = malloc((size_t)a->nin * sizeof *args), g = JX_NONE;
    if (!args) {
        jx_error_at(loc, JX_ERR_NOMEM, "integrated_gradients", "out of memory");
        return;
    }
    for (int i = 0; i < a->nin; i++) args[i] = i == a->argnum ? pts : in[i];
    jx_call_at(loc, a->grads, a->nin, args, 1, &g);
    free(args);
    out[0] = jx_mul_at(loc, diff, jx_mean_at(loc, g, JX_INTS(0)));
}

/* in: f's inputs. out: x * grad f. */
static void gxi_body(jx_val *out, const jx_val *in, void *user) {
    const attrib *a = user;
    jx_val g = JX_NONE;
    jx_call_at(JX_HERE, a->grads, a->nin, in, 1, &g);
    out[0] = jx_mul(in[a->argnum], g);
}

/* Checks f and argnum; fills the input avals (nin + 1: the last for a baseline). */
static jx_aval *check(jx_loc loc, const char *what, const jx_fn *f, int argnum) {
    int nin = f ? jx_fn_num_inputs(f) : 0;
    if (!f || argnum < 0 || argnum >= nin) {
        jx_error_at(loc, JX_ERR_ARG, what, "input %d of a function of %d inputs", argnum, nin);
        return NULL;
    }
    jx_aval o = jx_fn_output_aval(f, 0);
    if (jx_fn_num_outputs(f) != 1 || o.rank != 0 || !jx_dtype_is_float(o.dtype)) {
        char s[64];
        jx_error_at(loc, JX_ERR_ARG, what, "the function must have one float scalar output, not %s%s",
                    jx_aval_str(&o, s, sizeof s), jx_fn_num_outputs(f) != 1 ? " and more" : "");
        return NULL;
    }
    jx_aval *av = malloc((size_t)(nin + 1) * sizeof *av);
    if (!av) {
        jx_error_at(loc, JX_ERR_NOMEM, what, "out of memory");
        return NULL;
    }
    for (int i = 0; i < nin; i++) av[i] = jx_fn_input_aval(f, i);
    av[nin] = av[argnum];
    return av;
}

jx_fn *jx_integrated_gradients_at(jx_loc loc, const jx_fn *f, int argnum, int steps) {
    if (steps < 1) {
        jx_error_at(loc, JX_ERR_ARG, "integrated_gradients", "%d steps (at least 1)", steps);
        return NULL;
    }
    jx_aval *av = check(loc, "integrated_gradients", f, argnum);
    if (!av) return NULL;
    int nin = jx_fn_num_inputs(f);
    int64_t *axes = malloc((size_t)nin * sizeof *axes);
    jx_fn *g = axes ? jx_grad_at(loc, f, JX_INTS(argnum)) : NULL, *vg = NULL, *ig = NULL;
    if (g) {
        for (int i = 0; i < nin; i++) axes[i] = i == argnum ? 0 : JX_NOT_MAPPED;
        vg = jx_vmap_at(loc, g, (jx_ints){axes, nin}, JX_INTS(0), steps);
    }
    if (vg) {
        attrib a = {vg, nin, argnum, steps};
        ig = jx_trace_at(loc, "integrated_gradients", ig_body, &a, nin + 1, av, 1);
    } else if (!axes) {
        jx_error_at(loc, JX_ERR_NOMEM, "integrated_gradients", "out of memory");
    }
    jx_fn_release(vg), jx_fn_release(g);
    free(axes), free(av);
    return ig;
}

jx_fn *jx_grad_times_input_at(jx_loc loc, const jx_fn *f, int argnum) {
    jx_aval *av = check(loc, "grad_times_input", f, argnum);
    if (!av) return NULL;
    jx_fn *g = jx_grad_at(loc, f, JX_INTS(argnum)), *r = NULL;
    if (g) {
        attrib a = {g, jx_fn_num_inputs(f), argnum, 0};
        r = jx_trace_at(loc, "grad_times_input", gxi_body, &a, a.nin, av, 1);
    }
    jx_fn_release(g);
    free(av);
    return r;
}
