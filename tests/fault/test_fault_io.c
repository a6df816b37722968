/* test_fault_io.c: I/O-failure injection (built with -DJX_FAULT_INJECT=ON, see
 * src/trace/fault.h; any other build reports the suite as skipped). Every file operation
 * jx makes is counted; for N = 1, 2, 3, ... the Nth fails, until a run completes without
 * reaching N, once for each way of failing:
 *   writers (checkpoint save, the PNG writer, plots, the trainers' CSV log): with EIO,
 *   ENOSPC or a short transfer at N, the call either succeeds with the new file in place
 *   or fails with JX_ERR_IO naming the file and the reason, the previous file intact
 *   byte for byte and no temporary left beside it; with a SIGKILL at N (in a child
 *   process), the file on disk is the old one or the new one, whole.
 *   readers (checkpoint load, PNG, COCO JSON, IDX): the call succeeds with the right
 *   content or fails with a clear error naming the file.
 * Leaks and crashes are caught by the sanitizers this suite runs under in CI (the ASan
 * build of tools/test.sh). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jx/checkpoint.h>
#include <jx/coco.h>
#include <jx/plot.h>
#include <jx/tree.h>

#include "../../examples/common/train_log.h"
#include <jx/idx.h>
#include "fault_files.h"
#define JX_FAULT_API_ONLY /* this suite's own I/O is not counted */
#include "fault.h"
#include "harness.h"
#include "ir.h"

static char dir[256];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

/* The whole file, malloc'd (NULL when it cannot be read). */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = NULL;
    size_t cap = 0, n = 0, k;
    do {
        if (n == cap && !(b = realloc(b, cap = cap ? 2 * cap : 4096))) break;
        k = fread(b + n, 1, cap - n, f);
        n += k;
    } while (k > 0);
    fclose(f);
    *len = n;
    return b;
}

/* ------------------------------------------------------------------ the writers
 * Each writes version v (0 or 1, different contents) of its file; 0 on success, else
 * -1 with the reason in jx's error. */

static int write_ckpt(const char *path, int v) {
    float w[12];
    int32_t b[3];
    for (int i = 0; i < 12; i++) w[i] = (float)(i + 100 * v) / 4;
    for (int i = 0; i < 3; i++) b[i] = i - 7 * v;
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "dense.w", jx_array_new(JX_F32, JX_INTS(3, 4), w));
    jx_tree_set_array(t, "dense.b", jx_array_new(JX_I32, JX_INTS(3), b));
    const char *names[1] = {"params"};
    const jx_tree *trees[1] = {t};
    jx_ckpt_meta m = {.step = 10 + v, .epoch = v, .key = {1, 2}};
    jx_status st = jx_checkpoint_save(path, 1, names, trees, &m);
    jx_tree_free(t);
    return st == JX_OK ? 0 : -1;
}

static int write_png(const char *path, int v) {
    uint8_t px[6 * 8 * 3];
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * (3 + v) + 40 * v);
    return jx_image_write_png(path, px, 6, 8, 3) == JX_OK ? 0 : -1;
}

static int write_plot(const char *path, int v) {
    double y[5] = {1, 0.5, 0.25 + v, 0.2, 0.1};
    jx_plot_series s = {"loss", NULL, y, 5};
    return jx_plot_lines(path, v ? "new" : "old", "epoch", "loss", 1, &s, 240, 180) == JX_OK ? 0 : -1;
}

/* The trainers' metrics CSV (examples/common/train_log.c, compiled here with the hooks;
 * the plots train_log_write adds are the plot case). */
static int write_csv(const char *path, int v) {
    train_log log = {0};
    for (int e = 0; e < 3 + v; e++) train_log_add(&log, e, 1.0 / (e + 1), 50 + e);
    /* its message ("fio: cannot write <path>: <reason>") goes to stderr: captured, and
     * made jx's error for the check */
    fflush(stderr);
    FILE *cap = tmpfile();
    int err = dup(2);
    if (!cap || err < 0) return -2;
    dup2(fileno(cap), 2);
    int r = train_log_write_csv(&log, path, "fio");
    fflush(stderr);
    dup2(err, 2);
    close(err);
    char msg[600] = "";
    rewind(cap);
    size_t n = fread(msg, 1, sizeof msg - 1, cap);
    msg[n] = 0;
    fclose(cap);
    if (r) jx__fail(strstr(msg, "cannot write") ? JX_ERR_IO : JX_ERR_INTERNAL, jx__noloc, NULL, "%s", msg);
    train_log_free(&log);
    return r;
}

typedef struct writer {
    const char *name, *file;
    int (*write)(const char *path, int v);
} writer;

static const writer writers[] = {
    {"checkpoint save", "ckpt.safetensors", write_ckpt},
    {"PNG writer", "image.png", write_png},
    {"plot", "plot.png", write_plot},
    {"CSV log", "metrics.csv", write_csv},
};

