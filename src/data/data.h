/* data.h: what the files of the data module (COCO reader, masks, images, loader) share. */
#ifndef JX_DATA_H
#define JX_DATA_H

#include <jx/coco.h>

#include "ir.h"

/* Sets jx_errmsg() and returns code; the message names what failed, without a C place. */
#define jx__data_fail(code, ...) jx__fail((code), jx__noloc, NULL, __VA_ARGS__)
#define jx__data_nomem(what) jx__data_fail(JX_ERR_NOMEM, "%s: out of memory", (what))

/* Grows *buf (of *cap elements of size elt) to hold at least need; 0 on failure. */
int jx__data_reserve(void **buf, size_t *cap, size_t need, size_t elt);

/* Parses a JSON number's text (len bytes): correctly rounded like strtod, faster for the
 * short decimals COCO is made of. 0 when the text is not a number. */
int jx__data_parse_double(const char *s, size_t len, double *out);

#endif

/* Threefry-2x32, 20 rounds: x is encrypted in place with key k (JAX's threefry_2x32). */
void jx__threefry2x32(const uint32_t k[2], uint32_t x[2]);

/* A loaded instances file (coco.c builds the indexes, coco_json.c parses). Strings and
 * segmentation data live in a few pools that the public structs point into. */
struct jx_coco {
    jx_coco_image *images;
    jx_coco_category *cats;
    jx_coco_ann *anns;
    size_t n_images, n_cats, n_anns;
    char *strings;      /* every name, NUL-terminated */
    double *coords;     /* every polygon's coordinates */
    uint32_t *poly_len; /* every polygon's length */
    uint32_t *counts;   /* every RLE's runs */
    uint32_t *image_by_id, *cat_by_id; /* indices sorted by id */
    uint32_t *ann_start, *ann_list;    /* annotations of image i: ann_list[ann_start[i]..[i+1]] */
};

/* Offsets into the pools of an annotation while parsing (pointers come at the end). */
typedef struct jx__ann_off {
    size_t poly, coord, count;
} jx__ann_off;

/* Turns the parsed pools and offsets (strings: offsets into c->strings, (size_t)-1 for
 * none) into pointers, builds the indexes and checks what refers to what (ids, image
 * sizes). name is the file for messages. Frees offs; on failure c stays for jx_coco_free. */
jx_status jx__coco_finish(jx_coco *c, jx__ann_off *offs, const size_t *img_name, const size_t *cat_name,
                          const size_t *cat_super, const char *name);
