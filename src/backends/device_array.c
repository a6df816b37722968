/* device_array.c: moving arrays between the host and a device (jx_array_to). A device
 * array holds a buffer from its backend's allocator (jx__array_on_device, array.c); the
 * CUDA executor reads such inputs in place and returns device outputs (exec.c there). */
#include "backend.h"

jx_device jx_array_device(const jx_array *a) { return a ? a->device : JX_DEVICE_CPU; }

/* "jx_array_to: f32[3] to cuda: <the backend's message>" with the backend's code. */
static jx_array *fail_to(const jx_array *a, const char *where) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", jx_errmsg());
    jx__fail(jx_errcode(), jx__noloc, "jx_array_to", "%s to %s: %s", jx__avs(&a->aval), where, msg);
    return NULL;
}

jx_array *jx_array_to(jx_array *a, jx_device device) {
    if (!a) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_array_to", "array is NULL"), NULL;
    if (device == JX_DEVICE_CPU || device == JX_DEVICE_INTERP) {
        if (!a->dev) return jx_array_retain(a);
        const void *d = jx__array_host(a);
        return d ? jx_array_new(a->aval.dtype, (jx_ints){a->aval.shape, a->aval.rank}, d) : fail_to(a, "the host");
    }
    if (device != JX_DEVICE_CUDA)
        return jx__fail(JX_ERR_ARG, jx__noloc, "jx_array_to", "no device %d", (int)device), NULL;
    if (a->device == device) return jx_array_retain(a);
#ifdef JX_CUDA
    const jx__backend *be = &jx__cuda_backend;
    const void *host = jx__array_host(a);
    if (host && be->upload) { /* queued: overlaps the device's work */
        void *dev = be->upload(host, a->nbytes);
        jx_array *x = dev ? jx__array_on_device(&a->aval, dev, be, device) : NULL;
        if (dev && !x) be->free(dev);
        return x ? x : fail_to(a, be->name);
    }
    void *dev = host ? be->alloc(a->nbytes) : NULL;
    if (!dev) return fail_to(a, be->name);
    jx_array *x = NULL;
    if (be->copy_in(dev, host, a->nbytes) != JX_OK || !(x = jx__array_on_device(&a->aval, dev, be, device))) {
        be->free(dev);
        return fail_to(a, be->name);
    }
    return x;
#else
    return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "jx_array_to",
                    "%s to cuda: this build of jx has no CUDA backend (JX_CUDA=OFF)", jx__avs(&a->aval)), NULL;
#endif
}
