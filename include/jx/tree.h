/* jx/tree.h: trees of named leaves (JAX's pytrees, Flax's param dicts), and the
 * transformations applied to functions of trees.
 *
 * A tree is a nested structure of dicts (named children, kept in insertion order) and
 * lists (numbered children), whose leaves are host arrays (jx_array), traced values
 * (jx_val, inside a body) or abstract values (jx_aval, a shape to trace with). A leaf is
 * named by its path, the keys from the root joined by dots: "encoder.conv1.w",
 * "layers.0.b". Flattening lists the leaves depth first, in that order; a jx_fn built
 * from trees takes and gives exactly those positional lists.
 *
 *     jx_tree *params = jx_tree_dict();
 *     jx_tree_set_array(params, "dense1.w", jx_array_zeros(JX_F32, JX_INTS(784, 512)));
 *     jx_tree_set_array(params, "dense1.b", jx_array_zeros(JX_F32, JX_INTS(512)));
 *     jx_tree_print(stdout, params);        // shapes, dtypes and sizes, indented
 *     jx_tree_free(params);
 *
 * Ownership: a tree owns its children and holds one reference on each array leaf;
 * jx_tree_free releases them all. Functions that take a jx_tree * or jx_array * "into"
 * a tree take it over (also when they fail: it is then freed); functions that return a
 * new tree return one the caller frees; jx_tree_get and the leaf accessors return
 * borrowed pointers, valid while the tree is unchanged.
 *
 * Errors: functions returning jx_status or NULL set jx_errmsg() (inside a trace, the
 * trace's sticky error) with the caller's file and line: the _at forms take a jx_loc and
 * the macros pass JX_HERE, like jx's ops. */
#ifndef JX_TREE_H
#define JX_TREE_H

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jx_tree jx_tree;

typedef enum jx_tree_kind {
    JX_TREE_DICT,  /* named children */
    JX_TREE_LIST,  /* numbered children */
    JX_TREE_ARRAY, /* leaf: a host array */
    JX_TREE_VAL,   /* leaf: a traced value */
    JX_TREE_AVAL   /* leaf: an abstract value (dtype and shape only) */
} jx_tree_kind;

/* The longest path jx writes (longer ones are an error where a path is built). */
#define JX_TREE_PATH_MAX 256

/* ------------------------------------------------------------------ building */

jx_tree *jx_tree_dict(void); /* an empty dict; NULL only when out of memory */
jx_tree *jx_tree_list(void); /* an empty list */
/* A leaf holding a; takes over the caller's reference (NULL a gives NULL). */
jx_tree *jx_tree_array(jx_array *a);
jx_tree *jx_tree_val(jx_val v);   /* a traced-value leaf */
jx_tree *jx_tree_aval(jx_aval a); /* an abstract leaf */
/* Frees t, its children and their array references. NULL is fine. */
void jx_tree_free(jx_tree *t);
/* A deep copy of the structure; array leaves are shared (retained), not copied. */
jx_tree *jx_tree_copy(const jx_tree *t);

/* Puts child at path, taking it over: the missing dicts on the way are created, a
 * number names an existing list element ("layers.0.w"), an existing entry at path is
 * replaced (and freed). Fails (freeing child) on an empty or malformed path, a path
 * through a leaf, or a list index out of range. */
jx_status jx_tree_set_at(jx_loc loc, jx_tree *t, const char *path, jx_tree *child);
#define jx_tree_set(...) jx_tree_set_at(JX_HERE, __VA_ARGS__)
/* jx_tree_set with an array leaf (taking over a's reference) or a traced value. */
jx_status jx_tree_set_array_at(jx_loc loc, jx_tree *t, const char *path, jx_array *a);
#define jx_tree_set_array(...) jx_tree_set_array_at(JX_HERE, __VA_ARGS__)
jx_status jx_tree_set_val_at(jx_loc loc, jx_tree *t, const char *path, jx_val v);
#define jx_tree_set_val(...) jx_tree_set_val_at(JX_HERE, __VA_ARGS__)
/* Appends child (taken over) to the list `list`. */
jx_status jx_tree_append_at(jx_loc loc, jx_tree *list, jx_tree *child);
#define jx_tree_append(...) jx_tree_append_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ reading */

jx_tree_kind jx_tree_kind_of(const jx_tree *t);
int jx_tree_is_leaf(const jx_tree *t);
/* Children of a dict or list (0 for a leaf); the i-th child and its key (a dict's name,
 * NULL for a list element). Borrowed. */
