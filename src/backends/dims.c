/* dims.c: dimension arithmetic shared by the interpreter and the CPU backend (see
 * dims.h). */
#include <stdint.h>
#include <stdlib.h>

#include "dims.h"

int64_t jx__dot_layout(const jx_aval *x, jx_ints batch, jx_ints contract, bool contract_first, int *perm) {
    bool used[JX_MAX_RANK] = {false};
    int n = 0;
    int64_t free_size = 1;
    for (int i = 0; i < batch.n; i++) perm[n++] = (int)batch.v[i], used[batch.v[i]] = true;
    for (int i = 0; i < contract.n; i++) used[contract.v[i]] = true;
    int nfree = x->rank - batch.n - contract.n;
    int cpos = contract_first ? n : n + nfree, fpos = contract_first ? n + contract.n : n;
    for (int i = 0; i < contract.n; i++) perm[cpos + i] = (int)contract.v[i];
    for (int d = 0; d < x->rank; d++)
        if (!used[d]) perm[fpos++] = d, free_size *= x->shape[d];
    return free_size;
}

int64_t *jx__conv_tap_table(int64_t in, int64_t in_dil, int64_t lo, int64_t k, int64_t k_dil, int64_t stride,
                            int64_t out) {
    int64_t n;
    if (__builtin_mul_overflow(k, out, &n) || (uint64_t)n > SIZE_MAX / sizeof(int64_t)) return NULL;
    int64_t *tab = malloc(sizeof *tab * (size_t)(n ? n : 1));
    if (!tab) return NULL;
    int64_t dilated = in ? (in - 1) * in_dil + 1 : 0;
    for (int64_t t = 0; t < k; t++)
        for (int64_t o = 0; o < out; o++) {
            int64_t p = o * stride + t * k_dil - lo;
            tab[t * out + o] = p >= 0 && p < dilated && p % in_dil == 0 ? p / in_dil : -1;
        }
    return tab;
}