/* Whether dir holds only the expected files (no temporary left behind); removes any
 * other, naming it unless quiet. */
static int only_expected(const char *name, int quiet) {
    DIR *d = opendir(dir);
    int ok = 1;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strncmp(n, "read.", 5))
            continue;
        int known = 0;
        for (size_t i = 0; i < sizeof writers / sizeof *writers; i++) known |= !strcmp(n, writers[i].file);
        if (known) continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, n);
        if (!quiet) fprintf(stderr, "\n  %s: left behind: %s", name, n);
        remove(p);
        ok = 0;
    }
    if (d) closedir(d);
    return ok;
}

/* Which version the file holds (0 or 1), -1 when it is neither, whole. */
static int version_of(const char *path, unsigned char *const ref[2], const size_t reflen[2]) {
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    int v = -1;
    for (int k = 0; b && k < 2 && v < 0; k++)
        if (n == reflen[k] && !memcmp(b, ref[k], n)) v = k;
    free(b);
    return v;
}

static const char *const how_name[] = {"", "EIO", "ENOSPC", "a short transfer", "SIGKILL"};

/* Runs w with the Nth file operation failing `how` for every N; returns the number of
 * runs that did not end as they should (each printed). */
static int sweep_writer(const writer *w, int how, long *cases) {
    char path[400];
    path_of(path, sizeof path, w->file);
    unsigned char *ref[2] = {0};
    size_t reflen[2] = {0};
    jx__fault_io_arm(0, 0);
    for (int v = 1; v >= 0; v--) { /* the clean contents of both versions; version 0 stays */
        int r = w->write(path, v);
        if (r != 0) fprintf(stderr, "\n  %s: %s", w->name, jx_errmsg());
        CU_ASSERT_EQUAL_FATAL(r, 0);
        ref[v] = slurp(path, &reflen[v]);
    }
    int bad = 0;
    long n;
    for (n = 1; bad < 10; n++) {
        int st, fired, killed = 0;
        if (how == JX__IO_KILL) {
            fflush(NULL);
            pid_t pid = fork();
            if (pid == 0) {
                jx__fault_io_arm(n, how);
                int r = w->write(path, 1);
                _exit(r == 0 ? 0 : 1);
            }
            int ws = 0;
            waitpid(pid, &ws, 0);
            killed = WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL;
            fired = killed, st = killed ? -1 : WIFEXITED(ws) ? WEXITSTATUS(ws) : -2;
        } else {
            jx_clear_error();
            jx__fault_io_arm(n, how);
            st = w->write(path, 1);
            fired = jx__fault_io_fired();
            jx__fault_io_arm(0, 0);
        }
        int v = version_of(path, ref, reflen);
        const char *why = NULL;
        if (!fired) {
            if (st != 0 || v != 1) why = "the run past every file operation did not write the new file";
        } else if (killed) {
            if (v < 0) why = "killed: the file is neither the old nor the new one";
        } else if (st == 0) {
            if (v != 1) why = "succeeded, but the file is not the new one";
        } else if (v != 0) {
            why = "failed, and the previous file is gone or changed";
        } else if (jx_errcode() != JX_ERR_IO || !strstr(jx_errmsg(), path)) {
            why = "failed without an I/O error naming the file";
        }
        if (!killed && !only_expected(w->file, 0)) why = why ? why : "a temporary file was left behind";
        if (why) {
            fprintf(stderr, "\n  %s, %s at file operation %ld: %s (%s)", w->name, how_name[how], n, why,
                    st == 0 ? "ok" : jx_errmsg());
            bad++;
        }
        if (killed) only_expected(w->file, 1); /* a killed write may leave its temporary */
        if (!fired) break;
        if (v != 0 && w->write(path, 0) != 0) bad++; /* back to the old version */
    }
    *cases += n;
    free(ref[0]), free(ref[1]);
    return bad;
}

static void test_writers(void) {
    long cases = 0;
    for (size_t i = 0; i < sizeof writers / sizeof *writers; i++) {
        if (writers[i].write == write_plot && !jx_plot_available()) continue;
        int bad = 0;
        long before = cases;
        for (int how = JX__IO_EIO; how <= JX__IO_KILL; how++) bad += sweep_writer(&writers[i], how, &cases);
        printf("\n  %s: %ld injected failures, %d wrong", writers[i].name, cases - before, bad);
        CU_ASSERT_EQUAL(bad, 0);
    }
}

/* ------------------------------------------------------------------ the readers
 * Each reads its file and returns JX_OK with a hash of the content in *h, or the status
 * (jx's error says why). */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211u;
    return h;
}
#define FNV0 14695981039346656037u

static char rd_ckpt[400], rd_png[400], rd_coco[400], rd_idx[400];

