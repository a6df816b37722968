/* rle.c: COCO run-length masks, the algorithms of pycocotools' maskApi.c (rleFrPoly,
 * rleEncode, rleDecode, rleMerge, rleArea, rleToString, rleFrString) re-implemented so
 * that the runs come out identical, with bounds checked where maskApi trusts its input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

void jx_rle_free(jx_rle *r) {
    if (!r) return;
    free(r->counts);
    memset(r, 0, sizeof *r);
}

static jx_status rle_set(jx_rle *out, uint32_t h, uint32_t w, const uint32_t *cnts, size_t m) {
    out->h = h, out->w = w, out->m = m;
    out->counts = malloc((m ? m : 1) * sizeof *cnts);
    if (!out->counts) return jx__data_nomem("rle");
    if (m) memcpy(out->counts, cnts, m * sizeof *cnts);
    return JX_OK;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x > y ? 1 : x < y ? -1 : 0;
}

/* The polygon's vertices, scaled by 5 and rounded as maskApi does, closed (k+1 points). */
static jx_status poly_points(const double *xy, size_t k, int **px, int **py) {
    *px = malloc((k + 1) * sizeof **px), *py = malloc((k + 1) * sizeof **py);
    if (!*px || !*py) return jx__data_nomem("polygon");
    for (size_t j = 0; j < k; j++) {
        (*px)[j] = (int)(5.0 * xy[2 * j] + .5);
        (*py)[j] = (int)(5.0 * xy[2 * j + 1] + .5);
    }
    (*px)[k] = (*px)[0], (*py)[k] = (*py)[0];
    return JX_OK;
}

jx_status jx_rle_from_polygon(const double *xy, size_t k, uint32_t h, uint32_t w, jx_rle *out) {
    memset(out, 0, sizeof *out);
    if (k == 0 || (uint64_t)h * w == 0 || (uint64_t)h * w > UINT32_MAX)
        return jx__data_fail(JX_ERR_ARG, "rle_from_polygon: %zu points on a %ux%u image", k, h, w);
    for (size_t j = 0; j < 2 * k; j++)
        if (!(fabs(xy[j]) <= 1e6))
            return jx__data_fail(JX_ERR_ARG, "rle_from_polygon: coordinate %zu is %g, beyond +-1e6", j, xy[j]);
    const double scale = 5;
    int *x = NULL, *y = NULL, *u = NULL, *v = NULL;
    uint32_t *a = NULL, *b = NULL;
    jx_status st = poly_points(xy, k, &x, &y);
    if (st) goto done;
    /* upsample: every point of the boundary in 1/5 pixel steps (a DDA along the longer axis) */
    size_t m = 0;
    for (size_t j = 0; j < k; j++) {
        int dx = abs(x[j] - x[j + 1]), dy = abs(y[j] - y[j + 1]);
        m += (size_t)(dx > dy ? dx : dy) + 1;
    }
    u = malloc(m * sizeof *u), v = malloc(m * sizeof *v);
    if (!u || !v) { st = jx__data_nomem("polygon"); goto done; }
    m = 0;
    for (size_t j = 0; j < k; j++) {
        int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
        int dx = abs(xe - xs), dy = abs(ys - ye), t;
        int flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if (flip) t = xs, xs = xe, xe = t, t = ys, ys = ye, ye = t;
        /* a repeated vertex (dx = dy = 0) gives maskApi 0/0 and (int)NaN, a point whose row is
         * never read (its column equals its neighbours'); 0 keeps the same runs without UB */
        double s = dx == 0 && dy == 0 ? 0 : dx >= dy ? (double)(ye - ys) / dx : (double)(xe - xs) / dy;
        if (dx >= dy)
            for (int d = 0; d <= dx; d++) {
                t = flip ? dx - d : d;
                u[m] = t + xs, v[m] = (int)(ys + s * t + .5), m++;
            }
        else
            for (int d = 0; d <= dy; d++) {
                t = flip ? dy - d : d;
                v[m] = t + ys, u[m] = (int)(xs + s * t + .5), m++;
            }
    }
    /* where the boundary crosses a pixel column centre: that column's first pixel inside,
     * as a column-major position; sorted, their differences are the runs */
    a = malloc(m * sizeof *a + sizeof *a), b = malloc(m * sizeof *b + sizeof *b);
    if (!a || !b) { st = jx__data_nomem("polygon"); goto done; }
    size_t na = 0;
    for (size_t j = 1; j < m; j++) {
        if (u[j] == u[j - 1]) continue;
        double xd = (double)(u[j] < u[j - 1] ? u[j] : u[j] - 1);
        xd = (xd + .5) / scale - .5;
        if (floor(xd) != xd || xd < 0 || xd > (double)w - 1) continue;
        double yd = (double)(v[j] < v[j - 1] ? v[j] : v[j - 1]);
        yd = (yd + .5) / scale - .5;
        if (yd < 0) yd = 0;
        else if (yd > h) yd = h;
        yd = ceil(yd);
        a[na++] = (uint32_t)((int)xd * (int)h + (int)yd);
    }
    a[na++] = h * w;
    qsort(a, na, sizeof *a, cmp_u32);
    uint32_t p = 0;
    for (size_t j = 0; j < na; j++) {
        uint32_t t = a[j];
        a[j] -= p, p = t;
    }
    /* an empty run between two crossings merges its neighbours */
    size_t j = 0, nb = 0;
    b[nb++] = a[j++];
    while (j < na) {
        if (a[j] > 0) b[nb++] = a[j++];
        else if (++j < na) b[nb - 1] += a[j++];
    }
    st = rle_set(out, h, w, b, nb);
done:
    free(x), free(y), free(u), free(v), free(a), free(b);
    return st;
}

