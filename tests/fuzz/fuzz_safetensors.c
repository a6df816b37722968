/* fuzz_safetensors.c: libFuzzer target for the checkpoint reader. Any input must either
 * be rejected with a message or give a header whose every tensor reads into an array of
 * exactly the size its entry declares; a crash, a leak or a hang is a bug in jx.
 *   build-fuzz/tests/fuzz/fuzz_safetensors -max_total_time=300 corpus-dir \
 *       tests/fuzz/corpus/fuzz_safetensors */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "safetensors.h"

static void bug(const char *what) {
    fprintf(stderr, "fuzz_safetensors: %s\n--- error: %s\n", what, jx_errmsg());
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return 0;
    jx_clear_error();
    jx__st_header h;
    if (jx__st_read_header(f, size, "fuzz.safetensors", &h) != JX_OK) {
        if (!jx_errmsg()[0]) bug("rejected without a message");
        fclose(f);
        return 0;
    }
    for (int i = 0; i < h.n; i++) {
        jx_array *a = jx__st_read_tensor(f, "fuzz.safetensors", &h, i);
        if (!a && jx_errcode() != JX_ERR_NOMEM && jx_errcode() != JX_ERR_SHAPE) bug("a validated tensor did not read");
        if (a && jx_array_nbytes(a) != h.t[i].end - h.t[i].begin) bug("a tensor read to the wrong size");
        jx_array_release(a);
    }
    jx__st_free(&h);
    fclose(f);
    return 0;
}
