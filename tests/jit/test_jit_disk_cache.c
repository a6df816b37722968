/* test_jit_disk_cache.c: the on-disk cache of compiled kernels (src/backends/cpu/
 * objcache.c, codegen.c). A module compiled once is loaded by the next compile and gives
 * the same bits; a damaged, truncated or stale file (another header) is detected,
 * recompiled and rewritten, never loaded; two processes filling one directory at once
 * leave every file whole; the directory comes from jx_jit_opts.cache_dir, else
 * JX_JIT_CACHE_DIR, else $XDG_CACHE_HOME/jx; "" or "off" means none. Every case works in
 * a temp directory of its own. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char self[4096];

/* out = x * k + exp(x): each k another module (the literal is in the kernel's code) */
static void body(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_add(jx_mul(in[0], jx_scalar(JX_F32, *(const double *)u)), jx_exp(in[0]));
}

static jx_fn *fn_k(double *k) {
    jx_aval av = JX_AVAL(JX_F32, 5, 7);
    return jx_trace("disk", body, k, 1, &av, 1);
}

/* Compiles f_k with cache directory dir (NULL: the default) after clearing the
 * in-memory cache, runs it, and returns the output (NULL on failure). */
static jx_array *compile_run(double k, const char *dir, bool dir_given) {
    jx_fn *f = fn_k(&k);
    jx_jit_opts o = JX_JIT_DEFAULTS;
    if (dir_given) o.cache_dir = dir;
    jx_jit_cache_clear();
    jx_exec *x = f ? jx_jit(f, JX_DEVICE_CPU, &o) : NULL;
    float v[35];
    for (int i = 0; i < 35; i++) v[i] = -1.0f + 0.1f * (float)i;
    jx_array *in = jx_array_new(JX_F32, JX_INTS(5, 7), v), *out = NULL;
    if (!x || !in || jx_exec_run(x, 1, &in, 1, &out) != JX_OK) fprintf(stderr, "\n  compile_run: %s\n", jx_errmsg());
    jx_array_release(in);
    jx_exec_release(x);
    jx_fn_release(f);
    jx_jit_cache_clear();
    return out;
}

static bool same_bits(const jx_array *a, const jx_array *b) {
    return a && b && memcmp(jx_array_data(a), jx_array_data(b), 35 * sizeof(float)) == 0;
}

