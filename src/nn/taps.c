/* taps.c: named activations captured as extra outputs or patched. A tap that nothing
 * asks for returns its value untouched, so it costs no equation; an ablation is a
 * multiply by a constant 0/1 mask along the last axis plus a constant fill. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdlib.h>
#include <string.h>

#include <jx/taps.h>

#include "nn_util.h"

typedef struct patch {
    char *name;
    int64_t *units; /* ablation: n indices along the last axis, set to value */
    int n;
    double value;
    jx_tap_fn fn; /* or a function of the activation */
    void *user;
} patch;

struct jx_taps {
    char **capture;
    int ncapture;
    patch *patches;
    int npatches;
    jx_tree *taken; /* this trace's captures */
};

jx_taps *jx_taps_new(void) { return calloc(1, sizeof(jx_taps)); }

void jx_taps_clear(jx_taps *t) {
    if (!t) return;
    for (int i = 0; i < t->ncapture; i++) free(t->capture[i]);
    for (int i = 0; i < t->npatches; i++) free(t->patches[i].name), free(t->patches[i].units);
    free(t->capture), free(t->patches);
    jx_tree_free(t->taken);
    t->capture = NULL, t->patches = NULL, t->taken = NULL, t->ncapture = t->npatches = 0;
}

void jx_taps_free(jx_taps *t) {
    jx_taps_clear(t);
    free(t);
}

jx_status jx_taps_capture(jx_taps *t, const char *pattern) {
    if (!t || !pattern) return jx_error_at(JX_HERE, JX_ERR_ARG, "taps_capture", "NULL argument");
    char **nc = realloc(t->capture, (size_t)(t->ncapture + 1) * sizeof *nc);
    if (!nc) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "taps_capture", "out of memory");
    t->capture = nc;
    if (!(nc[t->ncapture] = strdup(pattern))) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "taps_capture", "out of memory");
    t->ncapture++;
    return JX_OK;
}

static jx_status add_patch(jx_taps *t, patch p) {
    patch *np = realloc(t->patches, (size_t)(t->npatches + 1) * sizeof *np);
    if (!np) {
        free(p.name), free(p.units);
        return jx_error_at(JX_HERE, JX_ERR_NOMEM, "taps_patch", "out of memory");
    }
    t->patches = np;
    t->patches[t->npatches++] = p;
    return JX_OK;
}

jx_status jx_taps_ablate(jx_taps *t, const char *name, int n, const int64_t *units, double value) {
    if (!t || !name || n < 0 || (n && !units)) return jx_error_at(JX_HERE, JX_ERR_ARG, "taps_ablate", "bad arguments");
    patch p = {strdup(name), malloc((size_t)(n + 1) * sizeof(int64_t)), n, value, NULL, NULL};
    if (!p.name || !p.units) {
        free(p.name), free(p.units);
        return jx_error_at(JX_HERE, JX_ERR_NOMEM, "taps_ablate", "out of memory");
    }
    if (n) memcpy(p.units, units, (size_t)n * sizeof *units);
    return add_patch(t, p);
}

jx_status jx_taps_patch(jx_taps *t, const char *name, jx_tap_fn f, void *user) {
    if (!t || !name || !f) return jx_error_at(JX_HERE, JX_ERR_ARG, "taps_patch", "NULL argument");
    patch p = {strdup(name), NULL, 0, 0, f, user};
    if (!p.name) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "taps_patch", "out of memory");
    return add_patch(t, p);
}

/* v with p's units (along the last axis) replaced by p->value. */
static jx_val ablate(jx_loc loc, jx_val v, const patch *p) {
    int64_t c = jx_dim(v, -1);
    jx_dtype dt = jx_dtype_of(v);
    for (int i = 0; i < p->n; i++)
        if (p->units[i] < 0 || p->units[i] >= c)
            return jx__nn_fail(loc, JX_ERR_ARG, "tap", "unit %lld of tap '%s' is out of range for %s",
                               (long long)p->units[i], p->name, jx__nn_avs(v));
    double *k = malloc((size_t)(2 * c + 1) * sizeof *k), *f = k ? k + c : NULL;
    jx_array *k64 = NULL, *f64 = NULL, *keep = NULL, *fill = NULL;
    if (k) {
        for (int64_t i = 0; i < c; i++) k[i] = 1, f[i] = 0;
        for (int i = 0; i < p->n; i++) k[p->units[i]] = 0, f[p->units[i]] = p->value;
        k64 = jx_array_new(JX_F64, JX_INTS(c), k), f64 = jx_array_new(JX_F64, JX_INTS(c), f);
        keep = k64 ? jx_array_astype(k64, dt) : NULL, fill = f64 ? jx_array_astype(f64, dt) : NULL;
    }
    free(k);
    jx_array_release(k64), jx_array_release(f64);
    if (!keep || !fill) {
        jx_array_release(keep), jx_array_release(fill);
        return jx__nn_fail(loc, JX_ERR_NOMEM, "tap", "out of memory");
    }
    jx_val r = jx_mul_at(loc, v, jx_const_at(loc, keep));
    if (p->value != 0) r = jx_add_at(loc, r, jx_const_at(loc, fill));
    jx_array_release(keep), jx_array_release(fill);
    return r;
}

jx_val jx_tap_at(jx_loc loc, jx_taps *t, const char *name, jx_val v) {
    if (!t || !name || !jx__nn_valid(loc, "tap", name, v)) return v;
    for (int i = 0; i < t->npatches; i++) {
        const patch *p = &t->patches[i];
        if (strcmp(p->name, name)) continue;
        v = p->fn ? p->fn(v, p->user) : ablate(loc, v, p);
    }
    for (int i = 0; i < t->ncapture; i++) {
        if (!jx_path_match(t->capture[i], name)) continue;
        if (!t->taken && !(t->taken = jx_tree_dict())) return jx__nn_fail(loc, JX_ERR_NOMEM, "tap", "out of memory");
        jx_tree_set_val_at(loc, t->taken, name, v);
        break;
    }
    return v;
}

jx_tree *jx_taps_take(jx_taps *t) {
    if (!t || !t->taken) return jx_tree_dict();
    jx_tree *r = t->taken;
    t->taken = NULL;
    return r;
}