static jx_status read_ckpt(uint64_t *h) {
    jx_ckpt_meta m;
    jx_tree *t = jx_checkpoint_read(rd_ckpt, &m);
    if (!t) return jx_errcode();
    jx_array *w = jx_tree_get_array(t, "params.dense.w"), *b = jx_tree_get_array(t, "params.dense.b");
    *h = fnv(fnv(fnv(FNV0, jx_array_data(w), jx_array_nbytes(w)), jx_array_data(b), jx_array_nbytes(b)), &m.step,
             sizeof m.step);
    jx_tree_free(t);
    return JX_OK;
}

static jx_status read_png(uint64_t *h) {
    jx_image im;
    jx_status st = jx_image_read_png(rd_png, &im);
    if (st) return st;
    *h = fnv(FNV0, im.data, (size_t)im.height * im.width * im.channels);
    jx_image_free(&im);
    return JX_OK;
}

static jx_status read_coco(uint64_t *h) {
    jx_coco *c;
    jx_status st = jx_coco_load(rd_coco, &c);
    if (st) return st;
    size_t n;
    const jx_coco_ann *a = jx_coco_anns(c, &n);
    *h = fnv(FNV0, &n, sizeof n);
    for (size_t i = 0; i < n; i++) *h = fnv(*h, &a[i].category_id, sizeof a[i].category_id);
    jx_coco_free(c);
    return JX_OK;
}

static jx_status read_idx(uint64_t *h) {
    char err[JX_IDX_ERR_MAX];
    jx_array *a = jx_idx_read(rd_idx, JX_IDX_LABELS, err, sizeof err);
    if (!a) {
        jx__fail(JX_ERR_IO, jx__noloc, NULL, "%s", err);
        return JX_ERR_IO;
    }
    *h = fnv(FNV0, jx_array_data(a), jx_array_nbytes(a));
    jx_array_release(a);
    return JX_OK;
}

typedef struct reader {
    const char *name;
    const char *path;
    jx_status (*read)(uint64_t *h);
} reader;

static void test_readers(void) {
    const reader readers[] = {
        {"checkpoint read", rd_ckpt, read_ckpt},
        {"PNG reader", rd_png, read_png},
        {"COCO reader", rd_coco, read_coco},
        {"IDX reader", rd_idx, read_idx},
    };
    for (size_t i = 0; i < sizeof readers / sizeof *readers; i++) {
        const reader *r = &readers[i];
        uint64_t ref = 0, h;
        jx__fault_io_arm(0, 0);
        CU_ASSERT_EQUAL_FATAL(r->read(&ref), JX_OK);
        int bad = 0;
        long cases = 0;
        for (int k = 0; k < 2; k++) {
            int how = k ? JX__IO_SHORT : JX__IO_EIO; /* ENOSPC reads as EIO to a reader */
            for (long n = 1;; n++) {
                jx_clear_error();
                jx__fault_io_arm(n, how);
                h = 0;
                jx_status st = r->read(&h);
                int fired = jx__fault_io_fired();
                jx__fault_io_arm(0, 0);
                cases += fired;
                const char *why = NULL;
                if (st == JX_OK && h != ref) why = "succeeded with different content";
                else if (st != JX_OK && !fired) why = "failed with no failure injected";
                else if (st != JX_OK && (!strstr(jx_errmsg(), r->path) || st == JX_ERR_NOMEM))
                    why = "failed without an error naming the file";
                if (why) {
                    fprintf(stderr, "\n  %s, %s at file operation %ld: %s (%s)", r->name, how_name[how], n, why,
                            jx_errmsg());
                    bad++;
                }
                if (!fired || bad > 10) break;
            }
        }
        printf("\n  %s: %ld injected failures, %d wrong", r->name, cases, bad);
        CU_ASSERT_EQUAL(bad, 0);
    }
}

/* The readers' files: a checkpoint, a PNG, a small COCO file, gzipped IDX labels. */
static int make_read_files(void) {
    path_of(rd_ckpt, sizeof rd_ckpt, "read.safetensors");
    path_of(rd_png, sizeof rd_png, "read.png");
    path_of(rd_coco, sizeof rd_coco, "read.json");
    path_of(rd_idx, sizeof rd_idx, "read.idx.gz");
    if (jt_fault_write_coco(rd_coco) || jt_fault_write_idx(rd_idx, 200)) return -1;
    return write_ckpt(rd_ckpt, 0) || write_png(rd_png, 0) ? -1 : 0;
}

int main(void) {
#ifndef JX_FAULT_INJECT
    printf("skipped: I/O-failure injection needs cmake -DJX_FAULT_INJECT=ON\n");
    return 77;
#endif
    if (jt_fault_tmpdir(dir, sizeof dir, "jx_test_fault_io") || make_read_files() != 0) {
        fprintf(stderr, "cannot write the input files\n");
        return 1;
    }
    CU_TestInfo tests[] = {
        {"writers keep the previous file", test_writers},
        {"readers fail cleanly", test_readers},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("fault_io", tests);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    return rc;
}
