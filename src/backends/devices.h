/* devices.h: the device list's internals (devices.c), for the distributed runtime. */
#ifndef JX_BACKENDS_DEVICES_H
#define JX_BACKENDS_DEVICES_H

#include "../trace/ir.h"

/* Records this process's place among count processes (jx_distributed_init). */
void jx__devices_set_process(int index, int count);

/* The error for an invalid JX_CPU_DEVICES (then one device is exposed), unless the count
 * was set since with jx_set_cpu_device_count; JX_OK otherwise. */
jx_status jx__devices_check(jx_loc loc, const char *what);

#endif
