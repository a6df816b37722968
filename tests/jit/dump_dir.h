/* dump_dir.h: the JX_DUMP_DIR a test sets up in main (before the first jit call reads
 * the variables): reading a dump file back by a part of its name, and removing the
 * directory. Shared by the suites that look at what the jit dumped. */
#ifndef JX_TESTS_JIT_DUMP_DIR_H
#define JX_TESTS_JIT_DUMP_DIR_H
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The contents of the first file in dir whose name contains what (malloc'd, at most
 * cap - 1 bytes), or NULL. */
static inline char *dump_read(const char *dir, const char *what, size_t cap) {
    DIR *d = opendir(dir);
    struct dirent *de;
    char *text = NULL;
    while (d && !text && (de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, what)) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        text = calloc(1, cap);
        size_t got = text ? fread(text, 1, cap - 1, f) : 0;
        (void)got;
        fclose(f);
    }
    if (d) closedir(d);
    return text;
}

/* Removes dir and the files in it. */
static inline void dump_remove(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}
#endif
