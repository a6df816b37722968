/* train_loop.c: see train_loop.h. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "train_loop.h"

double train_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

void train_loop_catch_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

static int64_t nbatches(const train_loop *L) { return (L->ntrain + L->batch - 1) / L->batch; }

/* Writes <out>/<prog>_<tag>.safetensors with epochs done `epoch` and the step count. */
static int save(const train_loop *L, const char *tag, int epoch, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s_%s.safetensors", L->out, L->prog, tag);
    const uint32_t *k = jx_array_data(*L->key);
    jx_ckpt_meta m = {L->nstep, epoch, {k[0], k[1]}};
    if (jx_checkpoint_save(path, L->nstate, L->names, (const jx_tree *const *)L->state, &m) != JX_OK) return -1;
    printf("saved %s\n", path);
    return 0;
}

int train_loop_resume(train_loop *L, const char *file) {
    jx_tree *r[8];
    jx_ckpt_meta m;
    if (L->nstate > 8) return jx_error_at(JX_HERE, JX_ERR_ARG, L->prog, "more than 8 state trees"), -1;
    if (jx_checkpoint_load(file, L->nstate, L->names, (const jx_tree *const *)L->state, r, &m) != JX_OK) return -1;
    int64_t skip = m.step - m.epoch * nbatches(L);
    if (m.epoch < 0 || skip < 0 || skip >= nbatches(L)) {
        for (int i = 0; i < L->nstate; i++) jx_tree_free(r[i]);
        jx_error_at(JX_HERE, JX_ERR_ARG, L->prog,
                    "%s: step %lld does not fall in epoch %lld + 1 at %lld steps per epoch; resume with the --batch "
                    "and --limit of the run that wrote it",
                    file, (long long)m.step, (long long)m.epoch, (long long)nbatches(L));
        return -1;
    }
    for (int i = 0; i < L->nstate; i++) jx_tree_free(L->state[i]), L->state[i] = r[i];
    jx_array_release(*L->key);
    *L->key = jx_array_new(JX_U32, JX_INTS(2), m.key);
    L->first_epoch = (int)m.epoch + 1, L->first_batch = skip, L->nstep = m.step;
    printf("resumed from %s: epoch %lld, step %lld\n", file, (long long)m.epoch, (long long)m.step);
    if (L->out) { /* the metrics of the epochs before */
        char csv[4096];
        snprintf(csv, sizeof csv, "%s/%s_metrics.csv", L->out, L->prog);
        if (train_log_read_csv(&L->log, csv, L->first_epoch) < 0)
            return jx_error_at(JX_HERE, JX_ERR_NOMEM, L->prog, "out of memory reading %s", csv), -1;
    }
    return *L->key ? 0 : -1;
}

/* After Ctrl-C at the end of a step of `epoch`: saves the state and says how to go on. */
static int stop(const train_loop *L, int epoch, int tty) {
    char path[4096];
    printf("%s%s: interrupted at step %lld (epoch %d)\n", tty ? "\n" : "", L->prog, (long long)L->nstep, epoch);
    if (!L->out) printf("%s: --out none, nothing saved\n", L->prog);
    else if (save(L, "interrupted", epoch - 1, path, sizeof path) != 0) return -1;
    else printf("%s: continue with --resume %s\n", L->prog, path);
    fflush(stdout);
    return TRAIN_INTERRUPTED;
}

int train_loop_run(train_loop *L) {
    if (L->first_epoch < 1) L->first_epoch = 1;
    int tty = isatty(fileno(stdout));
    int64_t nb = nbatches(L), every = tty ? 1 : (nb + 9) / 10;
    for (int epoch = L->first_epoch; epoch <= L->epochs; epoch++) {
        double te = train_now(), loss_sum = 0;
        int64_t b0 = epoch == L->first_epoch ? L->first_batch : 0, seen = 0;
        if (L->begin_epoch && L->begin_epoch(L->ctx, epoch, b0) != 0) return -1;
        for (int64_t b = b0; b < nb; b++) {
            int64_t first = b * L->batch, n = L->ntrain - first < L->batch ? L->ntrain - first : L->batch;
            double loss;
            if (L->step(L->ctx, first, n, L->nstep, &loss) != 0) return -1;
            L->nstep++;
            if (train_check_loss(L->prog, loss, L->nstep, epoch, b + 1, tty) != 0) return -2;
            loss_sum += loss * (double)n, seen += n;
            if (interrupted && b + 1 < nb) return stop(L, epoch, tty);
            if ((b + 1) % every == 0 && b + 1 < nb)
                train_progress(tty, epoch, first + n, L->ntrain, loss_sum / (double)seen, train_now() - te);
        }
        double secs = train_now() - te, acc, loss = seen ? loss_sum / (double)seen : 0;
        L->train_s += secs;
        if (L->evaluate(L->ctx, &acc) != 0) return -1;
        printf("%sepoch %d: %.1f s, train loss %.4f, test accuracy %.2f%%\n", tty ? "\r\033[K" : "", epoch, secs,
               loss, acc);
        fflush(stdout);
        if (train_log_add(&L->log, epoch, loss, acc) != 0)
            return jx_error_at(JX_HERE, JX_ERR_NOMEM, L->prog, "out of memory"), -1;
        char path[4096], tag[32];
        snprintf(tag, sizeof tag, "epoch%d", epoch);
        if (L->out && (save(L, tag, epoch, path, sizeof path) != 0 || train_log_write(&L->log, L->out, L->prog,
                                                                                       L->prog) != 0))
            return -1;
        if (interrupted && epoch < L->epochs) {
            printf("%s: interrupted after epoch %d%s%s\n", L->prog, epoch, L->out ? "; continue with --resume " : "",
                   L->out ? path : "");
            return TRAIN_INTERRUPTED;
        }
    }
    int ne = L->epochs - L->first_epoch + 1;
    if (ne > 0) printf("%d epoch%s in %.1f s (%.2f s per epoch)\n", ne, ne > 1 ? "s" : "", L->train_s, L->train_s / ne);
    return 0;
}

void train_loop_free(train_loop *L) { train_log_free(&L->log); }