jx_status jx_rle_from_bbox(const double bb[4], uint32_t h, uint32_t w, jx_rle *out) {
    double xs = bb[0], xe = xs + bb[2], ys = bb[1], ye = ys + bb[3];
    double xy[8] = {xs, ys, xs, ye, xe, ye, xe, ys};
    return jx_rle_from_polygon(xy, 4, h, w, out);
}

jx_status jx_rle_encode(const uint8_t *mask, uint32_t h, uint32_t w, jx_rle *out) {
    memset(out, 0, sizeof *out);
    size_t n = (size_t)h * w;
    uint32_t *cnts = malloc((n + 1) * sizeof *cnts);
    if (!cnts) return jx__data_nomem("rle_encode");
    size_t k = 0;
    uint32_t c = 0;
    uint8_t p = 0;
    for (uint32_t x = 0; x < w; x++)
        for (uint32_t y = 0; y < h; y++) {
            uint8_t t = mask[(size_t)y * w + x] != 0;
            if (t != p) cnts[k++] = c, c = 0, p = t;
            c++;
        }
    cnts[k++] = c;
    jx_status st = rle_set(out, h, w, cnts, k);
    free(cnts);
    return st;
}

jx_status jx_rle_decode(const jx_rle *r, uint8_t *mask) {
    uint64_t sum = 0;
    for (size_t j = 0; j < r->m; j++) sum += r->counts[j];
    if (sum != (uint64_t)r->h * r->w)
        return jx__data_fail(JX_ERR_ARG, "rle_decode: the counts sum to %llu, not %ux%u = %llu",
                             (unsigned long long)sum, r->h, r->w, (unsigned long long)r->h * r->w);
    uint32_t y = 0, x = 0;
    uint8_t v = 0;
    for (size_t j = 0; j < r->m; j++, v = !v)
        for (uint32_t c = r->counts[j]; c; c--) {
            mask[(size_t)y * r->w + x] = v;
            if (++y == r->h) y = 0, x++;
        }
    return JX_OK;
}

