/* mpi_psum.c: the cost of jx's collective layer across processes: a pmap'd psum of a
 * 10 MB f32 buffer (1 device per process, jitted) against a bare MPI_Allreduce of the
 * same buffer, in place (the buffer overwritten) and out of place (into a second buffer,
 * as psum, whose result is a new array, must: MPI then copies the operand first), median
 * of 30 runs after 3 warm-ups, each timed on rank 0 between barriers, the three
 * interleaved. Run it under mpirun (an argument: another size in bytes):
 *   mpirun -np 2 --oversubscribe --allow-run-as-root build/bench/bench_mpi_psum [bytes]
 * jx's run includes what a pmap does around the allreduce: with one device the body runs
 * on the caller's thread, the device's slice is a view of the input, MPI reduces it
 * straight into the output buffer, and that buffer becomes the pmap's output. */
#include <mpi.h>

#include "bench_util.h"

#define RUNS 30

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void b_psum(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_psum(in[0], "i");
}

int main(int argc, char **argv) {
    /* the buffer: 10 MB, or the size in bytes given (mnist_cnn's gradients: 1686952) */
    long bytes = argc > 1 ? atol(argv[1]) : 10L * 1024 * 1024;
    int N = bytes >= 4 && bytes / 4 <= (1L << 30) ? (int)(bytes / 4) : 0;
    if (!N) {
        fprintf(stderr, "usage: mpi_psum [bytes]\n");
        return 2;
    }
    jx_set_cpu_device_count(1);
    if (jx_distributed_init() != JX_OK || jx_process_count() < 2) {
        fprintf(stderr, "mpi_psum: run under mpirun -np 2 (%s)\n", jx_errmsg());
        return 1;
    }
    jx_aval av = JX_AVAL(JX_F32, N);
    jx_fn *f = jx_trace("psum", b_psum, NULL, 1, &av, 1), *p = jx_pmap(f, JX_NOINTS, JX_NOINTS, "i");
    jx_exec *x = p ? jx_jit(p, JX_DEVICE_CPU, NULL) : NULL;
    if (!x) {
        fprintf(stderr, "mpi_psum: %s\n", jx_errmsg());
        return 1;
    }
    jx_array *in = jx_array_full(JX_F32, JX_INTS(1, N), 1.0);
    float *buf = malloc(sizeof *buf * N), *src = malloc(sizeof *src * N), *dst = malloc(sizeof *dst * N);
    double tj[RUNS], tm[RUNS], to[RUNS];
    for (int i = 0; i < N; i++) src[i] = 1.0f, dst[i] = 0.0f;
    for (int r = -3; r < RUNS; r++) {
        for (int i = 0; i < N; i++) buf[i] = 1.0f;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = bench_now();
        MPI_Allreduce(MPI_IN_PLACE, buf, N, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double t1 = bench_now();
        MPI_Barrier(MPI_COMM_WORLD);
        double t4 = bench_now();
        MPI_Allreduce(src, dst, N, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double t5 = bench_now();
        MPI_Barrier(MPI_COMM_WORLD);
        jx_array *y = NULL;
        double t2 = bench_now();
        if (jx_exec_run(x, 1, &in, 1, &y) != JX_OK) fprintf(stderr, "mpi_psum: %s\n", jx_errmsg());
        double t3 = bench_now();
        if (r >= 0) tm[r] = t1 - t0, to[r] = t5 - t4, tj[r] = t3 - t2;
        if (r == RUNS - 1 && ((const float *)jx_array_data(y))[N - 1] != (float)jx_process_count())
            fprintf(stderr, "mpi_psum: wrong sum\n");
        jx_array_release(y);
    }
    qsort(tj, RUNS, sizeof *tj, cmp);
    qsort(tm, RUNS, sizeof *tm, cmp);
    qsort(to, RUNS, sizeof *to, cmp);
    double j = tj[RUNS / 2], m = tm[RUNS / 2], o = to[RUNS / 2];
    if (jx_process_index() == 0)
        printf("psum of %.2f MB f32 across %d processes (median of %d): MPI_Allreduce in place %.2f ms, out of place "
               "%.2f ms, jx pmap psum %.2f ms (%+.1f%% against in place, %+.1f%% against out of place)\n",
               4.0 * N / (1024 * 1024), jx_process_count(), RUNS, 1e3 * m, 1e3 * o, 1e3 * j, 100 * (j / m - 1), 100 * (j / o - 1));
    free(buf);
    free(src);
    free(dst);
    jx_array_release(in);
    jx_exec_release(x);
    jx_fn_release(p);
    jx_fn_release(f);
    jx_distributed_shutdown();
    return 0;
}
