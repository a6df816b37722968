/* test_nccl.c: the NCCL binding (src/backends/nccl.c), dlopen'ed. Everywhere: without
 * libnccl.so.2 its calls fail with a message naming the missing library (checked where
 * NCCL is absent). With NCCL and a GPU: a single-rank communicator's all-reduce of a
 * device buffer returns the buffer (the unmapped value). Without them the suite reports
 * itself skipped (exit 77): it has not yet run on a GPU. */
#include <stdio.h>
#include <string.h>

#include "../../src/backends/nccl.h"
#include "../../src/jit/jit.h"
#include "harness.h"

int main(void) {
    char why[512] = "";
    unsigned char id[JX__NCCL_ID_BYTES];
    if (!jx__nccl_load(why, sizeof why)) {
        jx_status st = jx__nccl_unique_id(id);
        if (st != JX_ERR_UNSUPPORTED || !strstr(jx_errmsg(), "nccl: no NCCL: libnccl.so.2 not found")) {
            printf("FAIL: without NCCL: status %d, message '%s'\n", (int)st, jx_errmsg());
            return 1;
        }
        printf("without NCCL the binding says: %s\nskipped: %s\n", jx_errmsg(), why);
        return 77;
    }
    float v[4] = {1, -2, 3.5f, 1e-3f};
    jx_array *h = jx_array_new(JX_F32, JX_INTS(4), v), *d = h ? jx_array_to(h, JX_DEVICE_CUDA) : NULL;
    if (!d || !d->dev) {
        printf("skipped: NCCL is here but no CUDA device (%s)\n", jx_errmsg());
        jx_array_release(h);
        jx_array_release(d);
        return 77;
    }
    jx__nccl *c = NULL;
    jx_array *y = jx_array_new(JX_F32, JX_INTS(4), NULL), *yd = y ? jx_array_to(y, JX_DEVICE_CUDA) : NULL;
    int ok = yd && yd->dev && jx__nccl_unique_id(id) == JX_OK && jx__nccl_comm_init(1, 0, id, &c) == JX_OK &&
             jx__nccl_allreduce(c, d->dev, yd->dev, 4, JX_F32, JX_PRIM_PSUM) == JX_OK && d->be->sync() == JX_OK;
    jx_array *back = ok ? jx_array_to(yd, JX_DEVICE_CPU) : NULL;
    ok = ok && back && memcmp(jx_array_data(back), v, sizeof v) == 0;
    printf("%s: single-rank NCCL all-reduce of a device buffer%s%s\n", ok ? "ok" : "FAIL", ok ? "" : ": ",
           ok ? "" : jx_errmsg());
    jx__nccl_comm_free(c);
    jx_array_release(back), jx_array_release(yd), jx_array_release(y), jx_array_release(d), jx_array_release(h);
    return ok ? 0 : 1;
}
