/* fault_files.c: see fault_files.h. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "fault_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

int jt_fault_tmpdir(char *dir, size_t n, const char *name) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, n, "%s/%s_XXXXXX", base && *base ? base : "/tmp", name);
    if (mkdtemp(dir)) return 0;
    perror("mkdtemp");
    return -1;
}

int jt_fault_write_coco(const char *path) {
    static const char coco[] =
        "{\"images\":[{\"id\":1,\"width\":24,\"height\":20,\"file_name\":\"a.jpg\"}],"
        "\"categories\":[{\"id\":1,\"name\":\"person\"},{\"id\":3,\"name\":\"car\"}],"
        "\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"iscrowd\":0,\"area\":40.5,"
        "\"bbox\":[1,1,9,9],\"segmentation\":[[1,1,10,1.5,9.5,9,2,8]]},"
        "{\"id\":2,\"image_id\":1,\"category_id\":3,\"iscrowd\":1,\"area\":6,\"bbox\":[0,0,2,3],"
        "\"segmentation\":{\"size\":[20,24],\"counts\":[3,3,474]}},"
        "{\"id\":3,\"image_id\":1,\"category_id\":3,\"iscrowd\":0,\"area\":2,\"bbox\":[0,0,2,3],"
        "\"segmentation\":{\"size\":[20,24],\"counts\":\"52i>\"}}]}";
    FILE *f = fopen(path, "w");
    int ok = f && fputs(coco, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}

int jt_fault_write_idx(const char *path, int count) {
    unsigned char lab[8 + 1024] = {0, 0, 8, 1, 0, 0, (unsigned char)(count >> 8), (unsigned char)count};
    if (count > 1024) return -1;
    for (int i = 0; i < count; i++) lab[8 + i] = (unsigned char)(i * 7 % 10);
    gzFile gz = gzopen(path, "wb");
    int len = 8 + count;
    if (!gz || gzwrite(gz, lab, (unsigned)len) != len) {
        if (gz) gzclose(gz);
        return -1;
    }
    return gzclose(gz) == Z_OK ? 0 : -1;
}