int jx_tree_num_children(const jx_tree *t);
jx_tree *jx_tree_child(const jx_tree *t, int i);
const char *jx_tree_key(const jx_tree *t, int i);
/* The subtree at path ("" is t itself), borrowed; NULL with an error naming the first
 * missing key when there is none. */
jx_tree *jx_tree_get_at(jx_loc loc, const jx_tree *t, const char *path);
#define jx_tree_get(...) jx_tree_get_at(JX_HERE, __VA_ARGS__)
/* The array / traced value of the leaf at path: borrowed array (NULL) / JX_NONE with an
 * error when missing or of another kind. */
jx_array *jx_tree_get_array_at(jx_loc loc, const jx_tree *t, const char *path);
#define jx_tree_get_array(...) jx_tree_get_array_at(JX_HERE, __VA_ARGS__)
jx_val jx_tree_get_val_at(jx_loc loc, const jx_tree *t, const char *path);
#define jx_tree_get_val(...) jx_tree_get_val_at(JX_HERE, __VA_ARGS__)
/* A leaf's array (borrowed), value, and aval (for every leaf kind; rank -1 if not a leaf). */
jx_array *jx_tree_leaf_array(const jx_tree *leaf);
jx_val jx_tree_leaf_val(const jx_tree *leaf);
jx_aval jx_tree_leaf_aval(const jx_tree *leaf);

/* Number of leaves, and of parameters (the sum of the leaves' element counts). */
int jx_tree_num_leaves(const jx_tree *t);
int64_t jx_tree_num_params(const jx_tree *t);
/* The i-th leaf in flatten order (borrowed; NULL when out of range), and its path
 * written into buf (always terminated; JX_ERR_ARG when it does not fit). */
jx_tree *jx_tree_leaf(const jx_tree *t, int i);
jx_status jx_tree_leaf_path(const jx_tree *t, int i, char *buf, size_t n);

/* ------------------------------------------------------------------ flatten, unflatten */

/* Writes the leaves in flatten order into out (room for cap; returns the number of
 * leaves, which may exceed cap: then only cap are written). Arrays are borrowed; avals
 * are given for every leaf kind; vals only for traced-value leaves (JX_NONE otherwise). */
int jx_tree_flatten_arrays(const jx_tree *t, jx_array **out, int cap);
int jx_tree_flatten_vals(const jx_tree *t, jx_val *out, int cap);
int jx_tree_flatten_avals(const jx_tree *t, jx_aval *out, int cap);
/* A new tree of like's structure whose leaves are leaves[0..n): arrays are taken over
 * (all n of them, also on failure), vals copied. n must equal like's leaf count. */
jx_tree *jx_tree_unflatten_arrays_at(jx_loc loc, const jx_tree *like, int n, jx_array **leaves);
#define jx_tree_unflatten_arrays(...) jx_tree_unflatten_arrays_at(JX_HERE, __VA_ARGS__)
jx_tree *jx_tree_unflatten_vals_at(jx_loc loc, const jx_tree *like, int n, const jx_val *leaves);
#define jx_tree_unflatten_vals(...) jx_tree_unflatten_vals_at(JX_HERE, __VA_ARGS__)

/* Checks a and b have the same structure (kinds, keys, lengths; leaves of any kind match
 * each other) and, when check_avals, equal leaf avals. On a mismatch the error names the
 * first differing path and both sides, e.g. "tree mismatch at 'dense1.w': f32[784,512] in
 * params, f32[784,256] in grads"; a_name/b_name name the two trees in it. */
jx_status jx_tree_check_same_at(jx_loc loc, const jx_tree *a, const char *a_name,
                                const jx_tree *b, const char *b_name, int check_avals);
#define jx_tree_check_same(...) jx_tree_check_same_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ map, select */

/* Map over leaves: a new tree of t's structure whose leaves are f(path, leaf). An
 * array map returns a new reference (taken over by the tree) or NULL to fail (the map
 * then returns NULL; f should set the error). A val map works inside a body. */
typedef jx_array *(*jx_tree_array_fn)(const char *path, const jx_array *a, void *user);
typedef jx_val (*jx_tree_val_fn)(const char *path, jx_val v, void *user);
typedef jx_val (*jx_tree_val2_fn)(const char *path, jx_val a, jx_val b, void *user);
jx_tree *jx_tree_map_arrays(const jx_tree *t, jx_tree_array_fn f, void *user);
jx_tree *jx_tree_map_vals(const jx_tree *t, jx_tree_val_fn f, void *user);
/* Two trees of one structure (checked, an error naming the path otherwise), leaf by leaf:
 * out = f(path, a_leaf, b_leaf), e.g. p - lr * g. */
