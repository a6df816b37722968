/* jx/idx.h: a reader for the IDX files MNIST and Fashion-MNIST ship in (gzipped or raw);
 * jx/batches.h makes training batches of what it reads.
 *
 * An IDX file is a big-endian header, magic 0x000008RR (0x08: unsigned bytes, RR: the
 * rank), one u32 per dimension, then the bytes row-major. Labels are rank 1 (magic
 * 0x00000801), images rank 3 (0x00000803: count, rows, cols). Errors never abort: they
 * come back as a message naming the file, e.g.
 *   "train-images-idx3-ubyte.gz: not an IDX file (magic 0x1f8b0808)",
 * written into the caller's err buffer and also left in jx_errmsg() (JX_ERR_IO). */
#ifndef JX_IDX_H
#define JX_IDX_H

#include <jx.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { JX_IDX_ERR_MAX = 512 }; /* room for any message this reader writes */

/* What a caller expects to find: JX_IDX_ANY accepts either kind. */
typedef enum jx_idx_kind { JX_IDX_ANY = 0, JX_IDX_LABELS = 1, JX_IDX_IMAGES = 3 } jx_idx_kind;

/* Reads the IDX file at path (gzip or raw: zlib reads both) into a new u8 array of shape
 * (count) for labels or (count, rows, cols) for images; release it when done. Returns
 * NULL on failure with a message naming path in err (errlen bytes, always terminated):
 * a file that cannot be opened (strerror), a wrong magic, a kind other than `kind`, an
 * image size of 0, a header or data shorter than the header says, more data than the
 * header declares ("5 bytes more than the header declares (3 labels)"), a corrupt gzip
 * stream.
 * Nothing is left allocated on failure. */
jx_array *jx_idx_read(const char *path, jx_idx_kind kind, char *err, size_t errlen);

/* Checks that every label in `labels` (a rank-1 u8 array, as jx_idx_read returns) is a class
 * in 0..nclasses-1. Returns 0, or -1 with err naming `name` (the file, say), the first bad
 * index and its value: "t10k-labels-idx1-ubyte.gz: label 17 is 200, outside the 10 classes
 * 0..9". A trainer calls it before training, so a bad label is not silently a wrong
 * one-hot row. */
int jx_idx_check_labels(const jx_array *labels, int nclasses, const char *name, char *err,
                     size_t errlen);

/* One split of an MNIST-style data set: images (n, rows, cols) and labels (n), both u8. */
typedef struct jx_idx_split {
    jx_array *images;
    jx_array *labels;
} jx_idx_split;

/* Loads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and `<dir>/<prefix>-labels-idx1-ubyte[.gz]`
 * (prefix "train" or "t10k"; the .gz name is tried first) and checks they hold as many
 * images as labels. On success fills *out (release both arrays with jx_idx_split_free) and
 * returns 0; on failure returns -1 with the message in err and *out empty. */
int jx_idx_load_split(const char *dir, const char *prefix, jx_idx_split *out, char *err,
                   size_t errlen);
void jx_idx_split_free(jx_idx_split *s); /* releases both arrays and empties *s; NULL is fine */

#ifdef __cplusplus
}
#endif

#endif /* JX_IDX_H */
