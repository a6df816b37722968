/* jx/coco.h: COCO data for C programs: the instances JSON reader, masks that match
 * pycocotools bit for bit, JPEG/PNG images, resizing and augmentation, and a batch loader
 * that decodes on worker threads.
 *
 *     jx_coco *c;
 *     if (jx_coco_load("coco/annotations/instances_val2017.json", &c) != JX_OK) {
 *         fprintf(stderr, "%s\n", jx_errmsg());   // names the file and the JSON path
 *         return 1;
 *     }
 *     size_t n;
 *     const jx_coco_image *im = jx_coco_images(c, &n);
 *     uint8_t *mask = malloc((size_t)im[0].height * im[0].width);
 *     jx_coco_semantic_mask(c, 0, NULL, mask);     // category id per pixel, 0, 255
 *     free(mask);
 *     jx_coco_free(c);
 *
 * Errors: every function that can fail returns a jx_status and sets jx_errmsg() (see jx.h);
 * nothing here aborts or exits. Memory: a function that hands out memory says how to free
 * it. The module uses libc, YAJL (JSON), libturbojpeg and libpng; not the tracer or the jit.
 * docs/coco.md describes the mask rules and the loader. */
#ifndef JX_COCO_H
#define JX_COCO_H

#include <stddef.h>
#include <stdint.h>

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ RLE masks */

/* A binary mask of h x w pixels as run lengths in COCO's order: column by column
 * (Fortran order), starting with a run of zeros (possibly empty), alternating 0 and 1.
 * The counts of a valid RLE sum to h*w. */
typedef struct jx_rle {
    uint32_t h, w;
    size_t m;         /* number of runs */
    uint32_t *counts; /* m run lengths; owned by whoever made the RLE (see each function) */
} jx_rle;

/* Frees the counts of an RLE made by a jx_rle_* function and zeroes it. NULL is fine. */
void jx_rle_free(jx_rle *r);

/* pycocotools rleFrPoly: rasterises a polygon of k points xy = (x0,y0,x1,y1,...) on an
 * h x w image, the same pixels as frPyObjects(poly, h, w). Points may lie outside the image.
 * Fills *out (free with jx_rle_free). JX_ERR_ARG for k == 0, a coordinate that is not finite
 * or beyond +-1e6 pixels, or h*w == 0. */
jx_status jx_rle_from_polygon(const double *xy, size_t k, uint32_t h, uint32_t w, jx_rle *out);

/* pycocotools rleFrBbox: the box (x, y, width, height) as a 4-point polygon. */
jx_status jx_rle_from_bbox(const double bbox[4], uint32_t h, uint32_t w, jx_rle *out);

/* pycocotools encode: mask is h x w row-major (C order), nonzero is foreground. */
jx_status jx_rle_encode(const uint8_t *mask, uint32_t h, uint32_t w, jx_rle *out);

/* pycocotools decode: writes h x w bytes row-major, 1 inside the mask, 0 outside.
 * JX_ERR_ARG (nothing written) when the counts do not sum to h*w. */
jx_status jx_rle_decode(const jx_rle *r, uint8_t *mask);

/* pycocotools merge: union (intersect = 0) or intersection of n >= 1 RLEs of one size. */
jx_status jx_rle_merge(const jx_rle *rs, size_t n, int intersect, jx_rle *out);

/* pycocotools area: the number of foreground pixels. */
uint64_t jx_rle_area(const jx_rle *r);

/* pycocotools' compressed string form (LEB128-like, 6 bits per character '0'..'o').
 * Returns a NUL-terminated string to free with free(), or NULL when out of memory. */
char *jx_rle_to_string(const jx_rle *r);

/* Parses the compressed form (len bytes, no NUL needed) of an h x w mask into *out (free
 * with jx_rle_free). JX_ERR_ARG, naming the offending character, for a character outside
 * '0'..'o', a truncated value, or a count outside 0..2^32-1; the sum is not checked here
 * (jx_rle_decode does). */
jx_status jx_rle_from_string(const char *s, size_t len, uint32_t h, uint32_t w, jx_rle *out);

