/* seg_model.c: the U-Net's loss and its jitted steps for coco_seg. One traced step
 * (params, optimizer state, batch_stats, batch) -> (params, state, batch_stats, {loss,
 * pred}) takes the gradient with jx_tree_value_and_grad and applies Adam; it is jitted once
 * per batch size with the three state trees donated. */
#define _POSIX_C_SOURCE 200809L
#include "seg_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const seg_state_names[SEG_NSTATE] = {"params", "opt", "batch_stats"};

/* Cross-entropy (mean over labelled pixels) plus soft dice (1 - (2 sum pt + 1) / (sum p +
 * sum t + 1) per sample and class over its labelled pixels, averaged). logits (N,H,W,K),
 * labels (N,H,W) i32 with SEG_IGNORE for pixels that count for neither. */
static jx_val seg_loss(jx_val logits, jx_val labels) {
    int64_t n = jx_dim(logits, 0), h = jx_dim(logits, 1), w = jx_dim(logits, 2), k = jx_dim(logits, 3);
    jx_val ce = jx_loss_softmax_ce_int_mean(logits, labels, SEG_IGNORE);
    jx_val lab = jx_broadcast_in_dim(labels, JX_INTS(n, h, w, k), JX_INTS(0, 1, 2));
    jx_val t = jx_convert(jx_eq(lab, jx_iota(JX_I32, JX_INTS(n, h, w, k), 3)), JX_F32); /* 255: all zero */
    jx_val valid = jx_convert(jx_ne(lab, jx_full(JX_I32, JX_INTS(n, h, w, k), SEG_IGNORE)), JX_F32);
    jx_val p = jx_mul(jx_softmax(logits, 3), valid);
    jx_val inter = jx_sum(jx_mul(p, t), JX_INTS(1, 2));
    jx_val den = jx_add_s(jx_add(jx_sum(p, JX_INTS(1, 2)), jx_sum(t, JX_INTS(1, 2))), 1.0);
    jx_val dice = jx_rsub_s(1.0, jx_div(jx_add_s(jx_mul_s(inter, 2.0), 1.0), den));
    return jx_add(ce, jx_mul_s(jx_mean(dice, JX_INTS(0, 1)), SEG_DICE_WEIGHT));
}

/* in: params, batch_stats, batch {x, y}. out[0]: the loss; out[1]: {stats, pred}. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    const seg_model *m = user;
    jx_tree *aux = jx_tree_dict(), *ns = jx_tree_dict();
    jx_val logits = jx_nn_unet_apply(&m->setup.unet, in[0], in[1], jx_tree_get_val(in[2], "x"), ns);
    out[0] = jx_tree_val(seg_loss(logits, jx_tree_get_val(in[2], "y")));
    jx_tree_set(aux, "stats", ns);
    jx_tree_set_val(aux, "pred", jx_argmax(logits, 3, JX_I32));
    out[1] = aux;
}

/* in: params, optimizer state, batch_stats, batch[, frozen params]. out: the new three,
 * {loss, pred}. With frozen parameters only in[0] (the trainable ones) is differentiated;
 * the loss sees both. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    const seg_model *m = user;
    jx_tree *args[3] = {in[0], in[2], in[3]}, *vals[2], *grads;
    jx_status st = m->frozen ? jx_tree_value_and_grad_frozen(loss_body, user, 3, args, 0, in[4], 2, vals, &grads)
                             : jx_tree_value_and_grad(loss_body, user, 3, args, 0, 2, vals, &grads);
    if (st != JX_OK) return;
    jx_optim_update(&m->opt, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = jx_tree_copy(jx_tree_get(vals[1], "stats"));
    out[3] = jx_tree_dict();
    jx_tree_set(out[3], "loss", vals[0]);
    jx_tree_set(out[3], "pred", jx_tree_copy(jx_tree_get(vals[1], "pred")));
    jx_tree_free(vals[1]);
    jx_tree_free(grads);
}

/* in: params, batch_stats, {x}[, frozen params]. out: {pred}. */
static void pred_body(jx_tree **out, jx_tree *const *in, void *user) {
    const seg_model *m = user;
    jx_tree *all = m->frozen ? jx_tree_merge(in[0], in[3]) : NULL;
    jx_val logits = jx_nn_unet_apply(&m->setup.unet, all ? all : in[0], in[1], jx_tree_get_val(in[2], "x"), NULL);
    jx_tree_free(all);
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "pred", jx_argmax(logits, 3, JX_I32));
}

static jx_tree *batch_avals(const seg_model *m, int32_t n, int train) {
    int64_t s = m->setup.size;
    jx_tree *b = jx_tree_dict();
    jx_tree_set(b, "x", jx_tree_aval(JX_AVAL(JX_F32, n, s, s, 3)));
    if (train) jx_tree_set(b, "y", jx_tree_aval(JX_AVAL(JX_I32, n, s, s)));
    return b;
}

