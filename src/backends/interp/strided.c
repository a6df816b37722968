/* strided.c: see strided.h. */
#include "strided.h"

#include <string.h>

#include "../../trace/ir.h"

void jx__row_strides(int rank, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int k = rank - 1; k >= 0; k--) {
        strides[k] = s;
        s *= shape[k];
    }
}

/* One run of n elements with element strides di, si. memcpy with a constant size
 * compiles to a plain load/store and keeps the copy free of aliasing questions. */
#define RUN(SZ)                                                                   \
    for (int64_t i = 0; i < n; i++) memcpy(d + i * di * (SZ), s + i * si * (SZ), (SZ)); \
    break
static void copy_run(char *d, const char *s, int64_t n, int64_t di, int64_t si, size_t esize) {
    if (di == 1 && si == 1) {
        memcpy(d, s, (size_t)n * esize);
        return;
    }
    switch (esize) {
    case 1: RUN(1);
    case 2: RUN(2);
    case 4: RUN(4);
    case 8: RUN(8);
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(d + i * di * (int64_t)esize, s + i * si * (int64_t)esize, esize);
    }
}
#undef RUN

/* A 2-d box of na x nb elements in TILE x TILE blocks, so that both the rows read
 * and the rows written stay in cache (b is the destination's contiguous dim). */
#define TILE 16
static void copy_tiles(char *d, const char *s, int64_t na, int64_t nb, int64_t da, int64_t db, int64_t sa,
                       int64_t sb, size_t esize) {
    int64_t es = (int64_t)esize;
    for (int64_t a0 = 0; a0 < na; a0 += TILE)
        for (int64_t b0 = 0; b0 < nb; b0 += TILE) {
            int64_t a1 = a0 + TILE < na ? a0 + TILE : na, nrun = b0 + TILE < nb ? TILE : nb - b0;
            for (int64_t a = a0; a < a1; a++)
                copy_run(d + (a * da + b0 * db) * es, s + (a * sa + b0 * sb) * es, nrun, db, sb, esize);
        }
}
#undef TILE

void jx__strided_copy(int rank, const int64_t *shape, size_t esize, void *dst, int64_t dst_off,
                      const int64_t *dst_st, const void *src, int64_t src_off,
                      const int64_t *src_st) {
    JX__ASSERT(rank >= 0 && rank <= JX_MAX_RANK);
    int64_t sh[JX_MAX_RANK], ds[JX_MAX_RANK], ss[JX_MAX_RANK];
    int r = 0;
    for (int k = 0; k < rank; k++) {
        if (shape[k] == 0) return;
        if (shape[k] == 1) continue;
        if (r > 0 && ds[r - 1] == dst_st[k] * shape[k] && ss[r - 1] == src_st[k] * shape[k]) {
            sh[r - 1] *= shape[k]; /* dims r-1 and k walk memory as one dim */
            ds[r - 1] = dst_st[k];
            ss[r - 1] = src_st[k];
            continue;
        }
        sh[r] = shape[k];
        ds[r] = dst_st[k];
        ss[r] = src_st[k];
        r++;
    }
    int64_t es = (int64_t)esize;
    char *d = (char *)dst + dst_off * es;
    const char *s = (const char *)src + src_off * es;
    if (r == 0) {
        memcpy(d, s, esize);
        return;
    }
    int inner = r - 1, tile = -1;
    /* A transpose reads its innermost dim with a long stride: pair it with the dim
     * that is contiguous in the source and copy square tiles instead. */
    if (ds[inner] == 1 && ss[inner] != 1)
        for (int k = 0; k < inner; k++)
            if (ss[k] == 1) tile = k;
    /* odometer over the remaining outer dims */
    int64_t osh[JX_MAX_RANK], ods[JX_MAX_RANK], oss[JX_MAX_RANK], idx[JX_MAX_RANK] = {0};
    int no = 0;
    for (int k = 0; k < inner; k++)
        if (k != tile) {
            osh[no] = sh[k];
            ods[no] = ds[k];
            oss[no] = ss[k];
            no++;
        }
    int64_t doff = 0, soff = 0;
    for (;;) {
        if (tile >= 0)
            copy_tiles(d + doff * es, s + soff * es, sh[tile], sh[inner], ds[tile], ds[inner], ss[tile],
                       ss[inner], esize);
        else
            copy_run(d + doff * es, s + soff * es, sh[inner], ds[inner], ss[inner], esize);
        int k = no - 1;
        for (; k >= 0; k--) {
            doff += ods[k];
            soff += oss[k];
            if (++idx[k] < osh[k]) break;
            doff -= ods[k] * osh[k];
            soff -= oss[k] * osh[k];
            idx[k] = 0;
        }
        if (k < 0) return;
    }
}

void jx__fill_elems(void *dst, int64_t n, size_t esize, const void *elem) {
    if (n <= 0) return;
    char *d = dst;
    size_t total = (size_t)n * esize, done = esize;
    memcpy(d, elem, esize);
    while (done < total) { /* double the filled prefix each step */
        size_t c = done < total - done ? done : total - done;
        memcpy(d + done, d, c);
        done += c;
    }
}