/* ------------------------------------------------------------------ the instances file */

typedef struct jx_coco jx_coco; /* a loaded instances file; immutable, shareable by threads */

typedef struct jx_coco_image {
    int64_t id;
    int32_t width, height;
    const char *file_name;
} jx_coco_image;

typedef struct jx_coco_category {
    int64_t id;
    const char *name, *supercategory; /* "" when absent */
} jx_coco_category;

typedef enum jx_coco_seg_kind {
    JX_COCO_SEG_NONE,       /* no "segmentation" field */
    JX_COCO_SEG_POLYGONS,   /* a list of polygons */
    JX_COCO_SEG_RLE,        /* {"size": [h, w], "counts": [...]} (uncompressed) */
    JX_COCO_SEG_RLE_STRING, /* {"size": [h, w], "counts": "..."} (compressed) */
} jx_coco_seg_kind;

typedef struct jx_coco_ann {
    int64_t id, image_id, category_id;
    uint32_t image, category; /* indices into jx_coco_images and jx_coco_categories */
    int iscrowd;
    double bbox[4]; /* x, y, width, height; zeros when absent */
    double area;    /* as written in the file; 0 when absent */
    jx_coco_seg_kind kind;
    /* POLYGONS: n_polys polygons, polygon i has poly_len[i] numbers (x,y pairs) and they
     * follow each other in coords. */
    uint32_t n_polys;
    const uint32_t *poly_len;
    const double *coords;
    /* RLE and RLE_STRING: the runs (strings are decoded while loading); borrowed. */
    jx_rle rle;
} jx_coco_ann;

/* Reads an instances JSON file (COCO's format; other top-level keys are skipped) with a
 * streaming parser, so memory is about what the annotations hold: the full
 * instances_train2017.json (448 MB) loads in under 0.5 GB. On success *out holds the data
 * (free with jx_coco_free). On failure *out is NULL and jx_errmsg() names the file and the
 * JSON path, e.g. "x.json: annotations[17].segmentation[0]: a polygon has an odd number of
 * coordinates (7)", or the line and column of a syntax error. Checked: syntax, field types,
 * required fields (images: id, width, height, file_name; annotations: id, image_id,
 * category_id; categories: id, name), duplicate ids, an annotation's image and category
 * exist, polygons have an even number (>= 2) of finite coordinates, RLE sizes equal their
 * image's and counts sum to h*w. */
jx_status jx_coco_load(const char *path, jx_coco **out);

/* The same from memory; name is used in messages. The buffer is not kept. */
jx_status jx_coco_load_buffer(const char *name, const void *data, size_t len, jx_coco **out);

/* Frees everything jx_coco_load returned, including every borrowed pointer. NULL is fine. */
void jx_coco_free(jx_coco *c);

/* The arrays, in file order, with their length in *n; borrowed from c. */
const jx_coco_image *jx_coco_images(const jx_coco *c, size_t *n);
const jx_coco_category *jx_coco_categories(const jx_coco *c, size_t *n);
const jx_coco_ann *jx_coco_anns(const jx_coco *c, size_t *n);

/* The annotations of image index i (indices into jx_coco_anns, in file order); borrowed. */
const uint32_t *jx_coco_image_anns(const jx_coco *c, size_t i, size_t *n);

/* Index of the image / category with this id, or -1. */
ptrdiff_t jx_coco_find_image(const jx_coco *c, int64_t id);
ptrdiff_t jx_coco_find_category(const jx_coco *c, int64_t id);
/* Index of the category with this name, or -1. */
ptrdiff_t jx_coco_find_category_name(const jx_coco *c, const char *name);

/* pycocotools annToRLE: polygons are rasterised one by one (rleFrPoly) and merged; RLEs are
 * taken as they are. At the annotation's image size. Free with jx_rle_free. JX_ERR_ARG for
 * an annotation without segmentation. Where pycocotools fails, this gives a mask: a polygon
 * of 4 numbers is a 2-point polygon (frPyObjects would take the list for boxes and raise),
 * and an empty list is an empty mask. */