jx_tree *jx_tree_map2_vals_at(jx_loc loc, const jx_tree *a, const jx_tree *b, jx_tree_val2_fn f,
                              void *user);
#define jx_tree_map2_vals(...) jx_tree_map2_vals_at(JX_HERE, __VA_ARGS__)

/* Glob match of a dotted path: "*" matches one key (no dots), "**" any run of keys
 * (also none), other characters themselves. "dense1.*" matches "dense1.w";
 * "**.b" matches "b" and "enc.layers.0.b"; "**" matches everything. */
int jx_path_match(const char *pattern, const char *path);
/* The leaves whose paths match pattern, as a new tree keeping their paths (array
 * leaves retained); an empty dict when none matches. */
jx_tree *jx_tree_select(const jx_tree *t, const char *pattern);
/* Number of leaves whose paths match pattern. */
int jx_tree_count_matching(const jx_tree *t, const char *pattern);

/* Prints t as an indented tree: one line per leaf with its dtype, shape and size, and a
 * total; traced leaves print their aval. */
jx_status jx_tree_print(FILE *out, const jx_tree *t);

/* ------------------------------------------------------------------ functions of trees */

/* A body over trees: read in[0..nin) (trees of traced values), set out[0..nout) to new
 * trees (of traced values; the caller frees them). Leave out[i] NULL to fail (record
 * the error with jx_error_at first). */
typedef void (*jx_tree_body)(jx_tree **out, jx_tree *const *in, void *user);

/* A jx_fn over flattened trees with the structures to rebuild its trees. */
typedef struct jx_tree_fn jx_tree_fn;

/* Traces body with inputs shaped like in[0..nin) (any leaf kinds; only their avals
 * count) into a function whose positional inputs are the flattened inputs and whose
 * outputs are the flattened output trees. NULL on failure with jx_errmsg() set.
 * Free with jx_tree_fn_free. */
jx_tree_fn *jx_tree_trace_at(jx_loc loc, const char *name, jx_tree_body body, void *user,
                             int nin, jx_tree *const *in, int nout);
#define jx_tree_trace(...) jx_tree_trace_at(JX_HERE, __VA_ARGS__)
void jx_tree_fn_free(jx_tree_fn *f);
/* The positional function (borrowed); jit it with jx_jit. */
const jx_fn *jx_tree_fn_fn(const jx_tree_fn *f);
int jx_tree_fn_num_inputs(const jx_tree_fn *f);  /* trees */
int jx_tree_fn_num_outputs(const jx_tree_fn *f); /* trees */
/* The first flat input index of tree input i (so jit donation can name a whole tree),
 * and its leaf count. */
int jx_tree_fn_input_offset(const jx_tree_fn *f, int i);
int jx_tree_fn_input_leaves(const jx_tree_fn *f, int i);
/* The structure of output i, borrowed (leaves are avals). */
const jx_tree *jx_tree_fn_output(const jx_tree_fn *f, int i);
/* Runs f on trees of arrays: exec (may be NULL: the interpreter) compiled from
 * jx_tree_fn_fn(f). Each in[i] must match input i's structure and avals (an error names
 * the path otherwise); out[0..nout) receive new trees of arrays. */
jx_status jx_tree_fn_run_at(jx_loc loc, const jx_tree_fn *f, jx_exec *exec, int nin,
                            jx_tree *const *in, int nout, jx_tree **out);
#define jx_tree_fn_run(...) jx_tree_fn_run_at(JX_HERE, __VA_ARGS__)

/* Gradient of a tree function, inside a body (JAX's value_and_grad(f, has_aux)(*in)):
 * body's out[0] is the loss, a single float scalar leaf; out[1..nout) are auxiliary
 * trees passed through. Sets out[0..nout) to the values and *grad to the gradient with
 * respect to in[argnum], a tree of in[argnum]'s structure. Returns the trace's status.
 * The gradient is computed by jx_value_and_grad, so it is exact reverse mode. */
jx_status jx_tree_value_and_grad_at(jx_loc loc, jx_tree_body body, void *user, int nin,
                                    jx_tree *const *in, int argnum, int nout, jx_tree **out,
                                    jx_tree **grad);
#define jx_tree_value_and_grad(...) jx_tree_value_and_grad_at(JX_HERE, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* JX_TREE_H */
