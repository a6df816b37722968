/* seg_model.h: the segmentation model of the coco_seg trainer: a U-Net (jx/unet.h), its
 * loss (softmax cross-entropy plus soft dice, pixels labelled 255 ignored), Adam with a
 * cosine decay, and the jitted train and predict steps over loader batches (jx/coco.h).
 * The trainer, its tests and the benchmark share it.
 *
 *     seg_model m;
 *     seg_setup s = {cfg, 128, 1e-3, total_steps, threads, JX_DEVICE_CPU, seed};
 *     if (seg_model_init(&m, &s) != 0) fprintf(stderr, "%s\n", jx_errmsg());
 *     seg_model_step(&m, &batch, &loss, pred);     // one Adam step; pred may be NULL
 *     seg_model_predict(&m, &batch, pred);         // argmax labels, running statistics
 *     seg_model_free(&m);
 */
#ifndef JX_SEG_MODEL_H
#define JX_SEG_MODEL_H

#include <jx/coco.h>
#include <jx/nn.h>

/* 1 + dice weight: loss = mean CE + SEG_DICE_WEIGHT * mean over (sample, class) of dice. */
#define SEG_DICE_WEIGHT 1.0
#define SEG_IGNORE 255

typedef struct seg_setup {
    jx_nn_unet_config unet;
    int32_t size;        /* input side (multiple of 2^depth) */
    double lr;           /* peak learning rate of the cosine decay (to lr/100) */
    int64_t total_steps; /* the decay's length */
    int threads;         /* jit threads (0: jx's default) */
    jx_device device;
    uint64_t seed;       /* initial parameters */
} seg_setup;

/* A step jitted for one batch size. */
typedef struct seg_compiled {
    int32_t n;
    jx_tree_fn *fn;
    jx_exec *exec;
} seg_compiled;

enum { SEG_NSTATE = 3, SEG_NCACHE = 2 };

typedef struct seg_model {
    seg_setup setup;
    jx_optim opt;
    jx_tree *state[SEG_NSTATE]; /* params, optimizer state, batch_stats (host arrays) */
    jx_tree *frozen;            /* parameters left out of training (seg_model_finetune), or NULL */
    jx_array *key;              /* the run's key (checkpointed) */
    int64_t step;               /* optimizer steps taken */
    seg_compiled train[SEG_NCACHE], pred[SEG_NCACHE]; /* by batch size, compiled on first use */
} seg_model;

extern const char *const seg_state_names[SEG_NSTATE]; /* "params", "opt", "batch_stats" */

/* Creates the parameters from setup->seed and the optimizer state. 0, or -1 with
 * jx_errmsg() set. */
int seg_model_init(seg_model *m, const seg_setup *setup);
void seg_model_free(seg_model *m);

/* Compiles the train and predict steps for batches of n ahead of use (they are otherwise
 * compiled by the first step of that size), so that the first step's time is a step's.
 * 0 or -1. */
int seg_model_prepare(seg_model *m, int32_t n);

/* One training step on b (b->n images): the state is replaced, *loss gets the batch loss
 * and, when pred is not NULL, pred (n x size x size) the argmax labels of the step's
 * forward pass (training mode). 0 or -1. */
int seg_model_step(seg_model *m, const jx_coco_batch *b, double *loss, int32_t *pred);

/* The argmax labels (n x size x size) of b with the running statistics. 0 or -1. */
int seg_model_predict(seg_model *m, const jx_coco_batch *b, int32_t *pred);

/* Adapts m (freshly initialised for its own classes) from a coco_seg checkpoint trained
 * for other categories: every parameter and statistic that fits is loaded
 * (jx_checkpoint_load_matching; the report is printed), then the last layer, the 1x1
 * classifier "head", is replaced by m's fresh one, whatever its shape in the file. With
 * freeze_encoder the encoder (enc*) moves to m->frozen: no gradient, no optimizer state,
 * no update (its batch norms still normalise with the batch in training). The optimizer
 * state starts afresh. The checkpoints of a frozen model hold every parameter (the
 * frozen ones merged back) but the optimizer state of the trainable ones only: they load
 * into --finetune and neurons --unet, not into --resume or --eval. 0 or -1 with
 * jx_errmsg() set. */
int seg_model_finetune(seg_model *m, const char *path, int freeze_encoder);

/* Writes the state, the key, the step and epoch to path (atomically). 0 or -1. */
int seg_model_save(const seg_model *m, const char *path, int epoch);
/* Restores what seg_model_save wrote; *epoch gets the saved epoch. The file must hold a
 * model of m's configuration (the error names the first array that differs). 0 or -1. */
int seg_model_load(seg_model *m, const char *path, int *epoch);

#endif
