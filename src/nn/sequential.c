/* sequential.c: jx_seq, the sequential model held as a list of named layers
 * (jx/sequential.h): editing, init with shape inference (each layer traced on its
 * input's aval to learn the next one's), apply and printing. The layers themselves are
 * in seq_layers.c. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/init.h>
#include <jx/random.h>
#include <jx/sequential.h>
#include <jx/taps.h>

#include "nn_util.h"
#include "surgery_internal.h"

struct jx_seq {
    int n, cap;
    jx_nn_layer *l; /* each name owned (strdup) */
};

/* ------------------------------------------------------------------ editing */

jx_seq *jx_seq_new(void) { return calloc(1, sizeof(jx_seq)); }

void jx_seq_free(jx_seq *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free((char *)s->l[i].name);
    free(s->l);
    free(s);
}

jx_seq *jx_seq_of(const jx_nn_layer *layers, int n) {
    jx_seq *s = jx_seq_new();
    for (int i = 0; s && i < n; i++)
        if (jx_seq_add(s, layers[i]) != JX_OK) {
            jx_seq_free(s);
            return NULL;
        }
    if (!s) jx_error_at(JX_HERE, JX_ERR_NOMEM, "seq_of", "out of memory");
    return s;
}

int jx_seq_count(const jx_seq *s) { return s ? s->n : 0; }
const char *jx_seq_name(const jx_seq *s, int i) { return s && i >= 0 && i < s->n ? s->l[i].name : NULL; }
const jx_nn_layer *jx_seq_layer(const jx_seq *s, int i) { return s && i >= 0 && i < s->n ? &s->l[i] : NULL; }
int jx_seq_find(const jx_seq *s, const char *name) {
    for (int i = 0; s && name && i < s->n; i++)
        if (!strcmp(s->l[i].name, name)) return i;
    return -1;
}

/* A copy of l's name, or <kind><k> with the first k not taken in s. NULL: no memory. */
static char *name_for(const jx_seq *s, const jx_nn_layer *l) {
    if (l->name) return strdup(l->name);
    char buf[64];
    for (int k = 1;; k++) {
        snprintf(buf, sizeof buf, "%s%d", l->kind ? l->kind : "layer", k);
        if (jx_seq_find(s, buf) < 0) return strdup(buf);
    }
}

jx_status jx_seq_insert(jx_seq *s, int index, jx_nn_layer l) {
    if (!s || index < 0 || index > s->n || !l.apply || (l.name && !l.name[0]))
        return jx_error_at(JX_HERE, JX_ERR_ARG, "seq_insert", "bad layer '%s' at %d of %d (%s)",
                           l.name ? l.name : "(unnamed)", index, s ? s->n : 0,
                           !s ? "no model" : !l.apply ? "no apply function" : "bad place or empty name");
    if (l.name && jx_seq_find(s, l.name) >= 0)
        return jx_error_at(JX_HERE, JX_ERR_ARG, "seq_insert", "the model already has a layer '%s'", l.name);
    if (s->n == s->cap) {
        int nc = s->cap ? 2 * s->cap : 8;
        jx_nn_layer *nl = realloc(s->l, (size_t)nc * sizeof *nl);
        if (!nl) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "seq_insert", "out of memory");
        s->l = nl, s->cap = nc;
    }
    char *name = name_for(s, &l);
    if (!name) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "seq_insert", "out of memory");
    memmove(s->l + index + 1, s->l + index, (size_t)(s->n - index) * sizeof *s->l);
    l.name = name;
    s->l[index] = l;
    s->n++;
    return JX_OK;
}

jx_status jx_seq_add(jx_seq *s, jx_nn_layer l) { return jx_seq_insert(s, s ? s->n : 0, l); }

jx_status jx_seq_replace(jx_seq *s, const char *name, jx_nn_layer l) {
    int i = jx_seq_find(s, name);
    if (i < 0 || !l.apply)
        return jx_error_at(JX_HERE, JX_ERR_ARG, "seq_replace", "%s '%s'", i < 0 ? "no such layer:" : "no apply function for",
                           name ? name : "(null)");
    if (l.name && strcmp(l.name, name) && jx_seq_find(s, l.name) >= 0)
        return jx_error_at(JX_HERE, JX_ERR_ARG, "seq_replace", "the model already has a layer '%s'", l.name);
    char *copy = strdup(l.name ? l.name : name);
    if (!copy) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "seq_replace", "out of memory");
    free((char *)s->l[i].name);
    l.name = copy;
    s->l[i] = l;
    return JX_OK;
}

