/* nn_tutorial.c: docs/nn.md as a program. A two-layer MLP learns a synthetic 4-class
 * problem (labels from a hidden linear map of Gaussian inputs): its parameters are a
 * tree initialised from a PRNG key, one jitted and donated step computes the loss, the
 * gradients as a tree and an AdamW update (warmup-cosine schedule, clipping), a
 * checkpoint is written half way, and a second run restored from it must end with the
 * same parameters bit for bit.
 *
 *   usage: nn_tutorial [OUT_DIR]     (default: the current directory) */
#include <jx/nn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IN = 8, HID = 32, CLASSES = 4, BATCH = 64, STEPS = 200 };

/* in[0]: params; in[1]: batch {x: f32[B,8], y: i32[B]}. out[0]: mean cross-entropy;
 * out[1]: {correct: the number of right answers}. */
static void loss_fn(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val x = jx_tree_get_val(in[1], "x"), y = jx_tree_get_val(in[1], "y");
    jx_val h = jx_relu(jx_add(jx_matmul(x, jx_tree_get_val(in[0], "dense1.w")), jx_tree_get_val(in[0], "dense1.b")));
    jx_val logits = jx_add(jx_matmul(h, jx_tree_get_val(in[0], "dense2.w")), jx_tree_get_val(in[0], "dense2.b"));
    jx_val nll = jx_neg(jx_sum(jx_mul(jx_log_softmax(logits, 1), jx_one_hot(y, CLASSES, JX_F32)), JX_NOINTS));
    out[0] = jx_tree_val(jx_div(nll, jx_scalar(JX_F32, (double)jx_dim(x, 0))));
    jx_val right = jx_convert(jx_eq(jx_argmax(logits, 1, JX_I32), y), JX_F32);
    out[1] = jx_tree_dict();
    jx_tree_set_val(out[1], "correct", jx_sum(right, JX_NOINTS));
}

/* The batch for a step: drawn inside the step from the key that comes with it. */
static void make_batch(jx_val key, jx_val *x, jx_val *y) {
    jx_val keys = jx_random_split(key, 2);
    *x = jx_random_normal(jx_random_key_index(keys, 0), JX_F32, JX_INTS(BATCH, IN));
    jx_val w = jx_random_normal(jx_random_key(1234), JX_F32, JX_INTS(IN, CLASSES)); /* the hidden map */
    *y = jx_argmax(jx_matmul(*x, w), 1, JX_I32);
}

/* in: params, opt state, {key}. out: params, opt state, {loss, correct}. */
static void train_step(jx_tree **out, jx_tree *const *in, void *user) {
    const jx_optim *opt = user;
    jx_val x, y;
    make_batch(jx_tree_get_val(in[2], "key"), &x, &y);
    jx_tree *batch = jx_tree_dict();
    jx_tree_set_val(batch, "x", x);
    jx_tree_set_val(batch, "y", y);
    jx_tree *args[2] = {in[0], batch}, *vals[2], *grads;
    if (jx_tree_value_and_grad(loss_fn, NULL, 2, args, 0, 2, vals, &grads) == JX_OK) {
        jx_optim_update(opt, grads, in[1], in[0], &out[0], &out[1]);
        out[2] = vals[1];
        jx_tree_set(out[2], "loss", vals[0]);
        jx_tree_free(grads);
    }
    jx_tree_free(batch);
}

static jx_tree *init_params(const jx_array *key) {
    jx_array *keys = jx_random_split_new(key, 2);
    jx_array *k0 = jx_random_key_row_new(keys, 0), *k1 = jx_random_key_row_new(keys, 1);
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "dense1.w", jx_init_new(&jx_init_he_normal, k0, JX_F32, JX_INTS(IN, HID)));
    jx_tree_set_array(p, "dense1.b", jx_array_zeros(JX_F32, JX_INTS(HID)));
    jx_tree_set_array(p, "dense2.w", jx_init_new(&jx_init_lecun_normal, k1, JX_F32, JX_INTS(HID, CLASSES)));
    jx_tree_set_array(p, "dense2.b", jx_array_zeros(JX_F32, JX_INTS(CLASSES)));
    jx_array_release(keys), jx_array_release(k0), jx_array_release(k1);
    return p;
}

/* Runs steps [from, to): updates *params and *state; returns the last step's metrics
 * (free them) or NULL on an error, which it prints. */
static jx_tree *train(jx_tree_fn *step, jx_exec *exec, const jx_array *key, int from, int to, jx_tree **params,
                      jx_tree **state) {
    jx_tree *metrics = NULL;
    for (int i = from; i < to; i++) {
        jx_tree *b = jx_tree_dict(), *out[3];
        jx_tree_set_array(b, "key", jx_random_fold_in_new(key, (uint32_t)i));
        jx_tree *in[3] = {*params, *state, b};
        jx_status st = jx_tree_fn_run(step, exec, 3, in, 3, out);
        jx_tree_free(b);
        if (st != JX_OK) {
            fprintf(stderr, "nn_tutorial: step %d: %s\n", i, jx_errmsg());
            jx_tree_free(metrics);
            return NULL;
        }
        jx_tree_free(*params), jx_tree_free(*state), jx_tree_free(metrics);
        *params = out[0], *state = out[1], metrics = out[2];
        double loss = jx_array_get(jx_tree_get_array(metrics, "loss"), 0);
        if (loss != loss) {
            fprintf(stderr, "nn_tutorial: the loss is not finite at step %d (run with JX_DEBUG_NANS=1 to find "
                            "the operation)\n", i);
            jx_tree_free(metrics);
            return NULL;
        }
    }
    return metrics;
}

