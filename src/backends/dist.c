/* dist.c: processes and hosts through MPI (Open MPI). jx_distributed_init joins the job
 * mpirun started (rank, size, local rank from MPI), numbers the devices globally, and
 * from then on a pmap's collectives span every process's devices: the devices of one
 * process combine through shared memory first (collective.c), then one thread per
 * process combines the processes' results with MPI on CPU buffers. A program started
 * without mpirun stays a single process and never touches MPI. Built without MPI
 * (-DJX_MPI=OFF, or no MPI found), jx_distributed_init reports that under mpirun and is a
 * no-op otherwise. A watchdog thread ends the job (MPI_Abort, with a message naming the
 * collective and the user's line) when a process waits in a collective longer than
 * JX_COLLECTIVE_TIMEOUT seconds, so a failed or stuck process never leaves the others
 * hanging. (Polling a nonblocking MPI_Iallreduce instead was twice as slow on 10 MB.)
 * ppermute goes point to point (MPI_Isend/MPI_Irecv per pair that crosses processes),
 * all_to_all through one MPI_Alltoall of the chunks; both only move bytes.
 * A psum/pmax/pmin whose operand is a CUDA buffer (one device per process) goes through
 * NCCL instead (nccl.c), its communicator's id exchanged over MPI; not yet run on a GPU. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "backend.h"
#include "collective.h"
#include "devices.h"
#include "nccl.h"

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

static void *watchdog(void *arg); /* below */
static bool wd_started;

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
    pthread_t wd;
    if (!wd_started && pthread_create(&wd, NULL, watchdog, NULL) == 0) {
        pthread_detach(wd);
        wd_started = true;
    }
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

/* The watchdog: a blocking MPI collective cannot be interrupted, so a thread started by
 * jx_distributed_init watches each one; past the timeout it names the collective and
 * ends the whole job with MPI_Abort (the other processes would otherwise wait forever).
 * It polls twice a second rather than being woken by each collective (waking it before
 * and after every MPI call put two context switches on the collective's path, and on a
 * loaded machine the woken thread may take the caller's core). Arming and disarming are
 * stores under an uncontended lock; the message is only written when the job ends. */
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static const jx__eqn *wd_eqn; /* the collective in MPI, or NULL */
static const char *wd_name;
static struct timespec wd_deadline;

static void *watchdog(void *arg) {
    (void)arg;
    for (;;) {
        nanosleep(&(struct timespec){0, 500000000L}, NULL);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        pthread_mutex_lock(&wd_mu);
        const jx__eqn *e = wd_eqn;
        if (e && (now.tv_sec > wd_deadline.tv_sec ||
                  (now.tv_sec == wd_deadline.tv_sec && now.tv_nsec >= wd_deadline.tv_nsec))) {
            fprintf(stderr,
                    "jx: process %d: %s:%d: %s: timed out after %g s waiting for the other processes of axis '%s' "
                    "(JX_COLLECTIVE_TIMEOUT): a process failed or never reached this collective; ending the job\n",
                    jx_process_index(), e->loc.file ? e->loc.file : "?", e->loc.line, jx__prims[e->prim].name,
                    timeout_s(), wd_name);
            fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        pthread_mutex_unlock(&wd_mu);
    }
    return NULL;
}

static void wd_arm(const jx__eqn *e, const char *name) {
    double t = timeout_s();
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&wd_mu);
    wd_deadline = now;
    wd_deadline.tv_sec += (time_t)t;
    wd_deadline.tv_nsec += (long)((t - (double)(time_t)t) * 1e9);
    if (wd_deadline.tv_nsec >= 1000000000L) wd_deadline.tv_sec++, wd_deadline.tv_nsec -= 1000000000L;
    wd_eqn = e, wd_name = name;
    pthread_mutex_unlock(&wd_mu);
}

static void wd_disarm(void) {
    pthread_mutex_lock(&wd_mu);
    wd_eqn = NULL;
    pthread_mutex_unlock(&wd_mu);
}