jx_seq *jx_seq_slice(const jx_seq *s, int begin, int end) {
    if (!s || begin < 0 || end > s->n || begin > end) {
        jx_error_at(JX_HERE, JX_ERR_ARG, "seq_slice", "layers [%d, %d) of %d", begin, end, s ? s->n : 0);
        return NULL;
    }
    return jx_seq_of(s->l + begin, end - begin);
}

/* ------------------------------------------------------------------ init */

/* The layer traced on avals, to learn its output's: in[0] x, in[1..] its arrays. */
typedef struct probe {
    jx_loc loc;
    const jx_nn_layer *l;
    const jx_nn_param_spec *specs;
    int ns;
} probe;

static void probe_body(jx_val *out, const jx_val *in, void *user) {
    const probe *pr = user;
    jx_tree *p = jx_tree_dict(), *st = jx_tree_dict();
    int np = 0, nst = 0;
    for (int i = 0; i < pr->ns; i++) {
        jx_tree_set_val_at(pr->loc, pr->specs[i].is_state ? st : p, pr->specs[i].name, in[1 + i]);
        if (pr->specs[i].is_state) nst++;
        else np++;
    }
    jx_nn_layer_ctx c = {.key = JX_NONE, .stats = nst ? st : NULL};
    out[0] = pr->l->apply(pr->loc, pr->l, np ? p : NULL, in[0], &c);
    jx_tree_free(p), jx_tree_free(st);
}

static jx_init init_of(jx_nn_init k) {
    switch (k) {
    case JX_NN_INIT_ZEROS: return jx_init_zeros;
    case JX_NN_INIT_ONES: return jx_init_ones;
    case JX_NN_INIT_EMBED_NORMAL: return jx_init_normal(1.0);
    default: return jx_init_lecun_normal; /* orthogonal: no built-in layer asks for it */
    }
}

jx_status jx_seq_init_at(jx_loc loc, const jx_seq *s, jx_aval input, const jx_array *key, jx_tree **params,
                         jx_tree **stats) {
    const char *what = "seq_init";
    if (!params) return jx_error_at(loc, JX_ERR_ARG, what, "NULL params");
    *params = NULL;
    if (stats) *stats = NULL;
    if (!s || !key) return jx_error_at(loc, JX_ERR_ARG, what, "no %s", !s ? "model" : "key");
    if (input.dtype != JX_F32 && input.dtype != JX_F64)
        return jx_error_at(loc, JX_ERR_ARG, what, "the input must be f32 or f64, not %s", jx_dtype_name(input.dtype));
    jx_tree *p = jx_tree_dict(), *st = jx_tree_dict();
    jx_aval a = input;
    uint32_t leaf = 0;
    jx_status rc = p && st ? JX_OK : jx_error_at(loc, JX_ERR_NOMEM, what, "out of memory");
    for (int i = 0; rc == JX_OK && i < s->n; i++) {
        const jx_nn_layer *l = &s->l[i];
        jx_nn_param_spec specs[JX_NN_MAX_PARAMS];
        int ns = l->params ? l->params(l, &a, specs) : 0;
        if (ns < 0) {
            rc = jx_errcode() != JX_OK ? jx_errcode() : jx_error_at(loc, JX_ERR_ARG, what, "layer %d '%s' does not fit its input", i, l->name);
            break;
        }
        jx_aval avals[1 + JX_NN_MAX_PARAMS] = {a};
        for (int k = 0; rc == JX_OK && k < ns; k++) {
            if (specs[k].is_state && !stats) {
                rc = jx_error_at(loc, JX_ERR_ARG, what, "layer %d '%s' has running statistics: pass stats", i, l->name);
                break;
            }
            jx_init init = init_of(specs[k].init);
            jx_array *lk = jx_random_fold_in_new(key, leaf++);
            jx_array *arr = lk ? jx_init_new_at(loc, &init, lk, specs[k].aval.dtype,
                                                (jx_ints){specs[k].aval.shape, specs[k].aval.rank})
                               : NULL;
            jx_array_release(lk);
            char path[256];
            snprintf(path, sizeof path, "%s.%s", l->name, specs[k].name);
            if (!arr || jx_tree_set_array_at(loc, specs[k].is_state ? st : p, path, arr) != JX_OK)
                rc = jx_errcode();
            avals[1 + k] = specs[k].aval;
        }
        if (rc != JX_OK) break;
        probe pr = {loc, l, specs, ns};
        char name[80];
        snprintf(name, sizeof name, "layer %d %s", i, l->name);
        jx_fn *f = jx_trace_at(loc, name, probe_body, &pr, 1 + ns, avals, 1);
        if (!f) {
            rc = jx_errcode();
            break;
        }
        a = jx_fn_output_aval(f, 0);
        jx_fn_release(f);
    }
    if (rc != JX_OK) {
        jx_tree_free(p), jx_tree_free(st);
        return rc;
    }
    *params = p;
    if (stats) *stats = st;
    else jx_tree_free(st);
    return JX_OK;
}

