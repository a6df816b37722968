#!/usr/bin/env bash
# run.sh: the MNIST MLP training step (bench/mlp_step.c), or with WORKLOAD=cnn the CNN step
# (bench/cnn_step.c: examples/mnist_cnn's network and Adam step), in jx, JAX and PyTorch on this CPU
# with the same thread count, then one table of their figures and the ratios jx/JAX and
# jx/torch (below 1: jx is faster). Builds nothing: build bench_mlp_step first. A peer
# that is not installed is skipped with a message.
#
#   usage: bench/peers/run.sh [build-dir]        (default: $BUILD, else ./build)
#   env:   WORKLOAD (mlp or cnn: bench_<w>_step, <w>_step_jax.py, <w>_step_torch.py),
#          THREADS (default JX_NUM_THREADS, else every core), STEPS (200), BATCH (128),
#          JAX_PYTHON / TORCH_PYTHON (default: the first of /tmp/venv-jax/bin/python,
#          python3, /usr/bin/python3 that imports jax / torch)
#
# Threads: jx gets JX_NUM_THREADS; torch torch.set_num_threads (and OMP/MKL_NUM_THREADS);
# XLA has no flag for its intra-op pool, which it sizes by the CPUs the process may run
# on, so every program runs under `taskset` on THREADS cores when THREADS is below the
# core count, and with THREADS=1 XLA also gets --xla_cpu_multi_thread_eigen=false.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-${BUILD:-$root/build}}
ncpu=$(nproc)
threads=${THREADS:-${JX_NUM_THREADS:-$ncpu}}
steps=${STEPS:-200}
workload=${WORKLOAD:-mlp}
batch=${BATCH:-128}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

pin=()
if [ "$threads" -lt "$ncpu" ]; then pin=(taskset -c "0-$((threads - 1))"); fi
export JX_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
# jx's compile figure is a compile, not a load from its disk cache (XLA's has none here)
export JX_JIT_CACHE_DIR=${JX_JIT_CACHE_DIR-off}
if [ "$threads" -eq 1 ]; then
    export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_cpu_multi_thread_eigen=false"
fi
echo "$workload step: threads $threads (of $ncpu cores), steps $steps, batch $batch${pin:+, pinned: ${pin[*]}}"

# The first python among the arguments that can import module $1; empty if none.
find_python() {
    local mod=$1 py
    shift
    for py in "$@"; do
        if [ -n "$py" ] && "$py" -c "import $mod" >/dev/null 2>&1; then
            echo "$py"
            return
        fi
    done
}

bin=$build/bench/bench_${workload}_step
if [ -x "$bin" ]; then
    "${pin[@]}" "$bin" "$steps" "$batch" >"$out/jx" || echo "jx: $(basename "$bin") failed"
else
    echo "jx: $bin not found; build it: cmake --build $build --target bench_${workload}_step"
fi

jaxpy=$(find_python jax "${JAX_PYTHON:-}" /tmp/venv-jax/bin/python python3 /usr/bin/python3)
if [ -n "$jaxpy" ]; then
    "${pin[@]}" "$jaxpy" "$here/${workload}_step_jax.py" "$steps" "$batch" >"$out/jax" 2>"$out/jax.err" \
        || { echo "jax: failed:"; tail -n 5 "$out/jax.err"; }
else
    echo "jax: not installed (pip install jax, or set JAX_PYTHON); skipped"
fi

torchpy=$(find_python torch "${TORCH_PYTHON:-}" python3 /usr/bin/python3)
if [ -n "$torchpy" ]; then
    "${pin[@]}" "$torchpy" "$here/${workload}_step_torch.py" "$steps" "$batch" "$threads" \
        >"$out/torch" 2>"$out/torch.err" || { echo "torch: failed:"; tail -n 5 "$out/torch.err"; }
else
    echo "torch: not installed (apt-get install python3-torch, or set TORCH_PYTHON); skipped"
fi

for f in jax torch; do
    [ -f "$out/$f" ] && grep -E '^[a-z]+ (version|note) ' "$out/$f"
done

# The table: one row per figure; "-" where a program does not print it. The second call
# compares jx's cache lookup plus one step with JAX's second call of a jax.jit (the same).
# The last row: an MNIST epoch (60,000 images) as that many median steps, in seconds.
cat "$out"/jx "$out"/jax "$out"/torch 2>/dev/null | awk -v epoch_steps=$(((60000 + batch - 1) / batch)) '
    { v[$1 " " $2] = $3 }
    function get(who, key) { return ((who " " key) in v) ? v[who " " key] + 0 : -1 }
    function cell(x) { return x < 0 ? sprintf("%10s", "-") : sprintf("%10.3f", x) }
    function ratio(a, b) { return (a < 0 || b <= 0) ? sprintf("%9s", "-") : sprintf("%9.3g", a / b) }
    function row(name, j, x, t) {
        printf "%-28s %s %s %s %s %s\n", name, cell(j), cell(x), cell(t), ratio(j, x), ratio(j, t)
    }
    function sum(a, b) { return (a < 0 || b < 0) ? -1 : a + b }
    function scale(a, k) { return a < 0 ? -1 : a * k }
    END {
        printf "%-28s %10s %10s %10s %9s %9s\n", "figure (ms)", "jx", "jax", "torch", "jx/jax", "jx/torch"
        row("trace", get("jx", "trace_ms"), get("jax", "trace_ms"), -1)
        row("compile", get("jx", "compile_ms"), get("jax", "compile_ms"), get("torch", "compile_ms"))
        row("trace+compile", sum(get("jx", "trace_ms"), get("jx", "compile_ms")),
            sum(get("jax", "trace_ms"), get("jax", "compile_ms")), get("torch", "compile_ms"))
        row("first call (jax: fresh jit)", sum(sum(get("jx", "trace_ms"), get("jx", "compile_ms")),
            get("jx", "step_ms")), get("jax", "first_call_ms"), -1)
        row("cache hit", get("jx", "cache_hit_ms"), -1, -1)
        row("second call (hit + step)", sum(get("jx", "cache_hit_ms"), get("jx", "step_ms")),
            get("jax", "second_call_ms"), -1)
        row("step (median)", get("jx", "step_ms"), get("jax", "step_ms"), get("torch", "step_ms"))
        row("step (least)", get("jx", "step_min_ms"), get("jax", "step_min_ms"),
            get("torch", "step_min_ms"))
        if (get("torch", "compiled_step_ms") >= 0)
            row("step, torch.compile", get("jx", "step_ms"), -1, get("torch", "compiled_step_ms"))
        row("predict compile", get("jx", "predict_compile_ms"), get("jax", "predict_compile_ms"), -1)
        row("predict (median)", get("jx", "predict_ms"), get("jax", "predict_ms"), get("torch", "predict_ms"))
        row(sprintf("epoch = %d steps (s)", epoch_steps), scale(get("jx", "step_ms"), epoch_steps / 1e3),
            scale(get("jax", "step_ms"), epoch_steps / 1e3), scale(get("torch", "step_ms"), epoch_steps / 1e3))
    }'
