/* idx.h: a reader for the IDX files MNIST and Fashion-MNIST ship in (gzipped or raw).
 *
 * An IDX file is a big-endian header, magic 0x000008RR (0x08: unsigned bytes, RR: the
 * rank), one u32 per dimension, then the bytes row-major. Labels are rank 1 (magic
 * 0x00000801), images rank 3 (0x00000803: count, rows, cols). Errors never abort: they
 * come back as a message naming the file, e.g.
 *   "train-images-idx3-ubyte.gz: not an IDX file (magic 0x1f8b0808)". */
#ifndef JX_EXAMPLES_IDX_H
#define JX_EXAMPLES_IDX_H

#include <jx.h>
#include <stddef.h>

enum { IDX_ERR_MAX = 512 }; /* room for any message this reader writes */

/* What a caller expects to find: IDX_ANY accepts either kind. */
typedef enum idx_kind { IDX_ANY = 0, IDX_LABELS = 1, IDX_IMAGES = 3 } idx_kind;

/* Reads the IDX file at path (gzip or raw: zlib reads both) into a new u8 array of shape
 * (count) for labels or (count, rows, cols) for images; release it when done. Returns
 * NULL on failure with a message naming path in err (errlen bytes, always terminated):
 * a file that cannot be opened (strerror), a wrong magic, a kind other than `kind`, an
 * image size of 0, a header or data shorter than the header says, more data than the
 * header declares ("5 bytes more than the header declares (3 labels)"), a corrupt gzip
 * stream.
 * Nothing is left allocated on failure. */
jx_array *idx_read(const char *path, idx_kind kind, char *err, size_t errlen);

/* Checks that every label in `labels` (a rank-1 u8 array, as idx_read returns) is a class
 * in 0..nclasses-1. Returns 0, or -1 with err naming `name` (the file, say), the first bad
 * index and its value: "t10k-labels-idx1-ubyte.gz: label 17 is 200, outside the 10 classes
 * 0..9". A trainer calls it before training, so a bad label is not silently a wrong
 * one-hot row. */
int idx_check_labels(const jx_array *labels, int nclasses, const char *name, char *err,
                     size_t errlen);

/* One split of an MNIST-style data set: images (n, rows, cols) and labels (n), both u8. */
typedef struct idx_split {
    jx_array *images;
    jx_array *labels;
} idx_split;

/* Loads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and `<dir>/<prefix>-labels-idx1-ubyte[.gz]`
 * (prefix "train" or "t10k"; the .gz name is tried first) and checks they hold as many
 * images as labels. On success fills *out (release both arrays with idx_split_free) and
 * returns 0; on failure returns -1 with the message in err and *out empty. */
int idx_load_split(const char *dir, const char *prefix, idx_split *out, char *err,
                   size_t errlen);
void idx_split_free(idx_split *s); /* releases both arrays and empties *s; NULL is fine */

#endif /* JX_EXAMPLES_IDX_H */