/* ------------------------------------------------------------------ apply and print */

/* The child `key` of t, or NULL (no error) when t is NULL or has none. */
static const jx_tree *child(const jx_tree *t, const char *key) {
    for (int i = 0; t && i < jx_tree_num_children(t); i++)
        if (jx_tree_key(t, i) && !strcmp(jx_tree_key(t, i), key)) return jx_tree_child(t, i);
    return NULL;
}

jx_val jx_seq_apply_at(jx_loc loc, const jx_seq *s, const jx_tree *params, jx_val x, const jx_seq_ctx *ctx) {
    if (!s || !params) return jx__nn_fail(loc, JX_ERR_ARG, "seq_apply", "NULL %s", s ? "params" : "model");
    jx_seq_ctx none = {.key = JX_NONE};
    const jx_seq_ctx *c = ctx ? ctx : &none;
    int train = c->key.trace && jx__nn_given(c->key);
    for (int i = 0; i < s->n && jx_trace_status() == JX_OK; i++) {
        const jx_nn_layer *l = &s->l[i];
        const jx_tree *p = l->params ? jx_tree_get_at(loc, params, l->name) : NULL;
        jx_nn_layer_ctx lc = {.key = train ? jx_random_fold_in_at(loc, c->key, jx_scalar_at(loc, JX_U32, (double)i))
                                           : JX_NONE,
                              .stats = child(c->stats, l->name),
                              .axis_name = c->axis_name};
        jx_tree *ns = c->new_stats && lc.stats ? jx_tree_dict() : NULL;
        lc.new_stats = ns;
        x = l->apply(loc, l, p, x, &lc);
        if (ns && jx_tree_num_children(ns)) jx_tree_set_at(loc, c->new_stats, l->name, ns);
        else jx_tree_free(ns);
        x = jx_tap_at(loc, c->taps, l->name, x);
    }
    return jx_trace_status() == JX_OK ? x : JX_NONE;
}

jx_status jx_seq_print(FILE *out, const jx_seq *s, const jx_tree *params) {
    if (!out || !s || !params) return jx_error_at(JX_HERE, JX_ERR_ARG, "seq_print", "NULL argument");
    for (int i = 0; i < s->n; i++) {
        const jx_tree *p = child(params, s->l[i].name);
        fprintf(out, "%s  %s", s->l[i].name, s->l[i].kind ? s->l[i].kind : "layer");
        if (p) fprintf(out, "  %lld", (long long)jx_tree_num_params(p));
        fputc('\n', out);
        if (p && !jx_tree_is_leaf(p)) jx__print_model(out, p, 1);
    }
    fprintf(out, "total  %d layers  %lld parameters\n", s->n, (long long)jx_tree_num_params(params));
    return ferror(out) ? jx_error_at(JX_HERE, JX_ERR_IO, "seq_print", "write failed") : JX_OK;
}