jx_status jx_coco_ann_rle(const jx_coco *c, const jx_coco_ann *a, jx_rle *out);

/* pycocotools annToMask: height x width bytes of the annotation's image, row-major, 0/1. */
jx_status jx_coco_ann_mask(const jx_coco *c, const jx_coco_ann *a, uint8_t *mask);

/* The semantic mask of image index i: height x width bytes, row-major. Every pixel starts
 * at 0 (background); crowd annotations whose label is not 0 paint 255 (ignore); then the
 * non-crowd annotations paint their label in order of decreasing area (the file's "area";
 * ties by increasing annotation id), so a smaller object in front of a larger one keeps its
 * pixels and an instance over a crowd region wins. The label is label_of[category index],
 * or the category id itself when label_of is NULL (it must then be 1..254); a label of 0
 * paints background. */
jx_status jx_coco_semantic_mask(const jx_coco *c, size_t i, const uint8_t *label_of, uint8_t *out);

/* ------------------------------------------------------------------ images */

/* An 8-bit image, height x width x channels, row-major (HWC). */
typedef struct jx_image {
    int32_t height, width, channels;
    uint8_t *data; /* malloc'd by the function that filled the struct; jx_image_free */
} jx_image;

void jx_image_free(jx_image *im); /* frees data and zeroes *im; NULL is fine */

/* Decodes a JPEG file to RGB (grey images are expanded) with libjpeg-turbo. Errors name
 * the file: missing or unreadable, not a JPEG, truncated or corrupt data (any warning of
 * the decoder is an error, so a truncated file is never silently padded). */
jx_status jx_image_read_jpeg(const char *path, jx_image *out);

/* The same from memory; name is used in messages. */
jx_status jx_image_decode_jpeg(const char *name, const void *data, size_t len, jx_image *out);

/* Writes an 8-bit PNG (channels 1 = grey, 3 = RGB) atomically (a temporary file in the same
 * folder, fsync, rename). */
jx_status jx_image_write_png(const char *path, const uint8_t *pixels, int32_t height, int32_t width,
                             int32_t channels);

/* Reads an 8-bit PNG as it is stored (grey, grey+alpha, RGB or RGBA; palettes expanded). */
jx_status jx_image_read_png(const char *path, jx_image *out);

/* Resizes src (sh x sw x c, u8) to dst (dh x dw x c, u8): bilinear with half-pixel centres
 * (PyTorch's align_corners=False, OpenCV's INTER_LINEAR, no antialiasing), rounded. */
void jx_resize_bilinear(const uint8_t *src, int32_t sh, int32_t sw, int32_t c, uint8_t *dst, int32_t dh,
                        int32_t dw);

/* Nearest-neighbour resize for label masks: dst pixel (y, x) takes src pixel
 * (floor((y + 0.5) * sh / dh), floor((x + 0.5) * sw / dw)). */
void jx_resize_nearest(const uint8_t *src, int32_t sh, int32_t sw, int32_t c, uint8_t *dst, int32_t dh,
                       int32_t dw);

/* ------------------------------------------------------------------ augmentation */

/* Counter-based random numbers: Threefry-2x32 with 20 rounds (JAX's PRNG). The stream's key
 * is threefry(seed, stream) and the result threefry(that key, (index, 0)), so the same
 * (seed, stream, index) gives the same 64 bits on any thread, in any order. */
uint64_t jx_rng_bits(uint64_t seed, uint64_t stream, uint32_t index);

/* One sample's geometric transform, from the output (oh x ow) back to the source image. */
typedef struct jx_augment {
    double scale_y, scale_x; /* output pixels per source pixel */
    double off_y, off_x;     /* top-left of the crop in the scaled image, in output pixels */
    int flip;                /* mirror left-right after cropping */
} jx_augment;

/* The transform of a sample of sh x sw to oh x ow. Without augment the source is stretched
 * to the output. With augment the stretched image is scaled again by a factor drawn
 * uniformly in [scale_min, scale_max], an oh x ow crop is taken at a uniform whole-pixel
 * offset (or centred, with padding, when the scaled image is smaller), and it is mirrored
 * with probability 1/2 when flip is set. The draws are jx_rng_bits(seed, stream, 0..3). */
