/* collective.h: the runtime of pmap on CPU devices (collective.c, pmap_run.c), shared
 * by the interpreter and the jit's executor. A pmap runs its body once per device, each
 * on its own thread, with the axis name bound on that thread to (device index, size,
 * communicator); a collective equation looks its axis name up in the thread's bindings
 * and meets the other devices' threads in the communicator, through shared memory.
 * Private to src/. */
#ifndef JX_BACKENDS_COLLECTIVE_H
#define JX_BACKENDS_COLLECTIVE_H

#include "../trace/ir.h"

typedef struct jx__comm jx__comm;

/* A named axis bound on this thread: this device's index among size devices (global
 * across processes after jx_distributed_init), and among its process's local_size. */
typedef struct jx__axis_bind {
    const char *name;
    int index, size;
    int local_index, local_size;
    jx__comm *comm;
    const struct jx__axis_bind *outer; /* the binding this one shadows, or NULL */
} jx__axis_bind;

/* The binding of `name` on this thread (innermost first), or NULL. */
const jx__axis_bind *jx__axis_lookup(const char *name);

/* Runs collective equation e (psum, pmax, pmin, all_gather, ppermute, all_to_all,
 * axis_index) on this device's operand x (NULL for axis_index) with the other devices
 * bound to e's axis name; *out receives a new array of aval oav. An axis name bound on
 * no thread is the user's error at e's line; a device that failed elsewhere makes the
 * others fail here ("another device failed"), and a collective some device never reaches
 * fails after JX_COLLECTIVE_TIMEOUT seconds (default 300) instead of hanging. */
jx_status jx__collective_run(const jx__eqn *e, const jx_array *x, const jx_aval *oav, jx_array **out);

/* What runs the body of a pmap on one device: ctx is the caller's, in[] the device's
 * slices (borrowed), out[] receives new references. */
typedef jx_status (*jx__pmap_body_fn)(void *ctx, int device, jx_array *const *in, jx_array **out);

/* Runs pmap equation e: slices in[] along the in_axes, runs body on axis_size threads
 * (device d on thread d, its axis name bound), stacks the outputs along the out_axes
 * into out[] (new references of avals oav). The first failing device's error is
 * reported (the others stop at their next collective). */
jx_status jx__pmap_run(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out,
                       jx__pmap_body_fn body, void *ctx);



/* ------------------------------------------------------------------ for pmap_run.c */

jx__comm *jx__comm_new(int n); /* NULL with the error set */
void jx__comm_free(jx__comm *c);
/* Device `device` failed: every device waiting in c, or arriving later, fails. */
void jx__comm_abort(jx__comm *c, int device);
/* Makes b this thread's innermost binding (b->outer must be the current one); returns
 * the previous innermost, to restore with jx__axis_restore. */
const jx__axis_bind *jx__axis_push(const jx__axis_bind *b);
void jx__axis_restore(const jx__axis_bind *prev);
const jx__axis_bind *jx__axis_top(void);
/* The error a device reports when it stopped because another one failed. */
bool jx__comm_is_abort_error(void);

/* ------------------------------------------------------------------ across processes (dist.c) */

/* Whether jx_distributed_init joined a job of several processes. */
bool jx__dist_active(void);
/* Combines this process's result y of collective e (psum/pmax/pmin: reduced over its
 * devices; all_gather: its block filled) with the other processes', in place; or, for
 * psum/pmax/pmin with send not NULL (one device per process), reduces send (y's size)
 * into y, which need not be initialised. */
jx_status jx__dist_combine(const jx__eqn *e, const char *name, const void *send, jx_array *y);
/* ppermute across processes, for the process whose devices are first .. first + L - 1
 * (run by its device 0): sends slot[i] (device first + i's operand) where a pair of e
 * sends it to another process's device, and receives into res[i]->data (device first +
 * i's result) where a pair from another process's device sends to it; point to point,
 * every message tagged with its receiving device. Pairs within the process are left to
 * the caller. */
jx_status jx__dist_ppermute(const jx__eqn *e, const char *name, int first, int L, const jx_array *const *slot,
                            jx_array *const *res);
/* all_to_all's exchange: every process sends `block` bytes of send to each process (the
 * blocks in process order) and receives each process's block into recv, in process order
 * (MPI_Alltoall). */
jx_status jx__dist_all_to_all(const jx__eqn *e, const char *name, const void *send, void *recv, size_t block);
/* psum/pmax/pmin of the CUDA device array x (one device per process) over the processes
 * with NCCL (dlopen'ed, nccl.c): *y gets a new device array of aval oav. Fails naming the
 * axis where some process lacks NCCL. */
jx_status jx__dist_combine_device(const jx__eqn *e, const char *name, const jx_array *x, const jx_aval *oav,
                                  jx_array **y);
#endif
