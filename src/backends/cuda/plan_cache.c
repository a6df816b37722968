/* plan_cache.c: the process-wide caches of library plans (cuDNN's conv descriptors and
 * algorithm, conv.c; cuBLASLt's GEMM descriptors and algorithm, dot_lt.c): one plan per
 * key, made on first use under the cache's lock and kept for the process, a key the
 * library does not take remembered as such. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cuda.h"

struct jx__plan_node {
    struct jx__plan_node *next;
    bool ok;
    _Alignas(max_align_t) unsigned char plan[]; /* begins with its key */
};

void *jx__plan_cache_get(jx__plan_cache *c, const void *key) {
    pthread_mutex_lock(&c->mu);
    struct jx__plan_node *n = c->head;
    while (n && memcmp(n->plan, key, c->key_bytes) != 0) n = n->next;
    if (!n && (n = calloc(1, sizeof *n + c->plan_bytes))) {
        memcpy(n->plan, key, c->key_bytes);
        if (!(n->ok = c->make(n->plan))) c->undo(n->plan);
        n->next = c->head;
        c->head = n;
    }
    pthread_mutex_unlock(&c->mu);
    return n && n->ok ? n->plan : NULL;
}