jx_status jx__dist_combine(const jx__eqn *e, const char *name, const void *send, jx_array *y) {
    int rc;
    wd_arm(e, name);
    if (e->prim == JX_PRIM_ALL_GATHER) { /* each process filled its own block of y */
        int p = jx_process_count();
        rc = MPI_Allgather(MPI_IN_PLACE, 0, MPI_BYTE, y->data, (int)(y->nbytes / (size_t)p), MPI_BYTE, MPI_COMM_WORLD);
    } else {
        MPI_Op op = e->prim == JX_PRIM_PSUM ? MPI_SUM : e->prim == JX_PRIM_PMAX ? MPI_MAX : MPI_MIN;
        rc = MPI_Allreduce(send ? send : MPI_IN_PLACE, y->data, (int)jx_aval_size(&y->aval), mpi_type(y->aval.dtype),
                           op, MPI_COMM_WORLD);
    }
    wd_disarm();
    if (rc != MPI_SUCCESS)
        return jx__fail(JX_ERR_RUNTIME, e->loc, jx__prims[e->prim].name, "MPI failed across the processes of axis '%s'",
                        name);
    return JX_OK;
}

/* Fails naming e and the axis when MPI cannot count `bytes` (its counts are ints). */
static jx_status fits_int(const jx__eqn *e, const char *name, size_t bytes) {
    if (bytes <= (size_t)INT_MAX) return JX_OK;
    return jx__fail(JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name,
                    "%zu bytes to exchange across the processes of axis '%s' at once; MPI counts up to %d", bytes, name,
                    INT_MAX);
}

jx_status jx__dist_ppermute(const jx__eqn *e, const char *name, int first, int L, const jx_array *const *slot,
                            jx_array *const *res) {
    jx_ints p = jx__attr_ints(e->nattr, e->attrs, JX_A_PAIRS);
    MPI_Request *rq = malloc(sizeof *rq * (size_t)(p.n / 2 + 1));
    if (!rq) return jx__fail(JX_ERR_NOMEM, e->loc, "ppermute", "out of memory");
    size_t bytes = slot[0]->nbytes;
    jx_status st = fits_int(e, name, bytes);
    int nr = 0, rc = MPI_SUCCESS;
    for (int q = 0; q + 1 < p.n && st == JX_OK && rc == MPI_SUCCESS; q += 2) {
        int s = (int)p.v[q], d = (int)p.v[q + 1];
        bool mine_s = s >= first && s < first + L, mine_d = d >= first && d < first + L;
        if (mine_s && !mine_d)
            rc = MPI_Isend(slot[s - first]->data, (int)bytes, MPI_BYTE, d / L, d, MPI_COMM_WORLD, &rq[nr++]);
        else if (mine_d && !mine_s)
            rc = MPI_Irecv(res[d - first]->data, (int)bytes, MPI_BYTE, s / L, d, MPI_COMM_WORLD, &rq[nr++]);
    }
    if (rc == MPI_SUCCESS && nr) { /* the requests posted are waited for even after a failed post */
        wd_arm(e, name);
        rc = MPI_Waitall(nr, rq, MPI_STATUSES_IGNORE);
        wd_disarm();
    }
    free(rq);
    if (st == JX_OK && rc != MPI_SUCCESS)
        st = jx__fail(JX_ERR_RUNTIME, e->loc, "ppermute", "MPI failed across the processes of axis '%s'", name);
    return st;
}

jx_status jx__dist_all_to_all(const jx__eqn *e, const char *name, const void *send, void *recv, size_t block) {
    jx_status st = fits_int(e, name, block);
    if (st != JX_OK) return st;
    wd_arm(e, name);
    int rc = MPI_Alltoall(send, (int)block, MPI_BYTE, recv, (int)block, MPI_BYTE, MPI_COMM_WORLD);
    wd_disarm();
    if (rc != MPI_SUCCESS)
        return jx__fail(JX_ERR_RUNTIME, e->loc, "all_to_all", "MPI failed across the processes of axis '%s'", name);
    return JX_OK;
}