jx_augment jx_augment_draw(int32_t sh, int32_t sw, int32_t oh, int32_t ow, int augment, double scale_min,
                           double scale_max, int flip, uint64_t seed, uint64_t stream);

/* Applies a transform: img (sh x sw x 3, u8) to out_img (oh x ow x 3 floats, NHWC's HWC),
 * bilinear, normalised as (v / 255 - mean[ch]) / std[ch], 0 outside the source; mask (sh x sw,
 * may be NULL) to out_mask (oh x ow), nearest, 255 (ignore) outside the source. */
void jx_augment_apply(const jx_augment *t, const uint8_t *img, const uint8_t *mask, int32_t sh, int32_t sw,
                      int32_t oh, int32_t ow, const float mean[3], const float std[3], float *out_img,
                      uint8_t *out_mask);

/* ------------------------------------------------------------------ the batch loader */

typedef struct jx_coco_loader jx_coco_loader;

typedef struct jx_coco_loader_opts {
    const jx_coco *coco;       /* borrowed; must outlive the loader */
    const char *image_dir;     /* folder of the images, e.g. coco/train2017 */
    const uint32_t *images;    /* image indices to use (copied); NULL: every image */
    size_t n_images;           /* length of images (ignored when images is NULL) */
    int32_t batch;             /* images per batch, >= 1 */
    int32_t height, width;     /* output size */
    const uint8_t *label_of;   /* per category index, as jx_coco_semantic_mask; copied */
    int augment;               /* random scale, crop, flip (else stretch to the output) */
    double scale_min, scale_max; /* augmentation scale range; 0, 0 means 0.75, 1.5 */
    int flip;                  /* random left-right flips when augmenting */
    int shuffle;               /* a new order each epoch */
    int drop_last;             /* skip the last partial batch */
    uint64_t seed;             /* with the epoch, decides order and augmentation */
    int threads;               /* worker threads; 0 decodes in jx_coco_loader_next */
    int prefetch;              /* batches prepared ahead (>= 1; 0 means 2) */
    float mean[3], std[3];     /* normalisation; all zero means ImageNet's */
} jx_coco_loader_opts;

/* One batch, borrowed from the loader until the next call of jx_coco_loader_next or
 * jx_coco_loader_epoch. Buffers are sized for opts.batch; only n are filled. */
typedef struct jx_coco_batch {
    int32_t n;              /* images in this batch; 0 at the end of the epoch */
    float *images;          /* n x height x width x 3 (NHWC) */
    uint8_t *labels;        /* n x height x width, labels with 0 background, 255 ignore */
    int32_t *labels_i32;    /* the same as int32 */
    const int64_t *ids;     /* the n image ids */
} jx_coco_batch;

/* Creates a loader and its threads (free with jx_coco_loader_free). JX_ERR_ARG naming the
 * option for a bad one. Nothing is decoded until jx_coco_loader_epoch. */
jx_status jx_coco_loader_new(const jx_coco_loader_opts *opts, jx_coco_loader **out);

/* Batches per epoch. */
size_t jx_coco_loader_batches(const jx_coco_loader *l);

/* Starts an epoch: order and augmentation follow (seed, epoch) only, so the batches are the
 * same bytes whatever the thread count. Workers start preparing the first batches. */
jx_status jx_coco_loader_epoch(jx_coco_loader *l, uint32_t epoch);

/* The next batch of the epoch (n == 0 after the last). An image that cannot be read (missing
 * file, corrupt or truncated JPEG, size differing from the annotations) fails the batch with
 * jx_errmsg() naming the file; the loader can continue with the next batch. */
jx_status jx_coco_loader_next(jx_coco_loader *l, jx_coco_batch *out);

/* Stops the threads and frees the loader. NULL is fine. */
void jx_coco_loader_free(jx_coco_loader *l);

#ifdef __cplusplus
}
#endif
#endif
