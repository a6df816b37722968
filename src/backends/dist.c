/* dist.c: processes and hosts through MPI (Open MPI). jx_distributed_init joins the job
 * mpirun started (rank, size, local rank from MPI), numbers the devices globally, and
 * from then on a pmap's collectives span every process's devices: the devices of one
 * process combine through shared memory first (collective.c), then one thread per
 * process combines the processes' results with MPI on CPU buffers. A program started
 * without mpirun stays a single process and never touches MPI. Built without MPI
 * (-DJX_MPI=OFF, or no MPI found), jx_distributed_init reports that under mpirun and is a
 * no-op otherwise. MPI calls are nonblocking and polled, so that a process that never
 * reaches a collective makes the others fail after JX_COLLECTIVE_TIMEOUT seconds instead
 * of hanging. NCCL for GPU buffers: TODO (the CUDA backend's side; docs/pmap.md). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collective.h"
#include "devices.h"

#ifdef JX_HAVE_MPI
#include <mpi.h>
#endif

static bool active; /* jx_distributed_init joined a job of more than one process */
static int local_rank;

bool jx__dist_active(void) { return active; }
int jx_distributed_local_rank(void) { return local_rank; }

/* Whether mpirun (Open MPI) or another PMI launcher started this process. */
static bool launched(void) { return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE"); }

#ifdef JX_HAVE_MPI

int jx_distributed_built(void) { return 1; }

jx_status jx_distributed_init_at(jx_loc loc) {
    if (active || !launched()) return JX_OK;
    int provided = 0, rank = 0, size = 1, lrank = 0, inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        return jx__fail(JX_ERR_RUNTIME, loc, "distributed_init", "MPI_Init_thread failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &lrank);
        MPI_Comm_free(&node);
    }
    /* every process must expose the same number of devices */
    int mine = jx_local_device_count(), lo = mine, hi = mine;
    MPI_Allreduce(&mine, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (lo != hi)
        return jx__fail(JX_ERR_ARG, loc, "distributed_init",
                        "processes expose different device counts (%d to %d): set JX_CPU_DEVICES alike", lo, hi);
    local_rank = lrank;
    jx__devices_set_process(rank, size);
    active = size > 1;
    return JX_OK;
}

jx_status jx_distributed_shutdown(void) {
    int inited = 0, done = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&done);
    if (inited && !done) MPI_Finalize();
    active = false;
    jx__devices_set_process(0, 1);
    return JX_OK;
}

static MPI_Datatype mpi_type(jx_dtype t) {
    switch (t) {
    case JX_F32: return MPI_FLOAT;
    case JX_F64: return MPI_DOUBLE;
    case JX_I32: return MPI_INT32_T;
    case JX_U32: return MPI_UINT32_T;
    case JX_I64: return MPI_INT64_T;
    default: return MPI_UINT8_T; /* u8, bool */
    }
}

/* JX_COLLECTIVE_TIMEOUT in seconds (default 300). */
static double timeout_s(void) {
    const char *e = getenv("JX_COLLECTIVE_TIMEOUT");
    double t = e && *e ? atof(e) : 300;
    return t > 0 ? t : 300;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Waits for req, polling; after the timeout the request is left pending (the job cannot
 * go on: the caller reports it, and mpirun ends the job when this process exits). */
static jx_status wait(MPI_Request *req, const jx__eqn *e, const char *name) {
    double t = timeout_s(), end = now() + t;
    struct timespec nap = {0, 20000};
    for (int spins = 0;; spins++) {
        int done = 0;
        if (MPI_Test(req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return jx__fail(JX_ERR_RUNTIME, e->loc, jx__prims[e->prim].name, "MPI failed across the processes of axis '%s'",
                            name);
        if (done) return JX_OK;
        if (now() > end)
            return jx__fail(JX_ERR_RUNTIME, e->loc, jx__prims[e->prim].name,
                            "timed out after %g s waiting for the other processes of axis '%s' (JX_COLLECTIVE_TIMEOUT): "
                            "a process failed or never reached this collective",
                            t, name);
        if (spins > 1000) nanosleep(&nap, NULL); /* spin briefly first: most collectives are quick */
    }
}

jx_status jx__dist_combine(const jx__eqn *e, const char *name, jx_array *y) {
    MPI_Request req;
    int rc;
    if (e->prim == JX_PRIM_ALL_GATHER) { /* each process filled its own block of y */
        int p = jx_process_count();
        rc = MPI_Iallgather(MPI_IN_PLACE, 0, MPI_BYTE, y->data, (int)(y->nbytes / (size_t)p), MPI_BYTE, MPI_COMM_WORLD,
                            &req);
    } else {
        MPI_Op op = e->prim == JX_PRIM_PSUM ? MPI_SUM : e->prim == JX_PRIM_PMAX ? MPI_MAX : MPI_MIN;
        rc = MPI_Iallreduce(MPI_IN_PLACE, y->data, (int)jx_aval_size(&y->aval), mpi_type(y->aval.dtype), op,
                            MPI_COMM_WORLD, &req);
    }
    if (rc != MPI_SUCCESS)
        return jx__fail(JX_ERR_RUNTIME, e->loc, jx__prims[e->prim].name, "MPI failed across the processes of axis '%s'",
                        name);
    return wait(&req, e, name);
}

#else /* built without MPI */

int jx_distributed_built(void) { return 0; }

jx_status jx_distributed_init_at(jx_loc loc) {
    if (!launched()) return JX_OK;
    return jx__fail(JX_ERR_UNSUPPORTED, loc, "distributed_init",
                    "started by mpirun, but jx was built without MPI (-DJX_MPI=ON with libopenmpi-dev)");
}

jx_status jx_distributed_shutdown(void) { return JX_OK; }

jx_status jx__dist_combine(const jx__eqn *e, const char *name, jx_array *y) {
    (void)y;
    return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "axis '%s' spans processes without MPI", name);
}

#endif
