/* array_print.c: numpy-like printing of host arrays, eliding the middle of long dims. */
#include <math.h>
#include <stdio.h>

#include "../trace/ir.h"

enum { EDGE = 3, ELIDE_OVER = 1000 };

static void print_elem(FILE *out, const jx_array *a, int64_t i) {
    double v = jx_array_get(a, i);
    switch (a->aval.dtype) {
    case JX_BOOL: fputs(v != 0 ? "true" : "false", out); break;
    case JX_I64: fprintf(out, "%lld", (long long)((const int64_t *)a->data)[i]); break;
    case JX_U8:
    case JX_I32:
    case JX_U32: fprintf(out, "%.0f", v); break;
    default:
        if (isnan(v)) fputs("nan", out);
        else if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", out);
        else fprintf(out, "%.6g", v);
    }
}

/* Prints dims [d, rank) of the block starting at flat offset base. */
static void print_dims(FILE *out, const jx_array *a, int d, int64_t base, int64_t stride, bool elide) {
    int64_t n = a->aval.shape[d];
    int64_t inner = stride / (n ? n : 1);
    fputc('[', out);
    for (int64_t i = 0; i < n; i++) {
        if (elide && n > 2 * EDGE && i == EDGE) {
            fputs("..., ", out);
            i = n - EDGE;
        }
        if (d + 1 == a->aval.rank)
            print_elem(out, a, base + i);
        else
            print_dims(out, a, d + 1, base + i * inner, inner, elide);
        if (i + 1 < n) fputs(", ", out);
    }
    fputc(']', out);
}

jx_status jx_array_print(FILE *out, const jx_array *a) {
    if (!out || !a) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_array_print", "stream or array is NULL");
    if (!jx__array_host((jx_array *)a)) return jx_errcode();
    fprintf(out, "%s ", jx__avs(&a->aval));
    if (a->aval.rank == 0) {
        print_elem(out, a, 0);
    } else {
        int64_t size = jx_aval_size(&a->aval);
        print_dims(out, a, 0, 0, size, size > ELIDE_OVER);
    }
    fputc('\n', out);
    return ferror(out) ? jx__fail(JX_ERR_IO, jx__noloc, "jx_array_print", "write failed") : JX_OK;
}
