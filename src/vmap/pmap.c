/* pmap.c: jx_pmap and jx_pmap_call, the parallel map. Unlike vmap it does not rewrite
 * f: it stages one `pmap` equation holding f, the axis name, the device count and the
 * in/out axes. At run time (src/backends/pmap_run.c) f runs once per device on its own
 * thread and the collectives over the axis name meet across the devices; grad and vmap
 * go through the equation with their pmap rules (rules_pmap.c in src/grad and here). */
#include <stdio.h>
#include <stdlib.h>

#include "vmap.h"
#include "../backends/devices.h"

/* The device count a pmap maps over, or -1 with the error naming loc. */
static int64_t device_count(jx_loc loc) {
    if (jx__devices_check(loc, "pmap") != JX_OK) return -1;
    return jx_local_device_count();
}

/* The checks both entries share: f, the name, and the axes' counts. */
static bool args_ok(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, const char *axis_name) {
    if (!f) return jx__fail(JX_ERR_ARG, loc, "pmap", "function is NULL"), false;
    if (!axis_name || !*axis_name) return jx__fail(JX_ERR_ARG, loc, "pmap", "axis name is %s", axis_name ? "empty" : "NULL"), false;
    if ((in_axes.n && in_axes.n != f->nin) || (out_axes.n && out_axes.n != f->nout))
        return jx__fail(JX_ERR_ARG, loc, "pmap", "%s takes %d inputs and gives %d outputs; in_axes has %d entries, out_axes %d",
                        jx_fn_name(f), f->nin, f->nout, in_axes.n, out_axes.n),
               false;
    if ((in_axes.n && !in_axes.v) || (out_axes.n && !out_axes.v))
        return jx__fail(JX_ERR_ARG, loc, "pmap", "in_axes or out_axes has entries but no values"), false;
    return true;
}

jx_fn *jx_pmap_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, const char *axis_name) {
    if (!args_ok(loc, f, in_axes, out_axes, axis_name)) return NULL;
    int64_t size = device_count(loc);
    if (size < 0) return NULL;
    int n = f->nin, m = f->nout;
    int *rank = malloc(sizeof *rank * (size_t)(n + m + 1)), *dims = malloc(sizeof *dims * (size_t)(n + m + 1));
    jx_aval *av = malloc(sizeof *av * (size_t)(n + 1));
    jx_val *vals = malloc(sizeof *vals * (size_t)(n + m + 1));
    jx_fn *r = NULL;
    if (!rank || !dims || !av || !vals) {
        jx__fail(JX_ERR_NOMEM, loc, "pmap", "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) rank[i] = f->vars[f->in[i]].rank;
    for (int i = 0; i < m; i++) rank[n + i] = jx__atom_aval(f, &f->out[i]).rank;
    if (!jx__vmap_norm_axes(loc, "pmap", in_axes, n, rank, "in_axes", "input", dims) ||
        !jx__vmap_norm_axes(loc, "pmap", out_axes, m, rank + n, "out_axes", "output", dims + n))
        goto done;
    for (int i = 0; i < n; i++) {
        jx_aval a = f->vars[f->in[i]];
        if (dims[i] != JX_NOBATCH) {
            for (int d = a.rank; d > dims[i]; d--) a.shape[d] = a.shape[d - 1];
            a.shape[dims[i]] = size;
            a.rank++;
        }
        av[i] = a;
    }
    char name[256];
    snprintf(name, sizeof name, "pmap_%s", jx_fn_name(f));
    jx__trace *t = jx__trace_begin(loc, name, n, av, vals, false);
    if (!t) goto done;
    jx__pmap_bind(loc, f, axis_name, size, dims, dims + n, vals, vals + n);
    r = jx__trace_end(t, m, vals + n, NULL, NULL);
done:
    free(rank);
    free(dims);
    free(av);
    free(vals);
    return r;
}

/* Makes this thread's last error (already naming the place) the trace's sticky one. */
static void sticky(jx__trace *t) { jx__trace_fail(t, jx_errcode(), jx__noloc, NULL, "%s", jx_errmsg()); }

void jx_pmap_call_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, const char *axis_name, int nin,
                     const jx_val *in, int nout, jx_val *out) {
    jx__trace *t = jx__trace_top();
    for (int i = 0; i < nout; i++) out[i] = JX_NONE;
    if (!t) {
        jx__fail(JX_ERR_TRACE, loc, "pmap", "jx_pmap_call is used inside a traced body");
        return;
    }
    if (!args_ok(loc, f, in_axes, out_axes, axis_name)) {
        sticky(t);
        return;
    }
    if (nin != f->nin || nout != f->nout) {
        jx__trace_fail(t, JX_ERR_ARG, loc, "pmap", "%s takes %d inputs and gives %d outputs; called with %d and %d",
                       jx_fn_name(f), f->nin, f->nout, nin, nout);
        return;
    }
    int64_t size = device_count(loc);
    int *rank = malloc(sizeof *rank * (size_t)(nin + nout + 1)), *dims = malloc(sizeof *dims * (size_t)(nin + nout + 1));
    if (size < 0) {
        sticky(t);
        goto done;
    }
    if (!rank || !dims) {
        jx__trace_fail(t, JX_ERR_NOMEM, loc, "pmap", "out of memory");
        goto done;
    }
    for (int i = 0; i < nin; i++) rank[i] = jx__val_aval(in[i]).rank - 1;
    for (int i = 0; i < nout; i++) rank[nin + i] = jx__atom_aval(f, &f->out[i]).rank;
    if (!jx__vmap_norm_axes(loc, "pmap", in_axes, nin, rank, "in_axes", "input", dims) ||
        !jx__vmap_norm_axes(loc, "pmap", out_axes, nout, rank + nin, "out_axes", "output", dims + nin)) {
        sticky(t);
        goto done;
    }
    for (int i = 0; i < nin; i++) {
        if (dims[i] == JX_NOBATCH) continue;
        jx_aval a = jx__val_aval(in[i]);
        if (a.shape[dims[i]] != size) {
            jx__trace_fail(t, JX_ERR_SHAPE, loc, "pmap",
                           "input %d (%s) has size %lld at mapped axis %d but there are %lld devices "
                           "(JX_CPU_DEVICES or jx_set_cpu_device_count)",
                           i, jx__avs(&a), (long long)a.shape[dims[i]], dims[i], (long long)size);
            goto done;
        }
    }
    jx__pmap_bind(loc, f, axis_name, size, dims, dims + nin, in, out);
done:
    free(rank);
    free(dims);
}
