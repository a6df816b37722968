/* random_host.c: the PRNG's host forms (keys as host arrays, for initialisation and
 * for passing a fresh key into each training step), evaluated with the interpreter. */
#include <jx/random.h>

#include "nn_util.h"

jx_array *jx_random_key_new(int64_t seed) {
    uint32_t k[2] = {0, (uint32_t)seed}; /* PRNGKey with x64 off keeps the low 32 bits */
    return jx_array_new(JX_U32, JX_INTS(2), k);
}

typedef struct host_args {
    int64_t n;
    uint32_t data;
} host_args;

static void split_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_random_split(in[0], ((host_args *)user)->n);
}
static void row_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_random_key_index(in[0], ((host_args *)user)->n);
}
static void fold_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_random_fold_in(in[0], jx_scalar(JX_U32, ((host_args *)user)->data));
}

jx_array *jx_random_split_new(const jx_array *key, int64_t n) {
    host_args a = {n, 0};
    jx_array *in[1] = {(jx_array *)key};
    return jx__nn_eval1(JX_HERE, "random_split", split_body, &a, 1, in);
}

jx_array *jx_random_key_row_new(const jx_array *keys, int64_t i) {
    host_args a = {i, 0};
    jx_array *in[1] = {(jx_array *)keys};
    return jx__nn_eval1(JX_HERE, "random_key_row", row_body, &a, 1, in);
}

jx_array *jx_random_fold_in_new(const jx_array *key, uint32_t data) {
    host_args a = {0, data};
    jx_array *in[1] = {(jx_array *)key};
    return jx__nn_eval1(JX_HERE, "random_fold_in", fold_body, &a, 1, in);
}
