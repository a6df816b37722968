/* devices.c: the device list. A process exposes N CPU devices (JX_CPU_DEVICES=N in the
 * environment, or jx_set_cpu_device_count, like JAX's
 * --xla_force_host_platform_device_count); pmap runs each device's share on its own
 * thread. With several processes (jx_distributed_init) the devices are numbered
 * globally: process p's devices follow those of processes 0..p-1, so every process
 * sees the same list. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices.h"

#define MAX_CPU_DEVICES 1024

static atomic_int cpu_count;      /* 0: not yet read from the environment */
static atomic_int process_index_; /* set by jx_distributed_init */
static atomic_int process_count_ = 1;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char bad_env[64]; /* an invalid JX_CPU_DEVICES, written once by read_env */

static void read_env(void) {
    const char *e = getenv("JX_CPU_DEVICES");
    char *end = NULL;
    long n = e && *e ? strtol(e, &end, 10) : 1;
    if (e && *e && (*end || n < 1 || n > MAX_CPU_DEVICES)) { /* jx__devices_check names it */
        snprintf(bad_env, sizeof bad_env, "%s", e);
        n = 1;
    }
    int zero = 0;
    atomic_compare_exchange_strong(&cpu_count, &zero, (int)n);
}

int jx_local_device_count(void) {
    pthread_once(&env_once, read_env);
    return atomic_load(&cpu_count);
}

int jx_process_index(void) { return atomic_load(&process_index_); }
int jx_process_count(void) { return atomic_load(&process_count_); }

/* Every process exposes the same number of devices (checked by jx_distributed_init). */
int jx_device_count(void) { return jx_local_device_count() * jx_process_count(); }

jx_status jx_set_cpu_device_count_at(jx_loc loc, int n) {
    if (n < 1 || n > MAX_CPU_DEVICES)
        return jx__fail(JX_ERR_ARG, loc, "set_cpu_device_count", "%d devices: the count must be in [1, %d]", n,
                        MAX_CPU_DEVICES);
    pthread_once(&env_once, read_env);
    atomic_store(&cpu_count, n);
    return JX_OK;
}

jx_status jx_device_get_at(jx_loc loc, int id, jx_device_info *out) {
    int local = jx_local_device_count(), total = local * jx_process_count();
    if (id < 0 || id >= total)
        return jx__fail(JX_ERR_ARG, loc, "device_get", "device %d does not exist (there are %d)", id, total);
    out->id = id;
    out->process_index = id / local;
    out->local_index = id % local;
    out->kind = JX_DEVICE_CPU;
    return JX_OK;
}

int jx_devices(jx_device_info *out, int max) {
    int total = jx_device_count();
    for (int i = 0; i < total && i < max && out; i++) jx_device_get_at(jx__noloc, i, &out[i]);
    return total;
}

const char *jx_device_kind_name(jx_device kind) {
    switch (kind) {
    case JX_DEVICE_CPU: return "cpu";
    case JX_DEVICE_INTERP: return "interp";
    case JX_DEVICE_CUDA: return "cuda";
    default: return "?";
    }
}

void jx__devices_set_process(int index, int count) {
    atomic_store(&process_index_, index);
    atomic_store(&process_count_, count);
}

jx_status jx__devices_check(jx_loc loc, const char *what) {
    pthread_once(&env_once, read_env);
    if (!bad_env[0] || atomic_load(&cpu_count) != 1) return JX_OK;
    return jx__fail(JX_ERR_ARG, loc, what, "JX_CPU_DEVICES='%s' is not a device count in [1, %d]", bad_env,
                    MAX_CPU_DEVICES);
}