static int same_bits(const jx_tree *a, const jx_tree *b) {
    int n = jx_tree_num_leaves(a);
    for (int i = 0; i < n; i++) {
        jx_array *x = jx_tree_leaf_array(jx_tree_leaf(a, i)), *y = jx_tree_leaf_array(jx_tree_leaf(b, i));
        if (memcmp(jx_array_data(x), jx_array_data(y), jx_array_nbytes(x)) != 0) return 0;
    }
    return n == jx_tree_num_leaves(b);
}

int main(int argc, char **argv) {
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s/nn_tutorial.safetensors", argc > 1 ? argv[1] : ".");
    jx_array *key = jx_random_key_new(0);
    jx_tree *params = init_params(key);
    jx_tree_print(stdout, params);

    jx_optim opt = jx_optim_adamw(jx_schedule_warmup_cosine_decay(0, 0.02, 20, STEPS, 1e-3), 0.9, 0.999, 1e-8, 1e-4,
                                  "**.w");
    opt.clip_norm = 1.0;
    jx_tree *state = jx_optim_init(&opt, params), *b = jx_tree_dict();
    jx_tree_set_array(b, "key", jx_random_key_new(0));
    jx_tree *in[3] = {params, state, b};
    jx_tree_fn *step = jx_tree_trace("train_step", train_step, &opt, 3, in, 3);
    jx_tree_free(b);
    if (!step) {
        fprintf(stderr, "nn_tutorial: %s\n", jx_errmsg());
        return 1;
    }
    int64_t donate[64];
    int nd = jx_tree_fn_input_offset(step, 2);
    for (int i = 0; i < nd; i++) donate[i] = i;
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.donate = (jx_ints){donate, nd};
    jx_exec *exec = jx_jit(jx_tree_fn_fn(step), JX_DEVICE_CPU, &jo);
    if (!exec) {
        fprintf(stderr, "nn_tutorial: %s\n", jx_errmsg());
        return 1;
    }

    /* first half, a checkpoint, the second half */
    jx_tree *p1 = jx_tree_copy(params), *s1 = jx_tree_copy(state), *m = NULL;
    int ok = (m = train(step, exec, key, 0, STEPS / 2, &p1, &s1)) != NULL;
    const char *names[2] = {"params", "opt"};
    const jx_tree *trees[2] = {p1, s1};
    const uint32_t *kd = jx_array_data(key);
    jx_ckpt_meta meta = {STEPS / 2, 0, {kd[0], kd[1]}};
    if (ok && jx_checkpoint_save(ckpt, 2, names, trees, &meta) != JX_OK) {
        fprintf(stderr, "nn_tutorial: %s\n", jx_errmsg());
        ok = 0;
    }
    if (ok) printf("step %d: loss %.4f, batch accuracy %.1f%%; saved %s\n", STEPS / 2,
                   jx_array_get(jx_tree_get_array(m, "loss"), 0),
                   100.0 * jx_array_get(jx_tree_get_array(m, "correct"), 0) / BATCH, ckpt);
    jx_tree_free(m), m = NULL;
    ok = ok && (m = train(step, exec, key, STEPS / 2, STEPS, &p1, &s1)) != NULL;

    /* a second run, restored from the checkpoint */
    const jx_tree *like[2] = {params, state};
    jx_tree *r[2] = {NULL, NULL};
    if (ok && jx_checkpoint_load(ckpt, 2, names, like, r, &meta) != JX_OK) {
        fprintf(stderr, "nn_tutorial: %s\n", jx_errmsg());
        ok = 0;
    }
    jx_tree *m2 = NULL;
    if (ok) {
        uint32_t k2[2] = {meta.key[0], meta.key[1]};
        jx_array *key2 = jx_array_new(JX_U32, JX_INTS(2), k2);
        ok = (m2 = train(step, exec, key2, (int)meta.step, STEPS, &r[0], &r[1])) != NULL;
        jx_array_release(key2);
    }
    if (ok) {
        printf("step %d: loss %.4f, batch accuracy %.1f%%\n", STEPS, jx_array_get(jx_tree_get_array(m, "loss"), 0),
               100.0 * jx_array_get(jx_tree_get_array(m, "correct"), 0) / BATCH);
        int same = same_bits(p1, r[0]) && same_bits(s1, r[1]);
        printf("resumed from step %lld: parameters %s\n", (long long)meta.step,
               same ? "bit-identical" : "DIFFER from the uninterrupted run");
        ok = same;
    }
    jx_tree_free(m), jx_tree_free(m2), jx_tree_free(r[0]), jx_tree_free(r[1]);
    jx_tree_free(p1), jx_tree_free(s1), jx_tree_free(params), jx_tree_free(state);
    jx_exec_release(exec), jx_tree_fn_free(step), jx_array_release(key);
    return ok ? 0 : 1;
}
