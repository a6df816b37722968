/* tree_internal.h: the tree node and the two walkers every tree function is built on
 * (visit the leaves in flatten order with their paths; rebuild a tree of the same
 * structure with new leaves). Private to src/nn. */
#ifndef JX_NN_TREE_INTERNAL_H
#define JX_NN_TREE_INTERNAL_H

#include <jx/tree.h>

struct jx_tree {
    jx_tree_kind kind;
    int n, cap;      /* children of a dict or list */
    char **keys;     /* dict: n names (owned); NULL for a list */
    jx_tree **kids;  /* n children (owned) */
    jx_array *arr;   /* JX_TREE_ARRAY: one reference */
    jx_val val;      /* JX_TREE_VAL */
    jx_aval aval;    /* JX_TREE_AVAL */
};

/* Called for each leaf in flatten order with its path and index; a non-zero return
 * stops the walk and is returned by jx__tree_walk. */
typedef int (*jx__leaf_visit)(const char *path, const jx_tree *leaf, int index, void *user);
int jx__tree_walk(const jx_tree *t, jx__leaf_visit f, void *user);

/* Returns a new leaf for a leaf of the tree being rebuilt, or NULL to fail. */
typedef jx_tree *(*jx__leaf_make)(const char *path, const jx_tree *leaf, int index, void *user);
/* A new tree of like's structure with leaves from f; NULL when f fails or out of memory
 * (the error is then f's, or "out of memory"). */
jx_tree *jx__tree_rebuild(const jx_tree *like, jx__leaf_make f, void *user);

/* Prints 1234567 as "1,234,567" (tree_map.c; the model view of surgery_select.c too). */
void jx__print_count(FILE *out, int64_t v);

#endif
