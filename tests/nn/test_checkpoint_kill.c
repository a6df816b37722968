/* test_checkpoint_kill.c: checkpoints survive SIGKILL. A child process "trains" (a fixed
 * update of a 64K-float tensor per step) and saves a checkpoint after every step,
 * resuming from the checkpoint on disk when it starts; the parent kills it with SIGKILL
 * after a random delay (fixed seed), 40 times. After each kill the checkpoint must load
 * and hold exactly the state of the step it names, and the steps never go back; at the
 * end a run resumed from it to a fixed step must equal an uninterrupted run bit for bit. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jx/checkpoint.h>
#include <jx/tree.h>

#include "harness.h"

enum { N = 1 << 16, KILLS = 40 };

static char dir[256], path[300];

/* One training step, in place: deterministic float arithmetic. */
static void step(float *w, int64_t k) {
    for (int i = 0; i < N; i++) w[i] = w[i] * 0.75f + (float)((i + k) % 17) * 0.125f;
}

static jx_tree *state_tree(const float *w) {
    jx_tree *t = jx_tree_dict();
    if (t && jx_tree_set_array(t, "w", jx_array_new(JX_F32, JX_INTS(N), w)) != JX_OK) {
        jx_tree_free(t);
        return NULL;
    }
    return t;
}

static jx_status save(const float *w, int64_t k) {
    jx_tree *t = state_tree(w);
    const char *names[1] = {"params"};
    const jx_tree *trees[1] = {t};
    jx_ckpt_meta m = {.step = k};
    jx_status st = t ? jx_checkpoint_save(path, 1, names, trees, &m) : jx_errcode();
    jx_tree_free(t);
    return st;
}

/* Loads the checkpoint into w; its step, or -1 (the error printed). */
static int64_t load(float *w) {
    static float zero[N];
    jx_tree *like = state_tree(zero), *out[1] = {NULL};
    const char *names[1] = {"params"};
    const jx_tree *likes[1] = {like};
    jx_ckpt_meta m;
    jx_status st = jx_checkpoint_load(path, 1, names, likes, out, &m);
    jx_tree_free(like);
    if (st != JX_OK) {
        fprintf(stderr, "\n  load: %s", jx_errmsg());
        return -1;
    }
    memcpy(w, jx_array_data(jx_tree_get_array(out[0], "w")), sizeof(float) * N);
    jx_tree_free(out[0]);
    return m.step;
}

/* The state after k steps from the start, computed without checkpoints. */
static void reference(float *w, int64_t k) {
    for (int i = 0; i < N; i++) w[i] = (float)(i % 101) / 8;
    for (int64_t j = 1; j <= k; j++) step(w, j);
}

/* The child: resume, then step and save until killed (or until `until`, if > 0). */
static int train(int64_t until) {
    static float w[N];
    int64_t k = load(w);
    if (k < 0) return 1;
    while (until <= 0 || k < until) {
        step(w, ++k);
        if (save(w, k) != JX_OK) return 1;
    }
    return 0;
}

/* Removes the temporaries a killed save left; returns how many. */
static int remove_temporaries(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    char p[600];
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            n += remove(p) == 0;
        }
    if (d) closedir(d);
    return n;
}

static void test_kills(void) {
    static float w[N], want[N];
    reference(w, 0);
    CU_ASSERT_EQUAL_FATAL(save(w, 0), JX_OK);
    unsigned seed = 12345;
    int64_t last = 0;
    int torn = 0, bad = 0;
    for (int i = 0; i < KILLS && bad < 5; i++) {
        fflush(NULL);
        pid_t pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) _exit(train(0));
        seed = seed * 1103515245u + 12345u;
        struct timespec d = {0, (long)(seed >> 8) % 30000000L}; /* 0 to 30 ms */
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int ws = 0;
        waitpid(pid, &ws, 0);
        if (!WIFSIGNALED(ws)) {
            fprintf(stderr, "\n  kill %d: the child ended by itself (status %d)", i, ws);
            bad++;
        }
        torn += remove_temporaries();
        int64_t k = load(w);
        if (k < last) {
            fprintf(stderr, "\n  kill %d: the checkpoint says step %lld after step %lld", i, (long long)k, (long long)last);
            bad++;
            continue;
        }
        reference(want, k);
        if (memcmp(w, want, sizeof w) != 0) {
            fprintf(stderr, "\n  kill %d: the checkpoint of step %lld does not hold that step's state", i, (long long)k);
            bad++;
        }
        last = k;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(last > 0); /* the child made progress between kills */
    /* resumed to a fixed step: equal to the uninterrupted run */
    int64_t until = last + 3;
    CU_ASSERT_EQUAL(train(until), 0);
    CU_ASSERT_EQUAL(load(w), until);
    reference(want, until);
    CU_ASSERT(memcmp(w, want, sizeof w) == 0);
    printf("\n  %d kills, reached step %lld, %d killed mid-save (a temporary left)", KILLS, (long long)last, torn);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/jx_test_kill_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
    CU_TestInfo tests[] = {
        {"SIGKILL while checkpointing, then resume", test_kills},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("checkpoint_kill", tests);
    remove_temporaries();
    remove(path);
    rmdir(dir);
    return rc;
}