/* The processes' NCCL communicator, made on first use: rank 0's unique id goes to the
 * others with MPI_Bcast (every process reaches its first device collective together). */
static jx__nccl *nccl;
static pthread_mutex_t nccl_mu = PTHREAD_MUTEX_INITIALIZER;

static jx_status nccl_comm(const jx__eqn *e, const char *name, jx__nccl **out) {
    pthread_mutex_lock(&nccl_mu);
    jx_status st = JX_OK;
    if (!nccl) {
        unsigned char id[JX__NCCL_ID_BYTES] = {0};
        char why[512] = "";
        int ok = jx__nccl_load(why, sizeof why) && (jx_process_index() != 0 || jx__nccl_unique_id(id) == JX_OK), all = 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD); /* all or none use NCCL */
        if (!all)
            st = jx__fail(JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name,
                          "axis '%s' holds CUDA buffers across processes, which needs NCCL on every process%s%s", name,
                          *why ? ": " : "", why);
        else if (MPI_Bcast(id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            st = jx__fail(JX_ERR_RUNTIME, e->loc, jx__prims[e->prim].name, "MPI_Bcast of the NCCL id failed");
        else
            st = jx__nccl_comm_init(jx_process_count(), jx_process_index(), id, &nccl);
    }
    *out = nccl;
    pthread_mutex_unlock(&nccl_mu);
    return st;
}

jx_status jx__dist_combine_device(const jx__eqn *e, const char *name, const jx_array *x, const jx_aval *oav,
                                  jx_array **y) {
    *y = NULL;
    jx__nccl *c;
    jx_status st = nccl_comm(e, name, &c);
    void *d = st == JX_OK ? x->be->alloc(x->nbytes ? x->nbytes : 1) : NULL;
    if (st != JX_OK || !d) return st != JX_OK ? st : jx_errcode();
    if (!(*y = jx__array_on_device(oav, d, x->be, x->device))) {
        x->be->free(d);
        return jx_errcode();
    }
    wd_arm(e, name);
    st = jx__nccl_allreduce(c, x->dev, (*y)->dev, (size_t)jx_aval_size(oav), oav->dtype, e->prim);
    if (st == JX_OK) st = x->be->sync();
    wd_disarm();
    if (st != JX_OK) {
        jx_array_release(*y);
        *y = NULL;
    }
    return st;
}

#else /* built without MPI */

int jx_distributed_built(void) { return 0; }

jx_status jx_distributed_init_at(jx_loc loc) {
    if (!launched()) return JX_OK;
    return jx__fail(JX_ERR_UNSUPPORTED, loc, "distributed_init",
                    "started by mpirun, but jx was built without MPI (-DJX_MPI=ON with libopenmpi-dev)");
}

jx_status jx_distributed_shutdown(void) { return JX_OK; }

jx_status jx__dist_combine(const jx__eqn *e, const char *name, const void *send, jx_array *y) {
    (void)send, (void)y;
    return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "axis '%s' spans processes without MPI", name);
}

jx_status jx__dist_ppermute(const jx__eqn *e, const char *name, int first, int L, const jx_array *const *slot,
                            jx_array *const *res) {
    (void)first, (void)L, (void)slot, (void)res;
    return jx__fail(JX_ERR_INTERNAL, e->loc, "ppermute", "axis '%s' spans processes without MPI", name);
}

jx_status jx__dist_all_to_all(const jx__eqn *e, const char *name, const void *send, void *recv, size_t block) {
    (void)send, (void)recv, (void)block;
    return jx__fail(JX_ERR_INTERNAL, e->loc, "all_to_all", "axis '%s' spans processes without MPI", name);
}

jx_status jx__dist_combine_device(const jx__eqn *e, const char *name, const jx_array *x, const jx_aval *oav,
                                  jx_array **y) {
    (void)x, (void)oav;
    *y = NULL;
    return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "axis '%s' spans processes without MPI", name);
}

#endif
