/* image.c: JPEG decoding (libjpeg-turbo's TurboJPEG API), PNG reading and writing (libpng),
 * and resizing. Every failure names the file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>
#include <turbojpeg.h>

#include "data.h"

void jx_image_free(jx_image *im) {
    if (!im) return;
    free(im->data);
    memset(im, 0, sizeof *im);
}

/* The whole file in memory (malloc'd). */
static jx_status read_file(const char *path, unsigned char **buf, size_t *len) {
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return jx__data_fail(JX_ERR_IO, "%s: %s", path, strerror(errno));
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return jx__data_fail(JX_ERR_IO, "%s: cannot tell its size: %s", path, strerror(errno));
    }
    *buf = malloc((size_t)n + 1);
    if (!*buf) return fclose(f), jx__data_nomem(path);
    *len = fread(*buf, 1, (size_t)n, f);
    int bad = ferror(f) || *len != (size_t)n;
    fclose(f);
    if (bad) {
        free(*buf), *buf = NULL;
        return jx__data_fail(JX_ERR_IO, "%s: read error", path);
    }
    return JX_OK;
}

jx_status jx_image_decode_jpeg(const char *name, const void *data, size_t len, jx_image *out) {
    memset(out, 0, sizeof *out);
    tjhandle tj = tjInitDecompress();
    if (!tj) return jx__data_nomem(name);
    int w, h, sub, cs;
    jx_status st = JX_OK;
    if (len == 0) st = jx__data_fail(JX_ERR_IO, "%s: not a JPEG: the file is empty", name);
    else if (tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &sub, &cs) != 0)
        st = jx__data_fail(JX_ERR_IO, "%s: not a JPEG or a corrupt header: %s", name, tjGetErrorStr2(tj));
    else if (!(out->data = malloc((size_t)w * h * 3))) st = jx__data_nomem(name);
    /* TurboJPEG returns -1 on warnings too ("Premature end of JPEG file"): a truncated file
     * fails instead of being padded with grey */
    else if (tjDecompress2(tj, data, (unsigned long)len, out->data, w, 0, h, TJPF_RGB, TJFLAG_ACCURATEDCT) != 0)
        st = jx__data_fail(JX_ERR_IO, "%s: truncated or corrupt JPEG: %s", name, tjGetErrorStr2(tj));
    tjDestroy(tj);
    if (st) return jx_image_free(out), st;
    out->height = h, out->width = w, out->channels = 3;
    return JX_OK;
}

jx_status jx_image_read_jpeg(const char *path, jx_image *out) {
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t len = 0;
    jx_status st = read_file(path, &buf, &len);
    if (st) return st;
    st = jx_image_decode_jpeg(path, buf, len, out);
    free(buf);
    return st;
}

/* libpng reports errors through longjmp; the message goes to the struct's buffer. */
typedef struct png_err {
    char msg[200];
} png_err;
static void png_error_fn(png_structp p, png_const_charp msg) {
    png_err *e = png_get_error_ptr(p);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    png_longjmp(p, 1);
}
static void png_warn_fn(png_structp p, png_const_charp msg) { (void)p, (void)msg; }

/* libpng's file I/O through jx's own fread and fwrite calls (libpng's built-in ones are out
 * of reach of the fault build's I/O hooks); a failure becomes libpng's error, naming why. */
static void png_write_cb(png_structp p, png_bytep data, size_t n) {
    if (fwrite(data, 1, n, png_get_io_ptr(p)) != n) png_error(p, strerror(errno));
}
static void png_flush_cb(png_structp p) { (void)p; }
static void png_read_cb(png_structp p, png_bytep data, size_t n) {
    FILE *f = png_get_io_ptr(p);
    if (fread(data, 1, n, f) != n) png_error(p, ferror(f) ? strerror(errno) : "the file is truncated");
}