/* The step for batch size n from cache (compiled on first use; the oldest entry of a full
 * cache is replaced). NULL with jx_errmsg() set. */
static seg_compiled *compiled_for(seg_model *m, int32_t n, int train) {
    seg_compiled *cache = train ? m->train : m->pred;
    for (int i = 0; i < SEG_NCACHE; i++)
        if (cache[i].fn && cache[i].n == n) return &cache[i];
    seg_compiled *c = &cache[cache[0].fn ? SEG_NCACHE - 1 : 0];
    jx_exec_release(c->exec), jx_tree_fn_free(c->fn), *c = (seg_compiled){0};
    jx_tree *b = batch_avals(m, n, train);
    jx_tree *in[5] = {m->state[0], train ? m->state[1] : m->state[2], train ? m->state[2] : b, b, m->frozen};
    if (!train) in[3] = m->frozen;
    int nf = m->frozen ? 1 : 0;
    c->fn = train ? jx_tree_trace("coco_seg_step", step_body, m, 4 + nf, in, 4)
                  : jx_tree_trace("coco_seg_predict", pred_body, m, 3 + nf, in, 1);
    jx_tree_free(b);
    if (!c->fn) return NULL;
    int nd = train ? jx_tree_fn_input_offset(c->fn, 3) : 0;
    int64_t *donate = malloc((size_t)(nd + 1) * sizeof *donate);
    if (!donate) return NULL;
    for (int i = 0; i < nd; i++) donate[i] = i;
    jx_jit_opts opts = {m->setup.threads, {donate, nd}, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    c->exec = jx_jit(jx_tree_fn_fn(c->fn), m->setup.device, &opts);
    free(donate);
    if (!c->exec) return NULL;
    c->n = n;
    return c;
}

int seg_model_prepare(seg_model *m, int32_t n) {
    return compiled_for(m, n, 1) && compiled_for(m, n, 0) ? 0 : -1;
}

int seg_model_init(seg_model *m, const seg_setup *s) {
    *m = (seg_model){.setup = *s};
    jx_schedule lr = jx_schedule_warmup_cosine_decay(s->lr, s->lr, 0, s->total_steps > 0 ? s->total_steps : 1,
                                                     s->lr / 100);
    m->opt = jx_optim_adam(lr, 0.9, 0.999, 1e-8);
    m->key = jx_random_key_new((int64_t)s->seed);
    if (!m->key || jx_nn_unet_init(&s->unet, m->key, &m->state[0], &m->state[2]) != JX_OK) return -1;
    return (m->state[1] = jx_optim_init(&m->opt, m->state[0])) ? 0 : -1;
}

void seg_model_free(seg_model *m) {
    for (int i = 0; i < SEG_NCACHE; i++) {
        jx_exec_release(m->train[i].exec), jx_tree_fn_free(m->train[i].fn);
        jx_exec_release(m->pred[i].exec), jx_tree_fn_free(m->pred[i].fn);
    }
    for (int i = 0; i < SEG_NSTATE; i++) jx_tree_free(m->state[i]);
    jx_tree_free(m->frozen);
    jx_array_release(m->key);
    *m = (seg_model){0};
}

/* A batch tree {x[, y]} of b's first n images. NULL with jx_errmsg() set. */
static jx_tree *batch_tree(const seg_model *m, const jx_coco_batch *b, int train) {
    int64_t s = m->setup.size;
    jx_tree *t = jx_tree_dict();
    if (!t || jx_tree_set_array(t, "x", jx_array_new(JX_F32, JX_INTS(b->n, s, s, 3), b->images)) != JX_OK ||
        (train && jx_tree_set_array(t, "y", jx_array_new(JX_I32, JX_INTS(b->n, s, s), b->labels_i32)) != JX_OK)) {
        jx_tree_free(t);
        return NULL;
    }
    return t;
}

static void copy_pred(const jx_tree *out, int32_t *pred) {
    const jx_array *a = jx_tree_get_array(out, "pred");
    const int64_t *sh = jx_array_shape(a);
    memcpy(pred, jx_array_data(a), (size_t)(sh[0] * sh[1] * sh[2]) * sizeof *pred);
}

int seg_model_step(seg_model *m, const jx_coco_batch *b, double *loss, int32_t *pred) {
    seg_compiled *c = compiled_for(m, b->n, 1);
    jx_tree *bt = c ? batch_tree(m, b, 1) : NULL, *out[4];
    if (!bt) return -1;
    jx_tree *in[5] = {m->state[0], m->state[1], m->state[2], bt, m->frozen};
    jx_status st = jx_tree_fn_run(c->fn, c->exec, m->frozen ? 5 : 4, in, 4, out);
    jx_tree_free(bt);
    if (st != JX_OK) return -1;
    for (int i = 0; i < SEG_NSTATE; i++) jx_tree_free(m->state[i]), m->state[i] = out[i]; /* donated */
    *loss = jx_array_get(jx_tree_get_array(out[3], "loss"), 0);
    if (pred) copy_pred(out[3], pred);
    jx_tree_free(out[3]);
    m->step++;
    return 0;
}

int seg_model_predict(seg_model *m, const jx_coco_batch *b, int32_t *pred) {
    seg_compiled *c = compiled_for(m, b->n, 0);
    jx_tree *bt = c ? batch_tree(m, b, 0) : NULL, *out = NULL;
    if (!bt) return -1;
    jx_tree *in[4] = {m->state[0], m->state[2], bt, m->frozen};
    jx_status st = jx_tree_fn_run(c->fn, c->exec, m->frozen ? 4 : 3, in, 1, &out);
    jx_tree_free(bt);
    if (st != JX_OK) return -1;
    copy_pred(out, pred);
    jx_tree_free(out);
    return 0;
}

/* One tree of a checkpoint into *t (what fits), the report printed. 0 or -1. */
static int load_fitting(const char *path, const char *name, jx_tree **t) {
    jx_tree *r = NULL;
    jx_load_report rep;
    if (jx_checkpoint_load_matching(path, name, *t, 0, NULL, &r, &rep) != JX_OK) return -1;
    printf("%s: %s: ", path, name);
    jx_load_report_print(stdout, &rep);
    jx_load_report_free(&rep);
    jx_tree_free(*t);
    *t = r;
    return 0;
}

int seg_model_finetune(seg_model *m, const char *path, int freeze_encoder) {
    jx_tree *head = jx_tree_copy(jx_tree_get(m->state[0], "head"));
    if (!head) return -1;
    if (load_fitting(path, "params", &m->state[0]) || load_fitting(path, "batch_stats", &m->state[2])) {
        jx_tree_free(head);
        return -1;
    }
    if (jx_tree_replace(m->state[0], "head", head) != JX_OK) return -1; /* head taken over, even then */
    if (freeze_encoder) {
        jx_sel *enc = jx_sel_pattern(m->state[0], "enc*");
        jx_tree *frozen = NULL, *trainable = NULL;
        int rc = enc && jx_tree_partition(m->state[0], enc, &frozen, &trainable) == JX_OK ? 0 : -1;
        if (!rc) {
            printf("frozen: %lld of %lld parameters (the encoder, enc*)\n", (long long)jx_tree_num_params(frozen),
                   (long long)jx_tree_num_params(m->state[0]));
            jx_tree_free(m->state[0]);
            m->state[0] = trainable, m->frozen = frozen;
        }
        jx_sel_free(enc);
        if (rc) return -1;
    }
    jx_tree_free(m->state[1]);
    return (m->state[1] = jx_optim_init(&m->opt, m->state[0])) ? 0 : -1;
}

int seg_model_save(const seg_model *m, const char *path, int epoch) {
    const uint32_t *k = jx_array_data(m->key);
    jx_ckpt_meta meta = {m->step, epoch, {k[0], k[1]}};
    jx_tree *all = m->frozen ? jx_tree_merge(m->state[0], m->frozen) : NULL; /* every parameter */
    if (m->frozen && !all) return -1;
    const jx_tree *trees[SEG_NSTATE] = {all ? all : m->state[0], m->state[1], m->state[2]};
    int rc = jx_checkpoint_save(path, SEG_NSTATE, seg_state_names, trees, &meta) == JX_OK ? 0 : -1;
    jx_tree_free(all);
    return rc;
}

int seg_model_load(seg_model *m, const char *path, int *epoch) {
    jx_tree *r[SEG_NSTATE];
    const jx_tree *like[SEG_NSTATE] = {m->state[0], m->state[1], m->state[2]};
    jx_ckpt_meta meta;
    if (jx_checkpoint_load(path, SEG_NSTATE, seg_state_names, like, r, &meta) != JX_OK) return -1;
    jx_array *key = jx_array_new(JX_U32, JX_INTS(2), meta.key);
    if (!key) {
        for (int i = 0; i < SEG_NSTATE; i++) jx_tree_free(r[i]);
        return -1;
    }
    for (int i = 0; i < SEG_NSTATE; i++) jx_tree_free(m->state[i]), m->state[i] = r[i];
    jx_array_release(m->key);
    m->key = key, m->step = meta.step, *epoch = (int)meta.epoch;
    return 0;
}