jx_status jx_rle_merge(const jx_rle *rs, size_t n, int intersect, jx_rle *out) {
    memset(out, 0, sizeof *out);
    if (n == 0) return jx__data_fail(JX_ERR_ARG, "rle_merge: no RLE to merge");
    uint32_t h = rs[0].h, w = rs[0].w;
    for (size_t i = 1; i < n; i++)
        if (rs[i].h != h || rs[i].w != w)
            return jx__data_fail(JX_ERR_ARG, "rle_merge: RLE %zu is %ux%u, RLE 0 is %ux%u", i, rs[i].h, rs[i].w, h, w);
    for (size_t i = 0; i < n; i++) { /* runs that do not cover the mask would never meet */
        uint64_t sum = 0;
        for (size_t j = 0; j < rs[i].m; j++) sum += rs[i].counts[j];
        if (sum != (uint64_t)h * w || rs[i].m == 0)
            return jx__data_fail(JX_ERR_ARG, "rle_merge: the counts of RLE %zu sum to %llu, not %ux%u = %llu", i,
                                 (unsigned long long)sum, h, w, (unsigned long long)h * w);
    }
    if (n == 1) return rle_set(out, h, w, rs[0].counts, rs[0].m);
    /* one merged run per change of the result, at most as many as the inputs' runs */
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += rs[i].m;
    uint32_t *cnts = malloc(cap * sizeof *cnts), *prev = malloc(cap * sizeof *prev);
    if (!cnts || !prev) {
        free(cnts), free(prev);
        return jx__data_nomem("rle_merge");
    }
    size_t m = rs[0].m;
    memcpy(cnts, rs[0].counts, m * sizeof *cnts);
    for (size_t i = 1; i < n; i++) {
        const jx_rle *B = &rs[i];
        size_t am = m, a = 1, b = 1;
        memcpy(prev, cnts, am * sizeof *prev);
        uint32_t ca = prev[0], cb = B->counts[0], cc = 0, ct = 1;
        int v = 0, va = 0, vb = 0;
        m = 0;
        while (ct > 0) {
            uint32_t c = ca < cb ? ca : cb;
            cc += c, ct = 0;
            ca -= c;
            if (!ca && a < am) ca = prev[a++], va = !va;
            ct += ca;
            cb -= c;
            if (!cb && b < B->m) cb = B->counts[b++], vb = !vb;
            ct += cb;
            int vp = v;
            v = intersect ? va && vb : va || vb;
            if (v != vp || ct == 0) cnts[m++] = cc, cc = 0;
        }
    }
    jx_status st = rle_set(out, h, w, cnts, m);
    free(cnts), free(prev);
    return st;
}

uint64_t jx_rle_area(const jx_rle *r) {
    uint64_t a = 0;
    for (size_t j = 1; j < r->m; j += 2) a += r->counts[j];
    return a;
}

char *jx_rle_to_string(const jx_rle *r) {
    char *s = malloc(r->m * 7 + 1), *p = s;
    if (!s) return NULL;
    for (size_t i = 0; i < r->m; i++) {
        int64_t x = r->counts[i];
        if (i > 2) x -= r->counts[i - 2];
        for (int more = 1; more;) {
            int c = (int)(x & 0x1f);
            x >>= 5; /* arithmetic: the sign travels in bit 4 of the last character */
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more) c |= 0x20;
            *p++ = (char)(c + 48);
        }
    }
    *p = 0;
    return s;
}

jx_status jx_rle_from_string(const char *s, size_t len, uint32_t h, uint32_t w, jx_rle *out) {
    memset(out, 0, sizeof *out);
    uint32_t *cnts = malloc((len ? len : 1) * sizeof *cnts);
    if (!cnts) return jx__data_nomem("rle_from_string");
    size_t m = 0, p = 0;
    while (p < len) {
        int64_t x = 0;
        int k = 0, more = 1;
        while (more) {
            if (p >= len || k == 7)
                return free(cnts), jx__data_fail(JX_ERR_ARG, "rle_from_string: %s at character %zu",
                                                  p >= len ? "the last value is cut short" : "a value longer than 7 characters", p);
            int c = (unsigned char)s[p] - 48;
            if (c < 0 || c > 63)
                return free(cnts), jx__data_fail(JX_ERR_ARG, "rle_from_string: character %zu is '%c', outside '0'..'o'",
                                                  p, s[p] > 32 && s[p] < 127 ? s[p] : '?');
            x |= (int64_t)(c & 0x1f) << (5 * k);
            more = c & 0x20;
            p++, k++;
            if (!more && (c & 0x10)) x -= (int64_t)1 << (5 * k); /* sign-extend */
        }
        if (m > 2) x += cnts[m - 2];
        if (x < 0 || x > UINT32_MAX)
            return free(cnts), jx__data_fail(JX_ERR_ARG, "rle_from_string: count %zu is %lld, outside 0..2^32-1 (character %zu)",
                                              m, (long long)x, p - 1);
        cnts[m++] = (uint32_t)x;
    }
    out->h = h, out->w = w, out->m = m, out->counts = cnts;
    return JX_OK;
}