jx_status jx_image_write_png(const char *path, const uint8_t *pixels, int32_t height, int32_t width, int32_t channels) {
    if (height < 1 || width < 1 || (channels != 1 && channels != 3))
        return jx__data_fail(JX_ERR_ARG, "%s: cannot write a PNG of %dx%dx%d", path, height, width, channels);
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return jx__data_nomem(path);
    snprintf(tmp, n + 16, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        jx_status st = jx__data_fail(JX_ERR_IO, "%s: %s", path, strerror(errno));
        return free(tmp), st;
    }
    png_err e = {""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e, png_error_fn, png_warn_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int ok = png && info;
    if (ok && setjmp(png_jmpbuf(png)) == 0) {
        png_set_write_fn(png, f, png_write_cb, png_flush_cb);
        png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                     channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (int32_t y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * width * channels);
        png_write_end(png, info);
    } else ok = 0;
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) != 0) ok = 0, snprintf(e.msg, sizeof e.msg, "%s", strerror(errno));
    if (!ok) remove(tmp);
    free(tmp);
    if (!ok) return jx__data_fail(JX_ERR_IO, "%s: cannot write the PNG: %s", path, e.msg[0] ? e.msg : strerror(errno));
    return JX_OK;
}

jx_status jx_image_read_png(const char *path, jx_image *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return jx__data_fail(JX_ERR_IO, "%s: %s", path, strerror(errno));
    png_err e = {""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, png_error_fn, png_warn_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = NULL;
    int ok = png && info;
    if (ok && setjmp(png_jmpbuf(png)) == 0) {
        png_set_read_fn(png, f, png_read_cb);
        png_read_info(png, info);
        png_set_expand(png);  /* palettes and low bit depths to 8 bits */
        png_set_strip_16(png);
        png_read_update_info(png, info);
        out->height = (int32_t)png_get_image_height(png, info);
        out->width = (int32_t)png_get_image_width(png, info);
        out->channels = png_get_channels(png, info);
        out->data = malloc((size_t)out->height * out->width * out->channels);
        rows = malloc(sizeof *rows * (size_t)out->height);
        if (!out->data || !rows) png_error(png, "out of memory");
        for (int32_t y = 0; y < out->height; y++) rows[y] = out->data + (size_t)y * out->width * out->channels;
        png_read_image(png, rows);
        png_read_end(png, NULL);
    } else ok = 0;
    png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
    free(rows);
    fclose(f);
    if (!ok) {
        jx_image_free(out);
        return jx__data_fail(JX_ERR_IO, "%s: not a readable PNG: %s", path, e.msg[0] ? e.msg : "out of memory");
    }
    return JX_OK;
}

/* Source coordinate of destination pixel d under a half-pixel-centre scale, and the two
 * neighbours with the weight of the second. */
static void taps(int32_t d, double scale, int32_t n, int32_t *i0, int32_t *i1, float *t) {
    double s = (d + 0.5) / scale - 0.5;
    if (s < 0) s = 0;
    int32_t i = (int32_t)floor(s);
    if (i > n - 1) i = n - 1;
    *i0 = i, *i1 = i + 1 < n ? i + 1 : n - 1;
    *t = (float)(s - i);
}

void jx_resize_bilinear(const uint8_t *src, int32_t sh, int32_t sw, int32_t c, uint8_t *dst, int32_t dh, int32_t dw) {
    for (int32_t y = 0; y < dh; y++) {
        int32_t y0, y1;
        float ty;
        taps(y, (double)dh / sh, sh, &y0, &y1, &ty);
        for (int32_t x = 0; x < dw; x++) {
            int32_t x0, x1;
            float tx;
            taps(x, (double)dw / sw, sw, &x0, &x1, &tx);
            for (int32_t k = 0; k < c; k++) {
                float a = src[((size_t)y0 * sw + x0) * c + k], b = src[((size_t)y0 * sw + x1) * c + k];
                float p = src[((size_t)y1 * sw + x0) * c + k], q = src[((size_t)y1 * sw + x1) * c + k];
                float top = a + (b - a) * tx, bot = p + (q - p) * tx;
                dst[((size_t)y * dw + x) * c + k] = (uint8_t)(top + (bot - top) * ty + 0.5f);
            }
        }
    }
}

void jx_resize_nearest(const uint8_t *src, int32_t sh, int32_t sw, int32_t c, uint8_t *dst, int32_t dh, int32_t dw) {
    for (int32_t y = 0; y < dh; y++) {
        int32_t sy = (int32_t)(((int64_t)2 * y + 1) * sh / (2 * (int64_t)dh));
        for (int32_t x = 0; x < dw; x++) {
            int32_t sx = (int32_t)(((int64_t)2 * x + 1) * sw / (2 * (int64_t)dw));
            memcpy(dst + ((size_t)y * dw + x) * c, src + ((size_t)sy * sw + sx) * c, (size_t)c);
        }
    }
}