static void make_tmp(char *dir) {
    strcpy(dir, "/tmp/jx-disk-cache-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

static void rm_tree(const char *dir) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* The number of files in dir ending in suffix; the first one's path in path. */
static int count_files(const char *dir, const char *suffix, char *path) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        if (l < s || strcmp(e->d_name + l - s, suffix) != 0) continue;
        if (!n++ && path) snprintf(path, 512, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

static void test_store_then_load(void) {
    char dir[64], file[512];
    make_tmp(dir);
    jx_array *plain = compile_run(2.0, "", true); /* no disk cache */
    jx_jit_stats s0 = jx_jit_stats_get();
    jx_array *first = compile_run(2.0, dir, true);
    jx_jit_stats s1 = jx_jit_stats_get();
    CU_ASSERT_EQUAL(s1.disk_stores - s0.disk_stores, 1);
    CU_ASSERT_EQUAL(s1.disk_hits - s0.disk_hits, 0);
    CU_ASSERT_EQUAL(count_files(dir, ".jxo", file), 1);
    CU_ASSERT_EQUAL(count_files(dir, ".tmp", NULL), 0);
    jx_array *again = compile_run(2.0, dir, true);
    jx_jit_stats s2 = jx_jit_stats_get();
    CU_ASSERT_EQUAL(s2.disk_hits - s1.disk_hits, 1);
    CU_ASSERT_EQUAL(s2.disk_stores - s1.disk_stores, 0);
    CU_ASSERT_EQUAL(s2.kernels, s1.kernels); /* nothing compiled */
    CU_ASSERT(same_bits(plain, first));
    CU_ASSERT(same_bits(first, again));
    /* another function is another file */
    jx_array *other = compile_run(3.0, dir, true);
    CU_ASSERT_EQUAL(count_files(dir, ".jxo", NULL), 2);
    CU_ASSERT(!same_bits(first, other));
    jx_array *arrs[] = {plain, first, again, other};
    for (int i = 0; i < 4; i++) jx_array_release(arrs[i]);
    rm_tree(dir);
}

/* Applies a damage to the cache file of f_k, then checks the next compile does not load
 * it, gives the right bits, and rewrites the file so the compile after it loads. */
typedef void (*damage_fn)(const char *path);

static void flip_last_byte(const char *path) {
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, -1, SEEK_END);
    int c = fgetc(f);
    fseek(f, -1, SEEK_END);
    fputc(c ^ 0x40, f);
    fclose(f);
}

static void truncate_half(const char *path) {
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(truncate(path, st.st_size / 2), 0);
}

static void empty_file(const char *path) { CU_ASSERT_EQUAL(truncate(path, 0), 0); }

/* A stale file: made by another LLVM (the header's "llvm 14" becomes "llvm 04"). */
static void other_version(const char *path) {
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    char *at = NULL;
    for (size_t i = 0; i + 6 < n && !at; i++)
        if (memcmp(buf + i, "\nllvm ", 6) == 0) at = buf + i + 6;
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    fseek(f, at - buf, SEEK_SET);
    fputc(*at == '0' ? '9' : '0', f);
    fclose(f);
}

static void bad_magic(const char *path) {
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputc('Y', f);
    fclose(f);
}

static void test_damaged_files(void) {
    damage_fn damages[] = {flip_last_byte, truncate_half, empty_file, other_version, bad_magic};
    const char *names[] = {"a flipped byte", "a truncated file", "an empty file", "another LLVM version",
                           "another magic"};
    char dir[64], file[512];
    make_tmp(dir);
    jx_array *want = compile_run(4.0, dir, true);
    CU_ASSERT_EQUAL_FATAL(count_files(dir, ".jxo", file), 1);
    for (int i = 0; i < 5; i++) {
        damages[i](file);
        jx_jit_stats s0 = jx_jit_stats_get();
        jx_array *got = compile_run(4.0, dir, true);
        jx_jit_stats s1 = jx_jit_stats_get();
        if (s1.disk_hits != s0.disk_hits) fprintf(stderr, "\n  %s was loaded\n", names[i]);
        CU_ASSERT_EQUAL(s1.disk_hits - s0.disk_hits, 0);      /* never loaded */
        CU_ASSERT_EQUAL(s1.disk_stores - s0.disk_stores, 1);  /* recompiled and rewritten */
        CU_ASSERT(same_bits(want, got));
        jx_array *again = compile_run(4.0, dir, true);
        CU_ASSERT_EQUAL(jx_jit_stats_get().disk_hits - s1.disk_hits, 1); /* the rewritten file loads */
        CU_ASSERT(same_bits(want, again));
        jx_array_release(got);
        jx_array_release(again);
    }
    CU_ASSERT_EQUAL(count_files(dir, ".jxo", NULL), 1);
    jx_array_release(want);
    rm_tree(dir);
}

/* The child of the concurrency and environment cases: compiles f_k for k in [from, to)
 * (NULL opts: the environment decides) `reps` times and prints its disk counters. */
static int child(int from, int to, int reps) {
    int bad = 0;
    for (int r = 0; r < reps; r++)
        for (int k = from; k < to; k++) {
            jx_array *out = compile_run(k, NULL, false);
            bad |= !out;
            jx_array_release(out);
        }
    jx_jit_stats s = jx_jit_stats_get();
    printf("hits=%lld stores=%lld\n", (long long)s.disk_hits, (long long)s.disk_stores);
    return bad;
}

/* Starts `self child from to reps` with the environment assignment env (may be NULL). */
static pid_t spawn(const char *env, int from, int to, int reps, int out_fd) {
    pid_t pid = fork();
    if (pid == 0) {
        char a[3][16];
        snprintf(a[0], 16, "%d", from);
        snprintf(a[1], 16, "%d", to);
        snprintf(a[2], 16, "%d", reps);
        unsetenv("JX_JIT_CACHE_DIR");
        char assign[256];
        snprintf(assign, sizeof assign, "%s", env ? env : "");
        char *eq = strchr(assign, '=');
        if (eq) *eq = 0, setenv(assign, eq + 1, 1);
        if (out_fd < 0) out_fd = open("/dev/null", O_WRONLY);
        if (out_fd >= 0) dup2(out_fd, 1);
        execl(self, self, "child", a[0], a[1], a[2], (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_ok(pid_t pid) {
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Runs one child and returns its "hits=.. stores=.." line. */
static void run_child(const char *env, int from, int to, char *line) {
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    pid_t pid = spawn(env, from, to, 1, fds[1]);
    close(fds[1]);
    ssize_t n = read(fds[0], line, 63);
    line[n > 0 ? n : 0] = 0;
    close(fds[0]);
    CU_ASSERT(wait_ok(pid));
}

static void test_two_processes(void) {
    char dir[64], env[128], line[64];
    make_tmp(dir);
    snprintf(env, sizeof env, "JX_JIT_CACHE_DIR=%s", dir);
    /* both compile k = 10..17 (the same 8 modules) three times at once, and 4 of their own */
    pid_t a = spawn(env, 10, 22, 3, -1), b = spawn(env, 6, 18, 3, -1);
    CU_ASSERT(wait_ok(a));
    CU_ASSERT(wait_ok(b));
    CU_ASSERT_EQUAL(count_files(dir, ".jxo", NULL), 16); /* k = 6..21 */
    CU_ASSERT_EQUAL(count_files(dir, ".tmp", NULL), 0);
    run_child(env, 6, 22, line); /* every file whole: all 16 load, none is rewritten */
    CU_ASSERT_STRING_EQUAL(line, "hits=16 stores=0\n");
    rm_tree(dir);
}

static void test_directory_choice(void) {
    char dir[64], env[160], line[64], sub[128];
    make_tmp(dir);
    snprintf(env, sizeof env, "JX_JIT_CACHE_DIR=%s/a/b", dir); /* made with its parents */
    run_child(env, 1, 2, line);
    CU_ASSERT_STRING_EQUAL(line, "hits=0 stores=1\n");
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    CU_ASSERT_EQUAL(count_files(sub, ".jxo", NULL), 1);
    run_child("JX_JIT_CACHE_DIR=off", 1, 2, line);
    CU_ASSERT_STRING_EQUAL(line, "hits=0 stores=0\n");
    snprintf(env, sizeof env, "XDG_CACHE_HOME=%s/xdg", dir); /* JX_JIT_CACHE_DIR unset */
    run_child(env, 1, 2, line);
    CU_ASSERT_STRING_EQUAL(line, "hits=0 stores=1\n");
    snprintf(sub, sizeof sub, "%s/xdg/jx", dir);
    CU_ASSERT_EQUAL(count_files(sub, ".jxo", NULL), 1);
    /* opts.cache_dir "" turns it off whatever the environment says */
    jx_jit_stats s0 = jx_jit_stats_get();
    jx_array *out = compile_run(5.0, "", true);
    CU_ASSERT_PTR_NOT_NULL(out);
    CU_ASSERT_EQUAL(jx_jit_stats_get().disk_stores, s0.disk_stores);
    jx_array_release(out);
    rm_tree(dir);
}

static void test_unwritable(void) {
    char dir[64], file[128];
    make_tmp(dir);
    snprintf(file, sizeof file, "%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    strcat(file, "/cache"); /* under a regular file: cannot be made */
    jx_array *want = compile_run(6.0, "", true), *got = compile_run(6.0, file, true);
    CU_ASSERT(same_bits(want, got)); /* compiled anyway (with one warning on stderr) */
    jx_array_release(want);
    jx_array_release(got);
    rm_tree(dir);
}

int main(int argc, char **argv) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return perror("readlink /proc/self/exe"), 1;
    self[n] = 0;
    if (argc == 5 && strcmp(argv[1], "child") == 0) return child(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    CU_TestInfo tests[] = {
        {"a module compiled once loads from the cache, bit-identical", test_store_then_load},
        {"damaged, truncated or stale files are recompiled, never loaded", test_damaged_files},
        {"two processes filling one directory at once lose nothing", test_two_processes},
        {"the directory: opts, JX_JIT_CACHE_DIR, XDG_CACHE_HOME, off", test_directory_choice},
        {"an unwritable directory costs a warning, not the compile", test_unwritable},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_disk_cache", tests);
}
