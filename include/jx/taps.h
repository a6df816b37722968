/* jx/taps.h: intermediate values of a traced model, captured as extra outputs and
 * patched (Penzai's intercepts, Flax's capture_intermediates and sow).
 *
 * A model passes its named activations through jx_tap; a jx_taps object says which
 * names to capture and which to patch. A tap nobody asked for returns its value
 * unchanged and adds nothing to the IR, so a model with taps costs nothing when none
 * are asked for.
 *
 *     jx_taps *taps = jx_taps_new();
 *     jx_taps_capture(taps, "dense1");                   // as an extra output
 *     int64_t units[2] = {3, 17};
 *     jx_taps_ablate(taps, "conv2", 2, units, 0.0);      // those channels set to 0
 *     // in the body (user = taps):
 *     h = jx_tap(taps, "dense1", jx_relu(...));
 *     ...
 *     out[1] = jx_taps_take(taps);                       // {dense1: f32[B,128]}
 *
 * The body is traced more than once (jx_tree_trace traces twice): jx_taps_take hands
 * over what this trace captured and resets, so each trace starts empty (after a trace
 * that failed before its body took them, call jx_taps_take or jx_taps_clear before the
 * next one). A jx_taps is used by one trace at a time. */
#ifndef JX_TAPS_H
#define JX_TAPS_H

#include <jx.h>
#include <jx/tree.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jx_taps jx_taps;

jx_taps *jx_taps_new(void); /* NULL when out of memory */
void jx_taps_free(jx_taps *t);

/* Asks for the activations of the taps whose names match pattern (jx_path_match). */
jx_status jx_taps_capture(jx_taps *t, const char *pattern);
/* Patches the tap `name`: the given units (indices along its last axis, the channels
 * of an NHWC activation or the features of a dense one) are replaced by value
 * (ablation: 0, or a unit's mean). Several calls for one name add units. An index out
 * of range is an error when the tap is traced. */
jx_status jx_taps_ablate(jx_taps *t, const char *name, int n, const int64_t *units, double value);
/* Patches the tap `name` with f(v, user) (any traced function of the activation). */
typedef jx_val (*jx_tap_fn)(jx_val v, void *user);
jx_status jx_taps_patch(jx_taps *t, const char *name, jx_tap_fn f, void *user);
/* Forgets every capture and patch. */
void jx_taps_clear(jx_taps *t);

/* Inside a body: v patched as t asks (v itself when t is NULL or has nothing for name),
 * recorded for jx_taps_take when its name is captured (the patched value). */
jx_val jx_tap_at(jx_loc loc, jx_taps *t, const char *name, jx_val v);
#define jx_tap(...) jx_tap_at(JX_HERE, __VA_ARGS__)
/* The values captured since the last take, as a dict {name: value} in tap order (an
 * empty dict when none), for the body to return as an output tree. */
jx_tree *jx_taps_take(jx_taps *t);

#ifdef __cplusplus
}
#endif
#endif /* JX_TAPS_H */
