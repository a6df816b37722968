/* augment.c: counter-based random numbers (Threefry-2x32, 20 rounds, as in JAX and
 * Random123) and the per-sample transform: stretch to the output, random scale, crop and
 * flip, sampled in one pass (bilinear for the image, nearest for the labels). */
#include <math.h>
#include <string.h>

#include "data.h"

static uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

void jx__threefry2x32(const uint32_t k[2], uint32_t x[2]) {
    static const int R[8] = {13, 15, 26, 6, 17, 29, 16, 24};
    uint32_t ks[3] = {k[0], k[1], 0x1BD11BDAu ^ k[0] ^ k[1]};
    x[0] += ks[0], x[1] += ks[1];
    for (int r = 0; r < 20; r++) {
        x[0] += x[1], x[1] = rotl(x[1], R[r % 8]), x[1] ^= x[0];
        if (r % 4 == 3) {
            int i = (r + 1) / 4;
            x[0] += ks[i % 3], x[1] += ks[(i + 1) % 3] + (uint32_t)i;
        }
    }
}

uint64_t jx_rng_bits(uint64_t seed, uint64_t stream, uint32_t index) {
    /* the stream's key is the seed's hash of the stream; the draw is that key's hash of index */
    uint32_t k[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, s[2] = {(uint32_t)stream, (uint32_t)(stream >> 32)};
    jx__threefry2x32(k, s);
    uint32_t x[2] = {index, 0};
    jx__threefry2x32(s, x);
    return (uint64_t)x[1] << 32 | x[0];
}

static double uniform(uint64_t bits) { return (double)(bits >> 11) * 0x1p-53; }

jx_augment jx_augment_draw(int32_t sh, int32_t sw, int32_t oh, int32_t ow, int augment, double scale_min,
                           double scale_max, int flip, uint64_t seed, uint64_t stream) {
    jx_augment t = {(double)oh / sh, (double)ow / sw, 0, 0, 0};
    if (!augment) return t;
    double f = scale_min + uniform(jx_rng_bits(seed, stream, 0)) * (scale_max - scale_min);
    t.scale_y *= f, t.scale_x *= f;
    double hh = oh * f, ww = ow * f; /* the scaled image, in output pixels */
    t.off_y = hh >= oh ? floor(uniform(jx_rng_bits(seed, stream, 1)) * (hh - oh + 1)) : (hh - oh) / 2;
    t.off_x = ww >= ow ? floor(uniform(jx_rng_bits(seed, stream, 2)) * (ww - ow + 1)) : (ww - ow) / 2;
    if (hh >= oh && t.off_y > hh - oh) t.off_y = floor(hh - oh);
    if (ww >= ow && t.off_x > ww - ow) t.off_x = floor(ww - ow);
    t.flip = flip && (jx_rng_bits(seed, stream, 3) & 1);
    return t;
}

void jx_augment_apply(const jx_augment *t, const uint8_t *img, const uint8_t *mask, int32_t sh, int32_t sw, int32_t oh,
                      int32_t ow, const float mean[3], const float std[3], float *out_img, uint8_t *out_mask) {
    for (int32_t y = 0; y < oh; y++) {
        double fy = (y + t->off_y + 0.5) / t->scale_y; /* in source pixels, edges at integers */
        int inside_y = fy >= 0 && fy < sh;
        double sy = fy - 0.5 < 0 ? 0 : fy - 0.5;
        int32_t y0 = (int32_t)sy < sh - 1 ? (int32_t)sy : sh - 1, y1 = y0 + 1 < sh ? y0 + 1 : sh - 1;
        float ty = (float)(sy - y0);
        for (int32_t x = 0; x < ow; x++) {
            int32_t xo = t->flip ? ow - 1 - x : x;
            double fx = (xo + t->off_x + 0.5) / t->scale_x;
            float *o = out_img + ((size_t)y * ow + x) * 3;
            if (!inside_y || !(fx >= 0 && fx < sw)) {
                o[0] = o[1] = o[2] = 0;
                if (out_mask) out_mask[(size_t)y * ow + x] = 255;
                continue;
            }
            double sx = fx - 0.5 < 0 ? 0 : fx - 0.5;
            int32_t x0 = (int32_t)sx < sw - 1 ? (int32_t)sx : sw - 1, x1 = x0 + 1 < sw ? x0 + 1 : sw - 1;
            float tx = (float)(sx - x0);
            for (int k = 0; k < 3; k++) {
                float a = img[((size_t)y0 * sw + x0) * 3 + k], b = img[((size_t)y0 * sw + x1) * 3 + k];
                float p = img[((size_t)y1 * sw + x0) * 3 + k], q = img[((size_t)y1 * sw + x1) * 3 + k];
                float top = a + (b - a) * tx, bot = p + (q - p) * tx;
                o[k] = ((top + (bot - top) * ty) / 255.0f - mean[k]) / std[k];
            }
            if (out_mask) {
                int32_t my = (int32_t)fy < sh ? (int32_t)fy : sh - 1, mx = (int32_t)fx < sw ? (int32_t)fx : sw - 1;
                out_mask[(size_t)y * ow + x] = mask ? mask[(size_t)my * sw + mx] : 0;
            }
        }
    }
}
