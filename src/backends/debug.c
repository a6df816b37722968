/* debug.c: the compiler's environment switches (see debug.h), read once per process, and the
 * dump streams (stderr, or numbered files in JX_DUMP_DIR). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "debug.h"
#include "../trace/ir.h"

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static unsigned dump_flags;
static bool debug_nans;
static bool fuse_enabled = true;
static bool dnnl_enabled = true;
static int64_t small_kernel = JX__SMALL_KERNEL_DEFAULT;
static char dump_dir[1024];
static char cache_dir[1024]; /* "" for none */
static atomic_int dump_seq;

/* JX_DUMP=ir,passes,...: an unknown word is warned about (once: read_env runs once). */
static unsigned parse_dump(const char *s) {
    static const struct {
        const char *name;
        unsigned flag;
    } words[] = {{"ir", JX__DUMP_IR},     {"passes", JX__DUMP_PASSES}, {"fusion", JX__DUMP_FUSION},
                 {"llvm", JX__DUMP_LLVM}, {"asm", JX__DUMP_ASM},       {"plan", JX__DUMP_PLAN},
                 {"profile", JX__DUMP_PROFILE}, {"all", ~0u}};
    unsigned flags = 0;
    while (s && *s) {
        size_t n = strcspn(s, ",; ");
        size_t w = 0;
        while (w < sizeof words / sizeof *words &&
               !(strlen(words[w].name) == n && strncmp(s, words[w].name, n) == 0))
            w++;
        if (w < sizeof words / sizeof *words) flags |= words[w].flag;
        else fprintf(stderr, "jx: warning: JX_DUMP: unknown key '%.*s' ignored (known: ir, passes, "
                     "fusion, plan, llvm, asm, profile, all)\n", (int)n, s);
        s += n;
        s += strspn(s, ",; ");
    }
    return flags;
}

static void read_env(void) {
    dump_flags = parse_dump(getenv("JX_DUMP"));
    debug_nans = jx__env_bool("JX_DEBUG_NANS", false);
    fuse_enabled = jx__env_bool("JX_JIT_FUSE", true);
    dnnl_enabled = jx__env_bool("JX_JIT_DNNL", true);
    small_kernel = jx__env_int("JX_JIT_SMALL_KERNEL", JX__SMALL_KERNEL_DEFAULT, 0, INT64_MAX);
    const char *d = getenv("JX_DUMP_DIR");
    if (d && *d) snprintf(dump_dir, sizeof dump_dir, "%s", d);
    /* JX_JIT_CACHE_DIR: a directory, or ""/0/off/no/false for none; unset: the user's
     * cache directory (XDG's base directory rules), none without a home */
    const char *c = getenv("JX_JIT_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    static const char *const off[] = {"", "0", "off", "no", "false"};
    bool none = false;
    for (size_t i = 0; c && i < sizeof off / sizeof *off; i++) none |= strcmp(c, off[i]) == 0;
    if (c && !none) snprintf(cache_dir, sizeof cache_dir, "%s", c);
    else if (!c && xdg && xdg[0] == '/') snprintf(cache_dir, sizeof cache_dir, "%s/jx", xdg);
    else if (!c && home && home[0] == '/') snprintf(cache_dir, sizeof cache_dir, "%s/.cache/jx", home);
}

const char *jx__jit_cache_dir(void) {
    pthread_once(&env_once, read_env);
    return cache_dir[0] ? cache_dir : NULL;
}

unsigned jx__dump_flags(void) {
    pthread_once(&env_once, read_env);
    return dump_flags;
}

bool jx__debug_nans(void) {
    pthread_once(&env_once, read_env);
    return debug_nans;
}

bool jx__jit_fuse_enabled(void) {
    pthread_once(&env_once, read_env);
    return fuse_enabled;
}

int64_t jx__jit_small_kernel(void) {
    pthread_once(&env_once, read_env);
    return small_kernel;
}

bool jx__jit_dnnl_enabled(void) {
    pthread_once(&env_once, read_env);
    return dnnl_enabled;
}

/* A file name's extension for a dump kind. */
static const char *dump_ext(const char *what) {
    if (strcmp(what, "llvm") == 0) return "ll";
    if (strcmp(what, "asm") == 0) return "s";
    return "txt";
}

FILE *jx__dump_open(const char *name, const char *what) {
    pthread_once(&env_once, read_env);
    if (!name) name = "fn";
    if (!what) what = "dump";
    if (dump_dir[0]) {
        /* "<seq>-<name>.<what>.<ext>": one file per dump, in the order they were made;
         * characters that do not belong in a file name become '_' */
        char safe[64];
        size_t n = 0;
        for (const char *c = name; *c && n + 1 < sizeof safe; c++)
            safe[n++] = (strchr("/\\:*?\"<>| \t\r\n", *c) ? '_' : *c);
        safe[n] = 0;
        char path[1400];
        int seq = atomic_fetch_add(&dump_seq, 1);
        snprintf(path, sizeof path, "%s/%04d-%s.%s.%s", dump_dir, seq, safe, what, dump_ext(what));
        FILE *f = fopen(path, "w");
        if (f) return f;
        fprintf(stderr, "jx: cannot write %s, dumping to stderr\n", path);
    }
    fprintf(stderr, "==== jx %s: %s ====\n", what, name);
    return stderr;
}

void jx__dump_close(FILE *f) {
    if (!f) return;
    if (f == stderr) fflush(f);
    else fclose(f);
}
