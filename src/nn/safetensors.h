/* safetensors.h: the safetensors reader's pieces shared by checkpoint.c and the fuzz
 * target: parse and validate a header from a stream, read one tensor. Private to src/nn. */
#ifndef JX_NN_SAFETENSORS_H
#define JX_NN_SAFETENSORS_H

#include <stdio.h>

#include <jx/checkpoint.h>

typedef struct jx__st_tensor {
    char *name;
    jx_dtype dtype;
    jx_aval aval;
    uint64_t begin, end; /* byte range in the data section */
} jx__st_tensor;

typedef struct jx__st_header {
    int n;
    jx__st_tensor *t;
    jx_ckpt_meta meta;
    uint64_t data_start; /* file offset of the data section */
} jx__st_header;

/* Reads and validates the header of a safetensors stream of file_size bytes: every
 * tensor's dtype, shape and byte range (inside the file, of the size its shape needs).
 * name is the file's name for messages. JX_OK, or an error naming the file (and the
 * tensor) with *h empty. Free with jx__st_free. */
jx_status jx__st_read_header(FILE *f, uint64_t file_size, const char *name, jx__st_header *h);
void jx__st_free(jx__st_header *h);
/* Index of the tensor named s, or -1. */
int jx__st_find(const jx__st_header *h, const char *s);
/* Reads tensor i into a new host array (NULL with the error set, naming file and tensor). */
jx_array *jx__st_read_tensor(FILE *f, const char *name, const jx__st_header *h, int i);
/* The safetensors name of a dtype ("F32"), NULL if it has none. */
const char *jx__st_dtype_name(jx_dtype t);

#endif
