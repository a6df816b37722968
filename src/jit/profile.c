/* profile.c: JX_DUMP=profile. Each executable's program sums, over its runs, the time
 * each of its steps took (wall clock around the step, on the thread that runs it, which
 * waits for the pool) and the time of whole runs; the table is written through the dump
 * channel (stderr, or a file in JX_DUMP_DIR) when the program is freed, or at process
 * exit for the programs still alive then (the jit cache keeps them). Steps of nested
 * programs (cond, while, scan) count in their CONTROL step. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "plan.h"

struct jx__prof {
    const jx__prog *p;
    atomic_llong runs, run_ns;
    atomic_llong *ns; /* per step */
    jx__prof *prev, *next; /* the programs alive with a profile */
};

static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static jx__prof *live;

int64_t jx__prof_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

jx__prof *jx__prof_new(const jx__prog *p) {
    jx__prof *pr = calloc(1, sizeof *pr);
    if (pr) pr->ns = calloc((size_t)p->nsteps + 1, sizeof *pr->ns);
    if (!pr || !pr->ns) {
        free(pr);
        return NULL; /* no profile, not an error */
    }
    pr->p = p;
    pthread_mutex_lock(&live_mu);
    pr->next = live;
    if (live) live->prev = pr;
    live = pr;
    pthread_mutex_unlock(&live_mu);
    return pr;
}

void jx__prof_step(jx__prof *pr, int k, int64_t ns) { atomic_fetch_add(&pr->ns[k], ns); }

void jx__prof_run(jx__prof *pr, int64_t ns) {
    atomic_fetch_add(&pr->runs, 1);
    atomic_fetch_add(&pr->run_ns, ns);
}

/* Prints pr's table once: its runs are taken, so a later report prints nothing. */
static void report(jx__prof *pr) {
    const jx__prog *p = pr->p;
    const jx_fn *f = p->f;
    long long runs = atomic_exchange(&pr->runs, 0);
    if (!runs) return;
    double per = 1e-6 * (double)atomic_load(&pr->run_ns) / (double)runs;
    FILE *out = jx__dump_open(f->name, "profile");
    fprintf(out, "profile of %s: %lld runs, %.4f ms per run\n", f->name, runs, per);
    fprintf(out, "  step kind      ms/run      %%  first output      equations\n");
    for (int k = 0; k < p->nsteps; k++) {
        const jx__step *s = &p->steps[k];
        double ms = 1e-6 * (double)atomic_load(&pr->ns[k]) / (double)runs;
        fprintf(out, "  %4d %-7s %9.4f %6.1f  %-16s  ", k, jx__step_kind_name(s->kind), ms, per > 0 ? 100 * ms / per : 0,
                s->g->nout ? jx__avs(&f->vars[s->g->out[0]]) : "-");
        int w = 0;
        for (int j = 0; j < s->g->neqn && w < 60; j++)
            w += fprintf(out, "%s%s", j ? " " : "", jx__prims[f->eqns[s->g->eqns[j]].prim].name);
        fprintf(out, "%s\n", w >= 60 ? " ..." : "");
    }
    jx__dump_close(out);
}

void jx__prof_free(jx__prof *pr) {
    if (!pr) return;
    pthread_mutex_lock(&live_mu);
    if (pr->prev) pr->prev->next = pr->next;
    else live = pr->next;
    if (pr->next) pr->next->prev = pr->prev;
    pthread_mutex_unlock(&live_mu);
    report(pr);
    free(pr->ns);
    free(pr);
}

/* The programs the jit cache still holds at exit: their tables (they stay listed, so a
 * program freed later still unlinks itself; report prints nothing then). */
__attribute__((destructor)) static void prof_at_exit(void) {
    pthread_mutex_lock(&live_mu);
    for (jx__prof *pr = live; pr; pr = pr->next) report(pr);
    pthread_mutex_unlock(&live_mu);
}
